//! Enrollments and their steps: a client in a sequence, from the day the detector (or a person,
//! in manual mode) enrolls them until they come back, opt out, or the sequence ends.
//!
//! A client has at most one active enrollment, whatever the number of categories they are
//! overdue in ([`Outreach::active`]); stores keep the whole [`Outreach`] as one record written
//! under a condition, which is what makes "one active enrollment per client" hold even when two
//! detectors run at once. Steps are scheduled one at a time: the first when enrolling, each next
//! one when the one before it is sent.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::domain::attribution::{self, SentMessage};
use crate::domain::booking::{Booking, BookingStatus};
use crate::domain::channel::Channel;
use crate::domain::day::Day;
use crate::domain::ids::{BookingId, Category, ClientId, IdError};
use crate::domain::outreach_settings::Landmark;
use crate::domain::rfm::Tier;
use crate::domain::send_window::SendWindow;
use crate::domain::sequence::{Sequence, Step};
use crate::domain::stage::Stage;
use crate::domain::time_zone::TimeZoneName;

/// An enrollment's id, unique within its client: the day it started and its category
/// (`2026-11-30~hair`). Validated when parsed and when deserialised, like every other id.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct EnrollmentId(String);

impl EnrollmentId {
    pub fn new(started: Day, category: &Category) -> EnrollmentId {
        EnrollmentId(format!("{started}~{category}"))
    }

    /// An id as stored or as carried by an event.
    pub fn parse(text: &str) -> Result<EnrollmentId, IdError> {
        let malformed = IdError::Malformed {
            kind: "enrollment id",
            form: "YYYY-MM-DD~category",
        };
        let (day, category) = text.split_once('~').ok_or(malformed.clone())?;
        let day: Date = day.parse().map_err(|_| malformed)?;
        let category = Category::parse(category)?;
        Ok(EnrollmentId::new(Day::from_date(day), &category))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The category the enrollment is about.
    pub fn category(&self) -> Option<Category> {
        let (_, category) = self.0.split_once('~')?;
        Category::parse(category).ok()
    }
}

impl TryFrom<String> for EnrollmentId {
    type Error = IdError;
    fn try_from(text: String) -> Result<EnrollmentId, IdError> {
        EnrollmentId::parse(&text)
    }
}

impl From<EnrollmentId> for String {
    fn from(id: EnrollmentId) -> String {
        id.0
    }
}

impl fmt::Display for EnrollmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an enrollment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A win-back sequence picked by segment.
    Sequence,
    /// The rare check-in of a client who finished a sequence without returning.
    LongGame,
    /// One message to a client past the maximum age, asking whether to keep in touch.
    RePermission,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The client opted out or withdrew consent on every channel they could be reached on.
    OptedOut,
    /// Their address or number bounced, complained or was suppressed.
    Suppressed,
}

/// How an enrollment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// The client booked in the enrollment's category.
    Converted,
    /// The client booked, in another category.
    Rebooked,
    Stopped {
        reason: StopReason,
    },
    /// Every step went out (or, for the control group, the sequence's time ran out).
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Status {
    Active,
    Ended { outcome: Outcome, on: Day },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Enrollment {
    pub id: EnrollmentId,
    pub client_id: ClientId,
    /// The category the sequence is about: the most valuable one the client is overdue in.
    pub category: Category,
    /// Other categories the client is overdue in, which a message may mention.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_overdue: Vec<Category>,
    pub kind: Kind,
    pub sequence: String,
    /// The sequence's steps as they were when the client was enrolled: later configuration
    /// changes do not reshuffle a sequence under way.
    pub steps: Vec<Step>,
    pub tier: Tier,
    pub stage: Stage,
    pub lapse_score: f64,
    pub started: Day,
    /// In the control group: recorded and tracked for conversions, never messaged.
    pub control: bool,
    /// The day the enrollment completes if nothing ends it sooner.
    pub ends_on: Day,
    pub status: Status,
    /// The messages sent so far, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<SentStep>,
    /// The booking that won the client back, once one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reactivation: Option<Reactivation>,
    /// The client's own single-use offer code, once a message carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_code: Option<OfferCode>,
}

/// A single-use offer code given to one client.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OfferCode {
    pub code: String,
    /// The offer's key in the settings.
    pub offer: String,
    pub issued_at: Timestamp,
    /// The booking it was redeemed with; a code is redeemed once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemed: Option<Redemption>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Redemption {
    pub booking: BookingId,
    pub at: Timestamp,
}

