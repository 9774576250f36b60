//! What outreach achieved: how many clients were enrolled and messaged, how many came back
//! after a message (attributed, with their revenue, by the step credited), how many in the
//! control group came back without one, and the difference between the two return rates — the
//! incremental effect — with its 95 % interval.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::attribution::{self, Lift};
use crate::domain::channel::Channel;
use crate::domain::day::Day;
use crate::domain::enrollment::{Enrollment, Outcome, Status, StopReason};
use crate::domain::ids::TenantId;
use crate::ports::{OutreachStore, StoreError};

/// The report over a set of enrollments.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct OutreachReport {
    /// Clients enrolled to be messaged.
    pub enrolled: u64,
    /// Clients held back as the control group.
    pub control: u64,
    /// Enrollments still under way.
    pub active: u64,
    pub emails_sent: u64,
    pub sms_sent: u64,
    /// Messaged clients who came back, credited to a message.
    pub reactivated: u64,
    /// What their returning bookings were worth, in minor currency units.
    pub revenue_minor: i64,
    /// Returns credited to each step (0 is the first message).
    pub by_step: BTreeMap<u16, u64>,
    /// Control-group clients who came back within the window.
    pub control_returned: u64,
    /// Single-use offer codes given, and redeemed with a booking.
    pub offer_codes_given: u64,
    pub offer_codes_redeemed: u64,
    /// Enrollments ended by the client opting out.
    pub opted_out: u64,
    /// Enrollments ended because the address bounced, complained or was suppressed.
    pub suppressed: u64,
    /// Messaged return rate minus control return rate, with its interval; `None` while the
    /// control group is empty.
    pub lift: Option<Lift>,
}

/// The outreach report, read from the store.
pub struct Reports<S: ?Sized = dyn crate::ports::Store> {
    store: Arc<S>,
}

impl<S: OutreachStore + ?Sized> Reports<S> {
    pub fn new(store: Arc<S>) -> Reports<S> {
        Reports { store }
    }

    /// The outreach report of the enrollments a business started from `from` through
    /// `through`. A read: safe to repeat.
    pub async fn outreach(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<OutreachReport, StoreError> {
        Ok(report(
            &self
                .store
                .enrollments_started(tenant, from, through)
                .await?,
        ))
    }
}

pub fn report<'a>(enrollments: impl IntoIterator<Item = &'a Enrollment>) -> OutreachReport {
    let mut report = OutreachReport::default();
    for enrollment in enrollments {
        if enrollment.control {
            report.control += 1;
            report.control_returned += u64::from(enrollment.reactivation.is_some());
            continue;
        }
        report.enrolled += 1;
        for sent in &enrollment.sent {
            match sent.channel {
                Channel::Email => report.emails_sent += 1,
                Channel::Sms => report.sms_sent += 1,
            }
        }
        if let Some(code) = &enrollment.offer_code {
            report.offer_codes_given += 1;
            report.offer_codes_redeemed += u64::from(code.redeemed.is_some());
        }
        if let Some(back) = &enrollment.reactivation {
            report.reactivated += 1;
            report.revenue_minor += back.revenue_minor;
            if let Some(step) = back.credited_step {
                *report.by_step.entry(step).or_default() += 1;
            }
        }
        match enrollment.status {
            Status::Active => report.active += 1,
            Status::Ended {
                outcome:
                    Outcome::Stopped {
                        reason: StopReason::OptedOut,
                    },
                ..
            } => report.opted_out += 1,
            Status::Ended {
                outcome:
                    Outcome::Stopped {
                        reason: StopReason::Suppressed,
                    },
                ..
            } => report.suppressed += 1,
            Status::Ended { .. } => {}
        }
    }
    report.lift = attribution::lift(
        report.reactivated,
        report.enrolled,
        report.control_returned,
        report.control,
    );
    report
}
