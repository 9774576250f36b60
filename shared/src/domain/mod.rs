//! The product's rules, with no I/O: every rule of PRODUCT.md's Detection and Segmentation
//! sections, and of Outreach and Measurement as they arrive (eligibility, sequences and
//! enrollments, send windows, the control group, offers, templates and SMS segments, link
//! tokens, SMS keywords, attribution and lift), lives in one of these files, next to the unit
//! test that names it.
//!
//! Time always comes in as a parameter (`as_of`, `today`); nothing here reads a clock.

pub mod attribution;
pub mod booking;
pub mod booking_change;
pub mod cadence;
pub mod category_cadence;
pub mod channel;
pub mod churn_signal;
pub mod click;
pub mod client;
pub mod client_record;
pub mod config;
pub mod contact;
pub mod control_group;
pub mod day;
pub mod delivery;
pub mod eligibility;
pub mod enrollment;
pub mod enrollment_plan;
pub mod explanation;
pub mod feedback;
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures;
pub mod ids;
pub mod industry;
pub mod lapse_score;
pub mod link_token;
pub mod money;
pub mod outreach_settings;
pub mod rebook_link;
pub mod reputation;
pub mod retention;
pub mod rfm;
pub mod rhythm;
pub mod send_window;
pub mod sequence;
pub mod sms;
pub mod stage;
pub mod suppression;
pub mod template;
pub mod tenant;
pub mod time_zone;
pub mod webhook_signature;