/// A message of an enrollment, sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SentStep {
    pub step: u16,
    pub channel: Channel,
    pub at: Timestamp,
}

/// A booking that counts as a return: after a message of the enrollment, within the
/// attribution window, with a service of its category (for the control group: within the
/// window after enrolling).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reactivation {
    pub booking: BookingId,
    /// When the booking was made (or the visit happened, if earlier).
    pub booked_at: Timestamp,
    /// The message it is credited to: the last one sent before it. `None` in the control group.
    pub credited_step: Option<u16>,
    /// The booking's value, in the business's minor currency units.
    pub revenue_minor: i64,
}

impl Enrollment {
    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }

    /// Records that `booking` redeemed this enrollment's offer code, if it carries it and the
    /// code was not redeemed before: `true` if it did.
    pub fn redeem(&mut self, booking: &Booking) -> bool {
        let (Some(given), Some(sent)) = (self.offer_code.as_mut(), booking.offer_code.as_deref())
        else {
            return false;
        };
        if given.redeemed.is_some()
            || !given.code.eq_ignore_ascii_case(sent)
            || !matches!(
                booking.status,
                BookingStatus::Booked | BookingStatus::Completed
            )
        {
            return false;
        }
        given.redeemed = Some(Redemption {
            booking: booking.id.clone(),
            at: booking.updated_at,
        });
        true
    }

    /// The return `booking` is for this enrollment, if it is one (and none was recorded yet).
    pub fn reactivation_by(&self, booking: &Booking, window_days: u16) -> Option<Reactivation> {
        if self.reactivation.is_some()
            || !matches!(
                booking.status,
                BookingStatus::Booked | BookingStatus::Completed
            )
        {
            return None;
        }
        let booked_at = booking.updated_at.min(booking.starts_at);
        let categories: Vec<&Category> = booking.categories().collect();
        let credited_step = if self.control {
            let enrolled_at = self.started.start_in(&TimeZone::UTC)?;
            attribution::control_returned(
                enrolled_at,
                booked_at,
                &self.category,
                &categories,
                window_days,
            )
            .then_some(None)?
        } else {
            let sent: Vec<SentMessage> = self
                .sent
                .iter()
                .map(|s| SentMessage {
                    step: s.step,
                    at: s.at,
                })
                .collect();
            Some(attribution::credited_step(
                &self.category,
                &sent,
                booked_at,
                &categories,
                window_days,
            )?)
        };
        Some(Reactivation {
            booking: booking.id.clone(),
            booked_at,
            credited_step,
            revenue_minor: booking.services.iter().map(|s| s.price_minor).sum(),
        })
    }
}

/// Where a step is in its life.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum StepStatus {
    /// Waiting for its send time.
    Scheduled,
    /// Handed to the bus for delivery.
    Queued { at: Timestamp },
    /// A delivery function is sending it; another may take over once the lease has run out
    /// (the first one crashed).
    Sending { lease_until: Timestamp },
    /// Sent: the provider's message id.
    Sent { at: Timestamp, message_id: String },
}

