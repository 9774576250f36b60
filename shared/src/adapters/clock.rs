//! The clock a process runs on: the machine's, or the machine's moved to start at another
//! instant when `WINBACK_CLOCK_START` names one (RFC 3339, e.g. `2030-03-04T08:00:00Z`). The
//! moved clock runs at the machine's speed, so leases expire and timestamps still order; it is
//! how the tests run a function binary as of a day of their choosing, and how a rehearsal can
//! see what winback would do next month. A deployment never sets it.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::ports::{Clock, SystemClock};

/// The variable that moves a process's clock.
pub const CLOCK_START: &str = "WINBACK_CLOCK_START";

/// `WINBACK_CLOCK_START` is set but is not an instant.
#[derive(Debug, thiserror::Error)]
#[error(
    "{CLOCK_START} is {value:?}, which is not an instant; give one such as 2030-03-04T08:00:00Z, or unset it to run on the machine's clock"
)]
pub struct ClockStartError {
    value: String,
    #[source]
    source: jiff::Error,
}

/// The machine's clock, moved by a fixed offset.
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    offset: SignedDuration,
}

impl ShiftedClock {
    /// A clock that says `start` now and runs on from there.
    pub fn starting_at(start: Timestamp) -> ShiftedClock {
        ShiftedClock {
            offset: start.duration_since(Timestamp::now()),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
            .saturating_add(self.offset)
            .unwrap_or(Timestamp::MAX)
    }
}

/// The process's clock, from `WINBACK_CLOCK_START` if it is set, else the machine's.
pub fn from_env() -> Result<Arc<dyn Clock>, ClockStartError> {
    match std::env::var(CLOCK_START)
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        None => Ok(Arc::new(SystemClock)),
        Some(value) => match value.trim().parse::<Timestamp>() {
            Ok(start) => Ok(Arc::new(ShiftedClock::starting_at(start))),
            Err(source) => Err(ClockStartError { value, source }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_clock_starts_where_it_was_told_and_runs_on() {
        let start: Timestamp = "2030-03-04T08:00:00Z".parse().unwrap();
        let clock = ShiftedClock::starting_at(start);
        let first = clock.now();
        assert!(first >= start && first.duration_since(start) < SignedDuration::from_secs(5));
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(clock.now() > first, "it runs on");
    }
}
