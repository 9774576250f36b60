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
    pub fn name(self) -> &'static str {
        match self {
            SuppressionReason::Erased => "erased",
            SuppressionReason::OptedOut => "opted_out",
            SuppressionReason::Bounced => "bounced",
            SuppressionReason::Complained => "complained",
        }
    }
}
