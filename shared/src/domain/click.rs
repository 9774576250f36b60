//! A rebook link followed: which enrollment's step, on which channel, when.

use jiff::Timestamp;

use crate::domain::channel::Channel;
use crate::domain::enrollment::EnrollmentId;

/// A rebook link followed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Click {
    pub enrollment: EnrollmentId,
    pub step: u16,
    pub channel: Channel,
    pub at: Timestamp,
}
