//! When a message may go out: inside a daily window of the client's local time, never twice on
//! one local day, and for SMS never outside 08:00–21:00 local whatever the business configures.
//!
//! Windows are civil times in the client's zone, so a 09:00 start is 09:00 for the client in
//! winter and in summer; on the day the clocks change, a window edge that does not exist (the
//! hour skipped in spring) moves to the first instant after the gap, and one that happens twice
//! (the hour repeated in autumn) is the first of the two. The result is always an instant
//! whose local time lies inside the window.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time, time};
use jiff::tz::TimeZone;

/// The widest window an SMS may ever use, in the client's local time.
pub const SMS_EARLIEST: Time = time(8, 0, 0, 0);
pub const SMS_LATEST: Time = time(21, 0, 0, 0);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("the window {start}–{end} is empty; its start must be before its end")]
    Empty { start: Time, end: Time },
    #[error(
        "an SMS window must lie within 08:00–21:00 of the client's local time; {start}–{end} does not"
    )]
    SmsOutsideDaytime { start: Time, end: Time },
}

/// A daily window of local time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    start: Time,
    end: Time,
}

impl SendWindow {
    pub fn new(start: Time, end: Time) -> Result<SendWindow, WindowError> {
        if start >= end {
            return Err(WindowError::Empty { start, end });
        }
        Ok(SendWindow { start, end })
    }

    /// A window for SMS: also within 08:00–21:00.
    pub fn for_sms(start: Time, end: Time) -> Result<SendWindow, WindowError> {
        let window = SendWindow::new(start, end)?;
        if start < SMS_EARLIEST || end > SMS_LATEST {
            return Err(WindowError::SmsOutsideDaytime { start, end });
        }
        Ok(window)
    }

    pub fn start(&self) -> Time {
        self.start
    }

    pub fn end(&self) -> Time {
        self.end
    }

    /// Whether an instant falls inside the window in `zone`.
    pub fn contains(&self, at: Timestamp, zone: &TimeZone) -> bool {
        let local = zone.to_datetime(at).time();
        self.start <= local && local < self.end
    }

    /// The earliest instant at or after `not_before` inside the window in `zone`, on a local
    /// day other than `not_on` (the day the client was last messaged, if any).
    pub fn next_send(
        &self,
        not_before: Timestamp,
        zone: &TimeZone,
        not_on: Option<Date>,
    ) -> Timestamp {
        let local = zone.to_datetime(not_before);
        let mut day = local.date();
        let mut earliest = Some(not_before);
        // A window is at least one instant long on every day but a few DST days, so a
        // handful of days always finds one.
        for _ in 0..8 {
            if Some(day) != not_on
                && let Some(at) = self.first_on(day, zone, earliest)
            {
                return at;
            }
            day = day.tomorrow().expect("dates in range");
            earliest = None;
        }
        unreachable!("a non-empty window has an instant within a week")
    }

    /// The first instant of `day` inside the window and not before `earliest`.
    fn first_on(
        &self,
        day: Date,
        zone: &TimeZone,
        earliest: Option<Timestamp>,
    ) -> Option<Timestamp> {
        let start = to_instant(day.to_datetime(self.start), zone);
        let candidate = match earliest {
            Some(earliest) if earliest > start => earliest,
            _ => start,
        };
        let local = zone.to_datetime(candidate);
        (local.date() == day && local.time() >= self.start && local.time() < self.end)
            .then_some(candidate)
    }
}