impl StepStatus {
    pub fn name(&self) -> &'static str {
        match self {
            StepStatus::Scheduled => "scheduled",
            StepStatus::Queued { .. } => "queued",
            StepStatus::Sending { .. } => "sending",
            StepStatus::Sent { .. } => "sent",
        }
    }

    /// Whether a delivery may take the step at `now`: queued, or left sending by one whose
    /// lease has run out.
    pub fn claimable(&self, now: Timestamp) -> bool {
        match self {
            StepStatus::Queued { .. } => true,
            StepStatus::Sending { lease_until } => *lease_until <= now,
            _ => false,
        }
    }

    // The step's moves, each from the status read to the one to write: a store writes the new
    // status on condition that the stored one is still the one read, so each move happens once.

    /// Claimed for the bus at `at`: scheduled → queued. `None` from any other status.
    pub fn queued(&self, at: Timestamp) -> Option<StepStatus> {
        matches!(self, StepStatus::Scheduled).then_some(StepStatus::Queued { at })
    }

    /// Its event could not be published: queued → scheduled, for the next run. `None` from
    /// any other status (it was taken for sending, or its enrollment ended).
    pub fn released(&self) -> Option<StepStatus> {
        matches!(self, StepStatus::Queued { .. }).then_some(StepStatus::Scheduled)
    }

    /// Taken by a delivery at `now` under a lease until `lease_until`: from queued, or from
    /// sending whose lease has run out (the delivery before crashed). `None` otherwise.
    pub fn taken(&self, now: Timestamp, lease_until: Timestamp) -> Option<StepStatus> {
        self.claimable(now)
            .then_some(StepStatus::Sending { lease_until })
    }
}

/// A step waiting to go out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScheduledStep {
    pub client_id: ClientId,
    pub enrollment: EnrollmentId,
    /// Index into the enrollment's steps.
    pub index: u16,
    pub channel: Channel,
    pub send_at: Timestamp,
    pub status: StepStatus,
}

/// Everything about a client's outreach: the one active enrollment, if any, and what the
/// eligibility rules need to remember.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Outreach {
    pub active: Option<Enrollment>,
    /// The step of the active enrollment waiting to go out, if any.
    pub pending_step: Option<u16>,
    pub last_ended: Option<Day>,
    /// The local day the client was last sent a marketing message.
    pub last_message: Option<Day>,
    pub asked_permission: bool,
    /// The client finished a sequence without returning: only long-game check-ins from now on.
    pub long_game: bool,
    /// The day the client was last offered a discount.
    pub last_discount: Option<Day>,
    /// The enrollment that ended last, kept while a return may still be credited to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Enrollment>,
}

/// What became of the offer code a booking carried, as the booking tool is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeStatus {
    /// The code is this client's and this booking redeemed it.
    Redeemed,
    /// The code is this client's but another booking redeemed it before.
    AlreadyRedeemed,
    /// The code is this client's, but a cancelled or missed booking redeems nothing (or the
    /// code had not been redeemed when this booking was applied).
    NotRedeemed,
    /// Not a code this client was given (or given so long ago that it has lapsed).
    Unknown,
}

impl Outreach {
    /// What became of `booking`'s offer code, once the booking is applied; `None` if it
    /// carried none.
    pub fn code_status(&self, booking: &Booking) -> Option<CodeStatus> {
        let sent = booking.offer_code.as_deref()?;
        let given = self
            .active
            .iter()
            .chain(&self.previous)
            .filter_map(|e| e.offer_code.as_ref())
            .find(|given| given.code.eq_ignore_ascii_case(sent));
        let redeems = matches!(
            booking.status,
            BookingStatus::Booked | BookingStatus::Completed
        );
        Some(match given.map(|given| &given.redeemed) {
            None => CodeStatus::Unknown,
            Some(Some(redemption)) if redemption.booking == booking.id => CodeStatus::Redeemed,
            Some(Some(_)) if redeems => CodeStatus::AlreadyRedeemed,
            Some(_) => CodeStatus::NotRedeemed,
        })
    }

    /// Ends the active enrollment, if any, and returns it as ended.
    pub fn end(&mut self, outcome: Outcome, on: Day) -> Option<Enrollment> {
        let mut enrollment = self.active.take()?;
        enrollment.status = Status::Ended { outcome, on };
        self.pending_step = None;
        self.last_ended = Some(on);
        if outcome == Outcome::Completed && !enrollment.control {
            self.long_game = true;
        }
        if matches!(outcome, Outcome::Converted | Outcome::Rebooked) {
            self.long_game = false;
        }
        self.previous = Some(enrollment.clone());
        Some(enrollment)
    }
}

