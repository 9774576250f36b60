//! A business's sending reputation: its email bounce and complaint rates over the last weeks.
//! Mail services pause a sender whose rates stay high (SES reviews an account above 5 % bounces
//! or 0.1 % complaints), and that would stop every business on the account; so a business whose
//! own rates cross those lines is paused first, with the reason, until someone looks at where
//! its client list came from and resumes it.

use jiff::Timestamp;

use crate::domain::day::Day;

/// What happened to the email a business sent on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailEvent {
    Sent,
    Bounced,
    Complained,
}

impl MailEvent {
    /// As stores name the count.
    pub fn name(self) -> &'static str {
        match self {
            MailEvent::Sent => "sent",
            MailEvent::Bounced => "bounced",
            MailEvent::Complained => "complained",
        }
    }
}

/// Email counts over some days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MailCounts {
    pub sent: u64,
    pub bounced: u64,
    pub complained: u64,
}

impl MailCounts {
    pub fn bounce_rate(&self) -> f64 {
        rate(self.bounced, self.sent)
    }

    pub fn complaint_rate(&self) -> f64 {
        rate(self.complained, self.sent)
    }
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The days the rates are taken over.
pub const WINDOW_DAYS: i32 = 30;
/// Below this many emails in the window a few bounces say little: no pause.
pub const MIN_SENT: u64 = 100;
pub const MAX_BOUNCE_RATE: f64 = 0.05;
pub const MAX_COMPLAINT_RATE: f64 = 0.001;

/// The days the rates of `today` are taken over: the last [`WINDOW_DAYS`], today included.
pub fn window(today: Day) -> (Day, Day) {
    (today.plus_days(1 - WINDOW_DAYS), today)
}

/// Why a business's sending is paused, and since when.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pause {
    pub reason: String,
    pub since: Timestamp,
}

/// The pause `counts` call for, if any.
pub fn pause_for(counts: &MailCounts, now: Timestamp) -> Option<Pause> {
    if counts.sent < MIN_SENT {
        return None;
    }
    let percent = |rate: f64| format!("{:.2}%", 100.0 * rate);
    let reason = if counts.bounce_rate() > MAX_BOUNCE_RATE {
        format!(
            "{} of {} emails in the last {WINDOW_DAYS} days bounced ({}; the limit is {}): check where the client addresses come from, remove the bad ones, then resume",
            counts.bounced,
            counts.sent,
            percent(counts.bounce_rate()),
            percent(MAX_BOUNCE_RATE)
        )
    } else if counts.complaint_rate() > MAX_COMPLAINT_RATE {
        format!(
            "{} of {} emails in the last {WINDOW_DAYS} days were marked as spam ({}; the limit is {}): check that every client consented and how often they hear from you, then resume",
            counts.complained,
            counts.sent,
            percent(counts.complaint_rate()),
            percent(MAX_COMPLAINT_RATE)
        )
    } else {
        return None;
    };
    Some(Pause { reason, since: now })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-30T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_business_is_paused_when_its_bounce_or_complaint_rate_crosses_the_line() {
        let counts = |sent, bounced, complained| MailCounts {
            sent,
            bounced,
            complained,
        };
        let bounced = pause_for(&counts(400, 21, 0), now()).unwrap();
        assert!(
            bounced.reason.contains("21 of 400 emails"),
            "{}",
            bounced.reason
        );
        assert!(bounced.reason.contains("bounced (5.25%"));
        let complained = pause_for(&counts(2000, 10, 3), now()).unwrap();
        assert!(
            complained.reason.contains("marked as spam"),
            "{}",
            complained.reason
        );
        assert_eq!(
            pause_for(&counts(400, 20, 0), now()),
            None,
            "at the line is fine"
        );
        assert_eq!(pause_for(&counts(2000, 0, 2), now()), None);
        assert_eq!(
            pause_for(&counts(50, 20, 5), now()),
            None,
            "too few emails to judge"
        );
    }
}
