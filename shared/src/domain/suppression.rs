//! Suppression: why a contact detail must never be messaged, and which consent changes lift it.

/// Why a contact detail must never be messaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    /// Its client was erased.
    Erased,
    /// The client opted out (an unsubscribe link, STOP); they may opt back in (START).
    OptedOut,
    /// Mail to the address bounced for good.
    Bounced,
    /// The recipient marked a message as spam.
    Complained,
}

impl SuppressionReason {
    pub const ALL: [SuppressionReason; 4] = [
        SuppressionReason::Erased,
        SuppressionReason::OptedOut,
        SuppressionReason::Bounced,
        SuppressionReason::Complained,
    ];

    /// The one suppression a client can lift by giving consent again (START, a new opt-in):
    /// their own opt-out. A bounce, a complaint or an erasure is never lifted.
    pub const LIFTED_BY_CONSENT: SuppressionReason = SuppressionReason::OptedOut;

    /// The reason called `name` (as [`SuppressionReason::name`] writes it).
    pub fn from_name(name: &str) -> Option<SuppressionReason> {
        SuppressionReason::ALL
            .into_iter()
            .find(|r| r.name() == name)
    }

    /// A reason as a store read it back: one this release does not know (written by a newer
    /// one) is read as the strictest, an erasure, so the contact is still never messaged.
    pub fn from_stored(name: &str) -> SuppressionReason {
        SuppressionReason::from_name(name).unwrap_or(SuppressionReason::Erased)
    }

    pub fn name(self) -> &'static str {
        match self {
            SuppressionReason::Erased => "erased",
            SuppressionReason::OptedOut => "opted_out",
            SuppressionReason::Bounced => "bounced",
            SuppressionReason::Complained => "complained",
        }
    }
}

/// What a consent change does to a contact's suppression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The contact is suppressed from now on, for this reason.
    Suppress(SuppressionReason),
    /// The client's own opt-out is lifted.
    Lift,
    /// Nothing changes, and no ledger line is written: consent withdrawn from a contact
    /// already suppressed, or given to one that was not suppressed or cannot be lifted.
    Unchanged,
}

/// The transition a consent change (`granted`, or withdrawn for `reason`) makes from the
/// contact's `current` suppression.
pub fn after_consent(
    current: Option<SuppressionReason>,
    granted: bool,
    reason: SuppressionReason,
) -> Transition {
    match (granted, current) {
        (false, None) => Transition::Suppress(reason),
        (true, Some(current)) if current == SuppressionReason::LIFTED_BY_CONSENT => {
            Transition::Lift
        }
        _ => Transition::Unchanged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opt_out_suppresses_a_contact_that_was_not_suppressed() {
        assert_eq!(
            after_consent(None, false, SuppressionReason::OptedOut),
            Transition::Suppress(SuppressionReason::OptedOut)
        );
        assert_eq!(
            after_consent(None, false, SuppressionReason::Bounced),
            Transition::Suppress(SuppressionReason::Bounced)
        );
    }

    #[test]
    fn only_start_lifts_an_opt_out_and_never_a_bounce_a_complaint_or_an_erasure() {
        let current = |r| Some(r);
        assert_eq!(
            after_consent(
                current(SuppressionReason::OptedOut),
                true,
                SuppressionReason::OptedOut
            ),
            Transition::Lift
        );
        for kept in [
            SuppressionReason::Bounced,
            SuppressionReason::Complained,
            SuppressionReason::Erased,
        ] {
            assert_eq!(
                after_consent(current(kept), true, SuppressionReason::OptedOut),
                Transition::Unchanged,
                "{kept:?}"
            );
        }
    }

    #[test]
    fn a_second_opt_out_or_a_consent_to_a_contact_never_suppressed_changes_nothing() {
        for current in SuppressionReason::ALL {
            assert_eq!(
                after_consent(Some(current), false, SuppressionReason::OptedOut),
                Transition::Unchanged
            );
        }
        assert_eq!(
            after_consent(None, true, SuppressionReason::OptedOut),
            Transition::Unchanged
        );
    }

    #[test]
    fn a_reason_this_release_does_not_know_is_read_as_an_erasure() {
        for reason in SuppressionReason::ALL {
            assert_eq!(SuppressionReason::from_stored(reason.name()), reason);
        }
        assert_eq!(
            SuppressionReason::from_stored("litigation_hold"),
            SuppressionReason::Erased
        );
    }
}
