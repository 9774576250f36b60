//! An outgoing email as RFC 5322 bytes, built with `lettre`: plain text and HTML alternatives,
//! and the one-click unsubscribe headers of RFC 8058 (`List-Unsubscribe` with the HTTPS link and
//! a mailto, `List-Unsubscribe-Post: List-Unsubscribe=One-Click`). SES sends these bytes as Raw
//! content (which keeps the headers); the local outbox writes them as `.eml` files.

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use crate::ports::{OutgoingEmail, SendError};

/// The email as bytes, with `message_id` as its Message-ID.
pub fn email_bytes(email: &OutgoingEmail, message_id: &str) -> Result<Vec<u8>, SendError> {
    let refuse = |what: &str, e: &dyn std::fmt::Display| SendError::Refused(format!("{what}: {e}"));
    let from: Mailbox = email
        .from
        .parse()
        .map_err(|e| refuse("the sender address", &e))?;
    let to: Mailbox = email.to.parse().map_err(|e| refuse("the address", &e))?;
    let mut unsubscribe = format!("<{}>", email.unsubscribe_url);
    if let Some(mailto) = &email.unsubscribe_mailto {
        unsubscribe.push_str(&format!(", <mailto:{mailto}?subject=unsubscribe>"));
    }
    let header = |name: &'static str, value: String| {
        HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
    };
    let builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(format!("<{message_id}>")))
        .raw_header(header("List-Unsubscribe", unsubscribe))
        .raw_header(header(
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".to_owned(),
        ));
    let message = match &email.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(SinglePart::plain(email.text.clone())),
    }
    .map_err(|e| refuse("the message", &e))?;
    Ok(message.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_email_carries_both_parts_and_one_click_unsubscribe() {
        let email = OutgoingEmail {
            from: "Salon <hello@salon.example>".into(),
            to: "ana@example.com".into(),
            subject: "Time for your next cut, Ana?".into(),
            text: "Hi Ana".into(),
            html: Some("<p>Hi Ana</p>".into()),
            unsubscribe_url: "https://api.example/u/k1.abc".into(),
            unsubscribe_mailto: Some("unsubscribe@salon.example".into()),
            tags: Vec::new(),
        };
        let bytes = email_bytes(&email, "m1@winback").unwrap();
        // Long headers are folded onto continuation lines; read them unfolded.
        let text = String::from_utf8(bytes).unwrap().replace("\r\n ", " ");
        assert!(text.contains("List-Unsubscribe: <https://api.example/u/k1.abc>, <mailto:unsubscribe@salon.example?subject=unsubscribe>"), "{text}");
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(text.contains("multipart/alternative"));
        assert!(text.contains("Message-ID: <m1@winback>"));
        let bad = OutgoingEmail {
            to: "not an address".into(),
            ..email
        };
        assert!(matches!(
            email_bytes(&bad, "m2"),
            Err(SendError::Refused(_))
        ));
    }
}
