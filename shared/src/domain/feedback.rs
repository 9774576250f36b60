//! What clients say back: SMS keywords (STOP and its synonyms, START to come back, HELP), and
//! the consent ledger entry every opt-in and opt-out leaves, never rewritten.

use jiff::Timestamp;

use crate::domain::channel::Channel;
use crate::domain::ids::ClientId;
use crate::domain::suppression::SuppressionReason;

/// What an inbound SMS asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Keyword {
    /// Stop all messages on this channel.
    Stop,
    /// Messages may start again (consent given anew).
    Start,
    /// Who is this and how do I stop it.
    Help,
}

const STOP_WORDS: [&str; 7] = [
    "STOP",
    "END",
    "CANCEL",
    "UNSUBSCRIBE",
    "QUIT",
    "REVOKE",
    "OPT OUT",
];
const START_WORDS: [&str; 2] = ["START", "UNSTOP"];

/// The keyword an inbound SMS is, if it is one: the whole message, any case, with surrounding
/// spaces and punctuation ignored ("Stop.", " stop ", "OPT-OUT", "optout" all count).
pub fn keyword(message: &str) -> Option<Keyword> {
    let normalised: String = message
        .trim()
        .trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .chars()
        .map(|c| if c == '-' || c == '_' { ' ' } else { c })
        .collect::<String>()
        .to_uppercase();
    let words: Vec<&str> = normalised.split_whitespace().collect();
    let joined = words.join(" ");
    let squashed = words.concat();
    let is = |list: &[&str]| {
        list.iter()
            .any(|w| *w == joined || w.replace(' ', "") == squashed)
    };
    if is(&STOP_WORDS) {
        Some(Keyword::Stop)
    } else if is(&START_WORDS) {
        Some(Keyword::Start)
    } else if joined == "HELP" || joined == "INFO" {
        Some(Keyword::Help)
    } else {
        None
    }
}

/// The reply to HELP: who is writing and how to stop.
pub fn help_reply(business_name: &str) -> String {
    format!(
        "{business_name}: occasional booking reminders. Reply STOP to opt out, START to opt back in."
    )
}

/// One line of the consent ledger: who, when, from where, in what words. Appended, never
/// changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConsentEntry {
    pub channel: Channel,
    pub granted: bool,
    pub at: Timestamp,
    /// Where it came from: "sms keyword", "unsubscribe link", "booking tool", "bounce", ...
    pub source: String,
    /// The client's own words or the page's, as received (an SMS body, "one-click unsubscribe").
    pub wording: String,
}

/// One line of the consent ledger as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerLine {
    pub client: Option<ClientId>,
    #[serde(flatten)]
    pub entry: ConsentEntry,
    pub reason: SuppressionReason,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stop_word_stops_in_any_case_and_with_punctuation() {
        for word in [
            "STOP",
            "stop",
            " Stop. ",
            "end",
            "Cancel!",
            "unsubscribe",
            "QUIT",
            "revoke",
            "opt out",
            "OPT-OUT",
            "optout",
        ] {
            assert_eq!(keyword(word), Some(Keyword::Stop), "{word:?}");
        }
    }

    #[test]
    fn start_and_unstop_restore_and_help_asks_who_is_writing() {
        assert_eq!(keyword("start"), Some(Keyword::Start));
        assert_eq!(keyword("UNSTOP"), Some(Keyword::Start));
        assert_eq!(keyword("Help?"), Some(Keyword::Help));
        let reply = help_reply("Maple Street Hair");
        assert!(reply.starts_with("Maple Street Hair") && reply.contains("STOP"));
    }

    #[test]
    fn ordinary_replies_are_not_keywords() {
        for message in [
            "Please don't stop sending me offers",
            "can I book friday",
            "stopping by later",
            "",
            "1",
        ] {
            assert_eq!(keyword(message), None, "{message:?}");
        }
    }
}