/// How a booking ends an enrollment: converted if it includes the enrollment's category,
/// rebooked otherwise.
pub fn outcome_of_booking(enrollment: &Enrollment, categories: &[&Category]) -> Outcome {
    if categories.contains(&&enrollment.category) {
        Outcome::Converted
    } else {
        Outcome::Rebooked
    }
}

/// How a booking ends an enrollment, if it does: a visit or a booking (made or kept) since the
/// client was enrolled ends it — converted when it includes the enrollment's category,
/// rebooked otherwise. An old visit sent late is history, not a return; a cancellation or a
/// no-show ends nothing.
pub fn ending_by_booking(
    enrollment: &Enrollment,
    booking: &Booking,
    timezone: &TimeZoneName,
) -> Option<Outcome> {
    if !matches!(
        booking.status,
        BookingStatus::Booked | BookingStatus::Completed
    ) {
        return None;
    }
    let made = timezone.day_of(booking.updated_at);
    (booking.day(timezone) >= enrollment.started || made >= enrollment.started).then(|| {
        let categories: Vec<&Category> = booking.categories().collect();
        outcome_of_booking(enrollment, &categories)
    })
}

/// When the first step of a new enrollment goes out: not before `now`, not before the client's
/// usual window has closed (`not_before`, a local day), on the landmark day if the business wants
/// one, inside the channel's window in the client's zone and never on the day they were last
/// messaged.
pub fn first_send_at(
    now: Timestamp,
    not_before: Day,
    landmark: Landmark,
    window: &SendWindow,
    zone: &TimeZone,
    last_message: Option<Day>,
) -> Timestamp {
    let start_of = |date: Date| Day::from_date(date).start_in(zone).unwrap_or(now);
    let earliest = now.max(start_of(not_before.date()));
    let local = zone.to_datetime(earliest).date();
    let landed = landmark.first_message_day(local);
    let earliest = if landed > local {
        start_of(landed)
    } else {
        earliest
    };
    window.next_send(earliest, zone, last_message.map(Day::date))
}

/// When step `index` of an enrollment goes out: on its day of the sequence (counted from the
/// day it started), inside the channel's window in the client's zone, never on the day of the
/// last message and never before `now`.
pub fn step_send_at(
    enrollment: &Enrollment,
    index: usize,
    now: Timestamp,
    window: &SendWindow,
    zone: &TimeZone,
    last_message: Option<Day>,
) -> Option<Timestamp> {
    let step = enrollment.steps.get(index)?;
    let day = enrollment.started.plus_days(i32::from(step.day));
    Some(first_send_at(
        now,
        day,
        Landmark::None,
        window,
        zone,
        last_message,
    ))
}