/// A civil date-time as an instant in `zone`: in a gap, the first instant after it; in an
/// overlap, the first of the two.
fn to_instant(local: DateTime, zone: &TimeZone) -> Timestamp {
    zone.to_ambiguous_timestamp(local)
        .compatible()
        .expect("a civil time in range has an instant")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn local(ts: Timestamp, tz: &TimeZone) -> String {
        tz.to_datetime(ts).to_string()
    }

    fn nine_to_six() -> SendWindow {
        SendWindow::new(time(9, 0, 0, 0), time(18, 0, 0, 0)).unwrap()
    }

    #[test]
    fn an_instant_inside_the_window_goes_at_once_and_others_wait_for_the_next_opening() {
        let london = zone("Europe/London");
        let w = nine_to_six();
        let inside = at("2026-11-23T11:15:00Z");
        assert_eq!(w.next_send(inside, &london, None), inside);
        let early = at("2026-11-23T06:00:00Z");
        assert_eq!(
            local(w.next_send(early, &london, None), &london),
            "2026-11-23T09:00:00"
        );
        let late = at("2026-11-23T19:30:00Z");
        assert_eq!(
            local(w.next_send(late, &london, None), &london),
            "2026-11-24T09:00:00"
        );
    }

    #[test]
    fn the_window_is_the_client_s_local_time_not_the_server_s() {
        let tokyo = zone("Asia/Tokyo");
        // 20:00 UTC is 05:00 the next morning in Tokyo: wait until 09:00 there.
        let sent = nine_to_six().next_send(at("2026-11-23T20:00:00Z"), &tokyo, None);
        assert_eq!(sent, at("2026-11-24T00:00:00Z"));
    }

    #[test]
    fn never_twice_on_one_local_day() {
        let london = zone("Europe/London");
        let now = at("2026-11-23T10:00:00Z");
        let already = jiff::civil::date(2026, 11, 23);
        let sent = nine_to_six().next_send(now, &london, Some(already));
        assert_eq!(local(sent, &london), "2026-11-24T09:00:00");
    }

    #[test]
    fn sms_windows_must_stay_within_eight_to_nine_in_the_evening() {
        assert!(SendWindow::for_sms(time(8, 0, 0, 0), time(21, 0, 0, 0)).is_ok());
        assert_eq!(
            SendWindow::for_sms(time(7, 30, 0, 0), time(20, 0, 0, 0)),
            Err(WindowError::SmsOutsideDaytime {
                start: time(7, 30, 0, 0),
                end: time(20, 0, 0, 0)
            })
        );
        assert!(SendWindow::for_sms(time(9, 0, 0, 0), time(21, 30, 0, 0)).is_err());
        assert!(matches!(
            SendWindow::new(time(18, 0, 0, 0), time(9, 0, 0, 0)),
            Err(WindowError::Empty { .. })
        ));
    }

    #[test]
    fn nine_in_the_morning_stays_nine_across_the_spring_and_autumn_clock_changes() {
        let new_york = zone("America/New_York");
        let w = nine_to_six();
        // The Sunday the clocks go forward (2026-03-08), and the one they go back (2026-11-01).
        let spring = w.next_send(at("2026-03-08T06:00:00Z"), &new_york, None);
        assert_eq!(local(spring, &new_york), "2026-03-08T09:00:00");
        assert_eq!(spring, at("2026-03-08T13:00:00Z"));
        let autumn = w.next_send(at("2026-11-01T06:00:00Z"), &new_york, None);
        assert_eq!(local(autumn, &new_york), "2026-11-01T09:00:00");
        assert_eq!(autumn, at("2026-11-01T14:00:00Z"));
    }

    #[test]
    fn a_window_edge_in_the_skipped_hour_moves_past_it_and_one_in_the_repeated_hour_takes_the_first()
     {
        let london = zone("Europe/London");
        // 01:30 does not exist on 2026-03-29 in London: the window opens at 02:30 BST.
        let w = SendWindow::new(time(1, 30, 0, 0), time(6, 0, 0, 0)).unwrap();
        let spring = w.next_send(at("2026-03-29T00:00:00Z"), &london, None);
        assert_eq!(local(spring, &london), "2026-03-29T02:30:00");
        assert!(w.contains(spring, &london));
        // 01:30 happens twice on 2026-10-25: the first, still in BST (00:30 UTC).
        let autumn = w.next_send(at("2026-10-24T23:00:00Z"), &london, None);
        assert_eq!(autumn, at("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn every_answer_lies_inside_the_window_for_a_year_of_hours() {
        let w = SendWindow::for_sms(time(8, 0, 0, 0), time(21, 0, 0, 0)).unwrap();
        for name in [
            "Europe/London",
            "America/New_York",
            "Australia/Lord_Howe",
            "Asia/Kathmandu",
        ] {
            let tz = zone(name);
            let mut now = at("2026-01-01T00:17:00Z");
            for _ in 0..(365 * 24 / 5) {
                let sent = w.next_send(now, &tz, None);
                assert!(
                    sent >= now && w.contains(sent, &tz),
                    "{name} {now} -> {sent}"
                );
                assert!(sent.duration_since(now) < jiff::SignedDuration::from_hours(24));
                now = now
                    .checked_add(jiff::SignedDuration::from_hours(5))
                    .unwrap();
            }
        }
    }
}
