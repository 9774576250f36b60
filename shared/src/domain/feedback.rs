//! What clients say back: SMS keywords (STOP and its synonyms, START to come back, HELP), and
//! the consent ledger entry every opt-in and opt-out leaves, never rewritten.

use jiff::Timestamp;

use crate::domain::channel::Channel;
use crate::domain::client::Consent;
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

/// A channel's consent as it stands, from what the booking tool sent (`profile`) and the
/// contact's consent ledger: the later word wins, except that a withdrawal in the ledger (an
/// opt-out link, STOP, a complaint) is lifted only by a later opt-in in the ledger (START),
/// never by the booking tool sending "granted" again.
pub fn standing_consent(
    profile: Option<&Consent>,
    ledger: &[LedgerLine],
    channel: Channel,
) -> Option<Consent> {
    let last = ledger
        .iter()
        .filter(|line| line.entry.channel == channel)
        .max_by_key(|line| line.entry.at);
    let from_ledger = |line: &LedgerLine| Consent {
        granted: line.entry.granted,
        source: line.entry.source.clone(),
        at: line.entry.at,
    };
    match (profile, last) {
        (profile, None) => profile.cloned(),
        (None, Some(line)) => Some(from_ledger(line)),
        (Some(profile), Some(line)) => {
            if line.entry.granted && profile.at > line.entry.at {
                Some(profile.clone())
            } else {
                Some(from_ledger(line))
            }
        }
    }
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

    #[test]
    fn an_opt_out_stands_until_the_client_opts_back_in_whatever_the_booking_tool_sends() {
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        let tool = |granted: bool, when: &str| Consent {
            granted,
            source: "booking form".into(),
            at: at(when),
        };
        let line = |granted: bool, when: &str, source: &str| LedgerLine {
            client: None,
            entry: ConsentEntry {
                channel: Channel::Email,
                granted,
                at: at(when),
                source: source.into(),
                wording: String::new(),
            },
            reason: SuppressionReason::OptedOut,
        };
        let granted = tool(true, "2026-01-01T00:00:00Z");
        assert_eq!(
            standing_consent(Some(&granted), &[], Channel::Email),
            Some(granted.clone()),
            "no ledger: the booking tool's word"
        );
        let opt_out = line(false, "2026-03-01T09:00:00Z", "unsubscribe link");
        let withdrawn = standing_consent(
            Some(&granted),
            std::slice::from_ref(&opt_out),
            Channel::Email,
        )
        .unwrap();
        assert!(!withdrawn.granted);
        assert_eq!(withdrawn.source, "unsubscribe link");
        assert_eq!(withdrawn.at, at("2026-03-01T09:00:00Z"));
        // The booking tool re-sends "granted" later: the opt-out stands.
        let resent = tool(true, "2026-04-01T00:00:00Z");
        assert!(
            !standing_consent(
                Some(&resent),
                std::slice::from_ref(&opt_out),
                Channel::Email
            )
            .unwrap()
            .granted
        );
        // The client opts back in; a later withdrawal by the booking tool then wins.
        let start = line(true, "2026-05-01T00:00:00Z", "sms keyword");
        let ledger = [opt_out.clone(), start];
        assert!(
            standing_consent(Some(&resent), &ledger, Channel::Email)
                .unwrap()
                .granted
        );
        let withdrawn_by_tool = tool(false, "2026-06-01T00:00:00Z");
        assert!(
            !standing_consent(Some(&withdrawn_by_tool), &ledger, Channel::Email)
                .unwrap()
                .granted
        );
        // Another channel's line changes nothing here.
        assert_eq!(
            standing_consent(Some(&granted), &[opt_out], Channel::Sms),
            Some(granted)
        );
    }
}