/// The day a sequence started on `started` completes if nothing ends it sooner: a week after
/// its last step, so a reply to the last message still counts.
pub fn ends_on(sequence: &Sequence, started: Day) -> Day {
    started.plus_days(i32::from(sequence.length_days()) + 7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn enrollment(category: &str) -> Enrollment {
        let started = Day::from_date(date(2026, 11, 30));
        let category = Category::parse(category).unwrap();
        let sequence = Sequence::default_for(Tier::High);
        Enrollment {
            id: EnrollmentId::new(started, &category),
            client_id: ClientId::parse("c1").unwrap(),
            category,
            also_overdue: Vec::new(),
            kind: Kind::Sequence,
            sequence: sequence.name.clone(),
            steps: sequence.steps.clone(),
            tier: Tier::High,
            stage: Stage::Lapsed,
            lapse_score: 0.7,
            started,
            control: false,
            ends_on: ends_on(&sequence, started),
            status: Status::Active,
            sent: Vec::new(),
            reactivation: None,
            offer_code: None,
        }
    }

    fn booking(id: &str, category: &str, made: &str, status: BookingStatus) -> Booking {
        use crate::domain::booking::ServiceLine;
        Booking {
            id: BookingId::parse(id).unwrap(),
            client_id: ClientId::parse("c1").unwrap(),
            status,
            // A week after it was made.
            starts_at: made
                .parse::<Timestamp>()
                .unwrap()
                .checked_add(jiff::SignedDuration::from_hours(24 * 7))
                .unwrap(),
            updated_at: made.parse().unwrap(),
            location_id: None,
            staff: None,
            offer_code: None,
            services: vec![ServiceLine {
                category: Category::parse(category).unwrap(),
                name: None,
                price_minor: 6000,
            }],
        }
    }

    #[test]
    fn a_booking_is_told_what_became_of_its_offer_code() {
        let mut e = enrollment("hair");
        e.offer_code = Some(OfferCode {
            code: "WB-7KQ2-M4XD".into(),
            offer: "welcome_back".into(),
            issued_at: "2026-12-01T09:00:00Z".parse().unwrap(),
            redeemed: None,
        });
        let with_code = |id: &str, code: &str, status: BookingStatus| Booking {
            offer_code: Some(code.into()),
            ..booking(id, "hair", "2026-12-03T10:00:00Z", status)
        };
        let cancelled = with_code("b0", "WB-7KQ2-M4XD", BookingStatus::Cancelled);
        let first = with_code("b1", "wb-7kq2-m4xd", BookingStatus::Booked);
        let second = with_code("b2", "WB-7KQ2-M4XD", BookingStatus::Booked);
        let stranger = with_code("b3", "WB-AAAA-BBBB", BookingStatus::Booked);
        assert!(!e.redeem(&cancelled));
        assert!(e.redeem(&first));
        assert!(!e.redeem(&second));
        let outreach = Outreach {
            previous: Some(e),
            ..Outreach::default()
        };
        let status = |b: &Booking| outreach.code_status(b);
        assert_eq!(status(&cancelled), Some(CodeStatus::NotRedeemed));
        assert_eq!(status(&first), Some(CodeStatus::Redeemed));
        assert_eq!(status(&second), Some(CodeStatus::AlreadyRedeemed));
        assert_eq!(status(&stranger), Some(CodeStatus::Unknown));
        let plain = booking("b4", "hair", "2026-12-03T10:00:00Z", BookingStatus::Booked);
        assert_eq!(status(&plain), None);
        assert_eq!(
            Outreach::default().code_status(&first),
            Some(CodeStatus::Unknown)
        );
    }

    #[test]
    fn a_return_is_credited_to_the_last_message_before_it_within_the_window() {
        let mut e = enrollment("hair");
        for (step, at) in [(0, "2026-12-01T09:00:00Z"), (1, "2026-12-08T09:00:00Z")] {
            e.sent.push(SentStep {
                step,
                channel: Channel::Email,
                at: at.parse().unwrap(),
            });
        }
        let back = e
            .reactivation_by(
                &booking("b1", "hair", "2026-12-10T20:00:00Z", BookingStatus::Booked),
                90,
            )
            .unwrap();
        assert_eq!(back.credited_step, Some(1));
        assert_eq!(back.revenue_minor, 6000);
        // Between the two messages: the first gets it.
        let early = booking("b2", "hair", "2026-12-03T20:00:00Z", BookingStatus::Booked);
        assert_eq!(
            e.reactivation_by(&early, 90).unwrap().credited_step,
            Some(0)
        );
        // Another category, a cancellation, past the window, or before any message: no return.
        for (booking, window) in [
            (
                booking("b3", "nails", "2026-12-10T20:00:00Z", BookingStatus::Booked),
                90,
            ),
            (
                booking(
                    "b4",
                    "hair",
                    "2026-12-10T20:00:00Z",
                    BookingStatus::Cancelled,
                ),
                90,
            ),
            (
                booking("b5", "hair", "2026-12-20T20:00:00Z", BookingStatus::Booked),
                10,
            ),
            (
                booking("b6", "hair", "2026-11-30T20:00:00Z", BookingStatus::Booked),
                90,
            ),
        ] {
            assert_eq!(e.reactivation_by(&booking, window), None, "{}", booking.id);
        }
        // Once recorded, a later booking is not another return.
        e.reactivation = Some(back);
        assert_eq!(e.reactivation_by(&early, 90), None);
    }

    #[test]
    fn a_control_group_return_counts_within_the_window_after_enrolling() {
        let mut e = enrollment("hair");
        e.control = true;
        let back = e
            .reactivation_by(
                &booking("b1", "hair", "2026-12-10T20:00:00Z", BookingStatus::Booked),
                90,
            )
            .unwrap();
        assert_eq!(back.credited_step, None);
        let late = booking("b2", "hair", "2027-04-10T20:00:00Z", BookingStatus::Booked);
        assert_eq!(e.reactivation_by(&late, 90), None);
    }

    #[test]
    fn a_step_goes_scheduled_queued_sending_sent_and_only_a_queued_one_goes_back() {
        let now: Timestamp = "2026-12-01T09:00:00Z".parse().unwrap();
        let lease: Timestamp = "2026-12-01T09:05:00Z".parse().unwrap();
        let queued = StepStatus::Scheduled.queued(now).unwrap();
        assert_eq!(queued, StepStatus::Queued { at: now });
        assert_eq!(queued.queued(now), None, "queued once");
        assert_eq!(queued.released(), Some(StepStatus::Scheduled));
        let sending = queued.taken(now, lease).unwrap();
        assert_eq!(sending, StepStatus::Sending { lease_until: lease });
        assert_eq!(
            sending.released(),
            None,
            "a step being sent is not put back"
        );
        assert_eq!(sending.queued(now), None);
        assert_eq!(StepStatus::Scheduled.released(), None);
        assert_eq!(
            StepStatus::Scheduled.taken(now, lease),
            None,
            "not before it is queued"
        );
        let sent = StepStatus::Sent {
            at: now,
            message_id: "m".into(),
        };
        assert_eq!(sent.taken(lease, lease), None);
        assert_eq!(sent.released(), None);
        assert_eq!(sent.queued(lease), None);
    }

    #[test]
    fn a_step_lease_lets_another_delivery_take_over_only_once_it_has_run_out() {
        let now: Timestamp = "2026-12-01T09:00:00Z".parse().unwrap();
        let later: Timestamp = "2026-12-01T09:05:00Z".parse().unwrap();
        assert!(StepStatus::Queued { at: now }.claimable(now));
        assert!(!StepStatus::Sending { lease_until: later }.claimable(now));
        assert!(StepStatus::Sending { lease_until: later }.claimable(later));
        assert!(!StepStatus::Scheduled.claimable(now));
        let sent = StepStatus::Sent {
            at: now,
            message_id: "m".into(),
        };
        assert!(!sent.claimable(later));
    }

    #[test]
    fn later_steps_go_out_on_their_day_of_the_sequence_in_the_window() {
        let e = enrollment("hair");
        let zone = TimeZone::get("Europe/London").unwrap();
        let window = SendWindow::new(time(9, 0, 0, 0), time(19, 0, 0, 0)).unwrap();
        let now: Timestamp = "2026-11-30T10:00:00Z".parse().unwrap();
        // Step 1 is day 7: 7 December, 09:00 London.
        let at = step_send_at(&e, 1, now, &window, &zone, Some(e.started)).unwrap();
        assert_eq!(at, "2026-12-07T09:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(step_send_at(&e, 9, now, &window, &zone, None), None);
    }

    #[test]
    fn enrollment_ids_round_trip() {
        let id = enrollment("hair colour").id;
        assert_eq!(id.as_str(), "2026-11-30~hair colour");
        assert_eq!(EnrollmentId::parse(id.as_str()), Ok(id.clone()));
        assert!(EnrollmentId::parse("garbage").is_err());
        assert!(EnrollmentId::parse("2026-13-40~hair").is_err());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<EnrollmentId>(&json).unwrap(), id);
        assert!(
            serde_json::from_str::<EnrollmentId>("\"not an id\"").is_err(),
            "refused on deserialisation, as an event from the bus would be"
        );
    }

    #[test]
    fn a_booking_in_the_category_converts_and_any_other_booking_rebooks() {
        let e = enrollment("hair");
        let hair = Category::parse("hair").unwrap();
        let nails = Category::parse("nails").unwrap();
        assert_eq!(outcome_of_booking(&e, &[&nails, &hair]), Outcome::Converted);
        assert_eq!(outcome_of_booking(&e, &[&nails]), Outcome::Rebooked);
    }

    #[test]
    fn a_finished_sequence_moves_the_client_to_the_long_game_list() {
        let mut outreach = Outreach {
            active: Some(enrollment("hair")),
            pending_step: Some(4),
            ..Outreach::default()
        };
        let on = Day::from_date(date(2027, 2, 5));
        let ended = outreach.end(Outcome::Completed, on).unwrap();
        assert_eq!(
            ended.status,
            Status::Ended {
                outcome: Outcome::Completed,
                on
            }
        );
        assert!(outreach.active.is_none() && outreach.pending_step.is_none());
        assert!(outreach.long_game);
        assert_eq!(outreach.last_ended, Some(on));
        // Coming back takes them off it.
        outreach.active = Some(enrollment("hair"));
        outreach.end(Outcome::Converted, on);
        assert!(!outreach.long_game);
        // Ending with nothing active changes nothing.
        assert_eq!(outreach.end(Outcome::Completed, on), None);
    }

    #[test]
    fn the_first_step_never_goes_out_before_the_upper_edge_of_the_usual_window() {
        let zone = TimeZone::get("Europe/London").unwrap();
        let window = SendWindow::new(time(9, 0, 0, 0), time(19, 0, 0, 0)).unwrap();
        let now: Timestamp = "2026-11-30T06:00:00Z".parse().unwrap();
        let edge = Day::from_date(date(2026, 12, 3));
        let at = first_send_at(now, edge, Landmark::None, &window, &zone, None);
        assert_eq!(at, "2026-12-03T09:00:00Z".parse::<Timestamp>().unwrap());
        // Already past the edge: the next window opening.
        let past = Day::from_date(date(2026, 11, 1));
        let at = first_send_at(now, past, Landmark::None, &window, &zone, None);
        assert_eq!(at, "2026-11-30T09:00:00Z".parse::<Timestamp>().unwrap());
    }

    #[test]
    fn first_steps_wait_for_the_landmark_and_skip_the_day_last_messaged() {
        let zone = TimeZone::get("America/New_York").unwrap();
        let window = SendWindow::new(time(10, 0, 0, 0), time(18, 0, 0, 0)).unwrap();
        // Wednesday 2026-11-25, 20:00 in New York: past today's window.
        let now: Timestamp = "2026-11-26T01:00:00Z".parse().unwrap();
        let past = Day::from_date(date(2026, 1, 1));
        let at = first_send_at(now, past, Landmark::WeekStart, &window, &zone, None);
        assert_eq!(at, "2026-11-30T15:00:00Z".parse::<Timestamp>().unwrap());
        let at = first_send_at(
            now,
            past,
            Landmark::None,
            &window,
            &zone,
            Some(Day::from_date(date(2026, 11, 26))),
        );
        assert_eq!(at, "2026-11-27T15:00:00Z".parse::<Timestamp>().unwrap());
    }

    #[test]
    fn an_sms_step_lands_inside_daytime_across_the_clock_change() {
        // 2026-03-08: New York springs forward at 02:00. A window opening at 08:00 local is
        // 12:00 UTC that day, 13:00 UTC the day before.
        let zone = TimeZone::get("America/New_York").unwrap();
        let window = SendWindow::for_sms(time(8, 0, 0, 0), time(21, 0, 0, 0)).unwrap();
        let now: Timestamp = "2026-03-08T03:00:00Z".parse().unwrap();
        let at = first_send_at(
            now,
            Day::from_date(date(2026, 1, 1)),
            Landmark::None,
            &window,
            &zone,
            None,
        );
        assert_eq!(at, "2026-03-08T12:00:00Z".parse::<Timestamp>().unwrap());
        // 2026-11-01: falls back at 02:00; 08:00 local is 13:00 UTC.
        let now: Timestamp = "2026-11-01T04:30:00Z".parse().unwrap();
        let at = first_send_at(
            now,
            Day::from_date(date(2026, 1, 1)),
            Landmark::None,
            &window,
            &zone,
            None,
        );
        assert_eq!(at, "2026-11-01T13:00:00Z".parse::<Timestamp>().unwrap());
    }
}
