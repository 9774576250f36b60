//! Message templates: the built-in text of every default step, per channel, in the tone of
//! PRODUCT.md (a soft check-in, a value-add, an incentive, an honest last chance, a long-game
//! note, a re-permission question), the tokens they may use, and the checks a business's own
//! template must pass before it is saved.
//!
//! Tokens are written `{{name}}` or `{{name|fallback}}`; a value that is missing takes the
//! fallback, or the token's own default ("Hi {{first_name}}" reads "Hi there"). In HTML parts
//! every value is escaped.

use std::fmt::Write as _;

use crate::domain::channel::Channel;
use crate::domain::sms;

/// The tokens a template may use.
pub const TOKENS: [&str; 8] = [
    "first_name",
    "business_name",
    "last_service",
    "staff",
    "time_since_last_visit",
    "offer",
    "rebook_link",
    "opt_out_link",
];

/// The most SMS segments a message may take.
pub const MAX_SMS_SEGMENTS: usize = 2;

/// What a message says about its client and business.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub first_name: Option<String>,
    pub business_name: String,
    pub last_service: Option<String>,
    pub staff: Option<String>,
    /// Days since the client's last visit.
    pub days_since_last_visit: Option<i32>,
    pub offer: Option<String>,
    pub rebook_link: String,
    pub opt_out_link: String,
}

impl Values {
    fn get(&self, token: &str) -> Option<String> {
        match token {
            "first_name" => self.first_name.clone(),
            "business_name" => Some(self.business_name.clone()),
            "last_service" => self.last_service.clone(),
            "staff" => self.staff.clone(),
            "time_since_last_visit" => self.days_since_last_visit.map(time_since),
            "offer" => self.offer.clone(),
            "rebook_link" => Some(self.rebook_link.clone()),
            "opt_out_link" => Some(self.opt_out_link.clone()),
            _ => None,
        }
    }
}

/// What a token reads when its value is missing and the template gives no fallback.
fn default_of(token: &str) -> &'static str {
    match token {
        "first_name" => "there",
        "last_service" => "visit",
        "staff" => "the team",
        "time_since_last_visit" => "a while",
        _ => "",
    }
}

/// A span of days in words a person would use: "3 weeks", "about 2 months", "over a year".
pub fn time_since(days: i32) -> String {
    match days {
        i32::MIN..=1 => "a day".into(),
        2..=13 => format!("{days} days"),
        14..=48 => format!("{} weeks", (days + 3) / 7),
        49..=334 => {
            let months = (f64::from(days) / 30.44).round() as i32;
            format!("about {months} months")
        }
        335..=395 => "about a year".into(),
        396..=700 => "over a year".into(),
        _ => format!("about {} years", (f64::from(days) / 365.25).round() as i32),
    }
}

/// A template for one step on one channel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Email only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub text: String,
    /// Email only: the HTML part (the text part is used, paragraph by paragraph, when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("{part} uses {{{{{token}}}}}, which is not a token; the tokens are {}", TOKENS.join(", "))]
    UnknownToken { part: &'static str, token: String },
    #[error("{part} has a {{{{ without its }}}}; write tokens as {{{{first_name}}}}")]
    Unclosed { part: &'static str },
    #[error("an email needs a subject")]
    NoSubject,
    #[error("{part} has no {{{{opt_out_link}}}}; every email must let the client unsubscribe")]
    NoOptOutLink { part: &'static str },
    #[error(
        "the SMS has neither opt-out wording (\"Reply STOP to opt out\") nor {{{{opt_out_link}}}}"
    )]
    NoSmsOptOut,
    #[error(
        "the SMS takes {segments} segments with typical values; keep it within {MAX_SMS_SEGMENTS} (shorter, or without emoji and curly quotes)"
    )]
    TooLong { segments: usize },
    #[error("an SMS has no subject or HTML part")]
    SmsWithEmailParts,
}

/// One piece of a template: literal text or a token with its fallback.
enum Piece<'a> {
    Text(&'a str),
    Token(&'a str, Option<&'a str>),
}

fn parse<'a>(part: &'static str, source: &'a str) -> Result<Vec<Piece<'a>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("{{") {
        pieces.push(Piece::Text(&rest[..start]));
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::Unclosed { part })?;
        let inner = after[..end].trim();
        let (token, fallback) = match inner.split_once('|') {
            Some((token, fallback)) => (token.trim(), Some(fallback)),
            None => (inner, None),
        };
        if !TOKENS.contains(&token) {
            return Err(TemplateError::UnknownToken {
                part,
                token: token.to_owned(),
            });
        }
        pieces.push(Piece::Token(token, fallback));
        rest = &after[end + 2..];
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

fn render_part(
    part: &'static str,
    source: &str,
    values: &Values,
    escape: bool,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(source.len() + 64);
    for piece in parse(part, source)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Token(token, fallback) => {
                let value = value_of(values, token, fallback);
                if !escape {
                    out.push_str(&value);
                } else if LINK_TOKENS.contains(&token) {
                    html_escape(&mut out, &value);
                } else {
                    inert_html(&mut out, &value);
                }
            }
        }
    }
    Ok(out)
}

/// The tokens whose values are winback's own signed links: the only values that may be live
/// links in an HTML part.
const LINK_TOKENS: [&str; 2] = ["rebook_link", "opt_out_link"];

/// A token's value, its fallback when it has none, or its default.
fn value_of(values: &Values, token: &str, fallback: Option<&str>) -> String {
    values
        .get(token)
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| fallback.unwrap_or(default_of(token)).to_owned())
}

/// A client's or booking tool's value in HTML: escaped, and with an invisible word joiner
/// after each `.`, `:`, `/` and `@`, so a value that looks like a web or email address
/// (a name such as `https://evil.example/login`) is shown as text and no mail client turns it
/// into a live link.
fn inert_html(out: &mut String, text: &str) {
    for c in text.chars() {
        let mut one = [0u8; 4];
        html_escape(out, c.encode_utf8(&mut one));
        if matches!(c, '.' | ':' | '/' | '@') {
            out.push_str("&#8288;");
        }
    }
}

fn html_escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// The text part as simple HTML, built from the template's pieces: one paragraph per
/// blank-line-separated block. Web addresses in the template's own words and winback's links
/// are live; every other value is text ([`inert_html`]), even when it looks like an address.
fn paragraphs(source: &str, values: &Values) -> Result<String, TemplateError> {
    let mut html = String::from(
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\"><p>",
    );
    for piece in parse("text", source)? {
        match piece {
            Piece::Text(text) => {
                for (b, block) in text.split("\n\n").enumerate() {
                    if b > 0 {
                        html.push_str("</p><p>");
                    }
                    for (l, line) in block.split('\n').enumerate() {
                        if l > 0 {
                            html.push_str("<br>");
                        }
                        for (w, word) in line.split(' ').enumerate() {
                            if w > 0 {
                                html.push(' ');
                            }
                            if word.starts_with("https://") || word.starts_with("http://") {
                                live_link(&mut html, word);
                            } else {
                                html_escape(&mut html, word);
                            }
                        }
                    }
                }
            }
            Piece::Token(token, fallback) => {
                let value = value_of(values, token, fallback);
                if LINK_TOKENS.contains(&token) {
                    live_link(&mut html, &value);
                } else {
                    inert_html(&mut html, &value);
                }
            }
        }
    }
    html.push_str("</p></body></html>");
    Ok(html.replace("<p></p>", ""))
}

/// A live link showing its own address.
fn live_link(html: &mut String, url: &str) {
    let mut href = String::new();
    html_escape(&mut href, url);
    let _ = write!(html, "<a href=\"{href}\">{href}</a>");
}

impl Template {
    /// Checks a template before it is saved.
    pub fn validate(&self, channel: Channel) -> Result<(), TemplateError> {
        parse("text", &self.text)?;
        match channel {
            Channel::Email => {
                let subject = self.subject.as_deref().unwrap_or_default();
                if subject.trim().is_empty() {
                    return Err(TemplateError::NoSubject);
                }
                parse("subject", subject)?;
                if !self.text.contains("opt_out_link") {
                    return Err(TemplateError::NoOptOutLink { part: "text" });
                }
                if let Some(html) = &self.html {
                    parse("html", html)?;
                    if !html.contains("opt_out_link") {
                        return Err(TemplateError::NoOptOutLink { part: "html" });
                    }
                }
            }
            Channel::Sms => {
                if self.subject.is_some() || self.html.is_some() {
                    return Err(TemplateError::SmsWithEmailParts);
                }
                let upper = self.text.to_uppercase();
                if !upper.contains("STOP") && !self.text.contains("opt_out_link") {
                    return Err(TemplateError::NoSmsOptOut);
                }
                let rendered = render_part("text", &self.text, &Values::typical(), false)?;
                let segments = sms::segments(&rendered).segments;
                if segments > MAX_SMS_SEGMENTS {
                    return Err(TemplateError::TooLong { segments });
                }
            }
        }
        Ok(())
    }

    /// The message for `values`, as a text of at most [`MAX_SMS_SEGMENTS`] segments. When the
    /// real values make it longer (a booking tool's 200-character staff or service name, an
    /// emoji that forces UCS-2), it is shortened by a rule: the optional values (staff, last
    /// service, time since the last visit) give way to their fallbacks and the first name is
    /// kept to 20 characters. If it is still too long, [`TemplateError::TooLong`]: it is never
    /// sent at more.
    pub fn render_sms(&self, values: &Values) -> Result<Rendered, TemplateError> {
        let rendered = self.render(values)?;
        if sms::segments(&rendered.text).segments <= MAX_SMS_SEGMENTS {
            return Ok(rendered);
        }
        let short = Values {
            first_name: values
                .first_name
                .as_ref()
                .map(|name| name.chars().take(20).collect()),
            last_service: None,
            staff: None,
            days_since_last_visit: None,
            ..values.clone()
        };
        let rendered = self.render(&short)?;
        match sms::segments(&rendered.text).segments {
            segments if segments > MAX_SMS_SEGMENTS => Err(TemplateError::TooLong { segments }),
            _ => Ok(rendered),
        }
    }

    /// The message for `values`.
    pub fn render(&self, values: &Values) -> Result<Rendered, TemplateError> {
        let text = render_part("text", &self.text, values, false)?;
        let html = match &self.html {
            Some(html) => Some(render_part("html", html, values, true)?),
            None if self.subject.is_some() => Some(paragraphs(&self.text, values)?),
            None => None,
        };
        Ok(Rendered {
            subject: self
                .subject
                .as_deref()
                .map(|s| render_part("subject", s, values, false))
                .transpose()?,
            text,
            html,
        })
    }
}

impl Values {
    /// Values as long as real ones usually are: what SMS length checks render with.
    pub fn typical() -> Values {
        Values {
            first_name: Some("Alexandra".into()),
            business_name: "Maple Street Hair & Beauty".into(),
            last_service: Some("cut and blow-dry".into()),
            staff: Some("Christina".into()),
            days_since_last_visit: Some(75),
            offer: Some("a complimentary treatment add-on".into()),
            rebook_link: "https://x7k2p9.execute-api.eu-west-2.amazonaws.com/r/k1.AQECAAJk7Rl6gAAABXNhbG9uA2MtMRMyMDI2LTExLTMwfmhhaXI4v1J0".into(),
            opt_out_link: "https://x7k2p9.execute-api.eu-west-2.amazonaws.com/u/k1.AQICAAJk7Rl6gAAABXNhbG9uA2MtMRMyMDI2LTExLTMwfmhhaXI4v1J0".into(),
        }
    }
}

/// The built-in template of a step on a channel, if there is one by that key.
pub fn built_in(key: &str, channel: Channel) -> Option<Template> {
    let email = |subject: &str, body: &str| Template {
        subject: Some(subject.to_owned()),
        text: format!(
            "{body}\n\nBook online: {{{{rebook_link}}}}\n\n{{{{business_name}}}}\nNot interested any more? Unsubscribe: {{{{opt_out_link}}}}"
        ),
        html: None,
    };
    let sms = |body: &str| Template {
        subject: None,
        text: format!("{body} {{{{rebook_link}}}} Reply STOP to opt out"),
        html: None,
    };
    Some(match (key, channel) {
        ("soft_check_in", Channel::Email) => email(
            "Time for your next {{last_service|visit}}, {{first_name}}?",
            "Hi {{first_name}},\n\nIt has been {{time_since_last_visit}} since your {{last_service}} with {{staff}}. If you would like to keep it looking its best, there are times free over the next couple of weeks.",
        ),
        ("soft_check_in", Channel::Sms) => sms(
            "Hi {{first_name}}, it's {{business_name}}. It's been {{time_since_last_visit}} since your {{last_service}} - want to book your next one?",
        ),
        ("value_add", Channel::Email) => email(
            "A tip from {{staff}} at {{business_name}}",
            "Hi {{first_name}},\n\n{{staff}} put together a few ways to make your {{last_service}} last longer between visits. When you are ready for the next one, it takes a minute to book.",
        ),
        ("value_add", Channel::Sms) => sms(
            "Hi {{first_name}}, {{staff}} at {{business_name}} has times free this month for your next {{last_service}}.",
        ),
        ("incentive", Channel::Email) => email(
            "Something for your next visit, {{first_name}}",
            "Hi {{first_name}},\n\nWe would love to see you again: book in the next two weeks and we will include {{offer|a little extra}} with your {{last_service}}.",
        ),
        ("incentive", Channel::Sms) => sms(
            "Hi {{first_name}}, book with {{business_name}} in the next 2 weeks and get {{offer|a little extra}}.",
        ),
        ("last_chance", Channel::Email) => email(
            "Should we keep your details, {{first_name}}?",
            "Hi {{first_name}},\n\nWe have not seen you for {{time_since_last_visit}} and do not want to crowd your inbox. If you would like to come back, your next {{last_service}} is one click away; otherwise this is the last reminder we will send for now.",
        ),
        ("last_chance", Channel::Sms) => sms(
            "Hi {{first_name}}, last note from {{business_name}} for now - your next {{last_service}} is one tap away.",
        ),
        ("long_game", Channel::Email) => email(
            "Hello from {{business_name}}",
            "Hi {{first_name}},\n\nJust a short hello from {{business_name}}. Whenever you are ready for your next {{last_service}}, we would be glad to see you.",
        ),
        ("long_game", Channel::Sms) => sms(
            "Hi {{first_name}}, a short hello from {{business_name}} - we'd be glad to see you whenever suits.",
        ),
        ("re_permission", Channel::Email) => email(
            "Would you still like to hear from {{business_name}}?",
            "Hi {{first_name}},\n\nIt has been {{time_since_last_visit}} since your last visit. If you would still like the occasional note from us, you do not need to do anything; if not, unsubscribe below and we will not write again.",
        ),
        ("re_permission", Channel::Sms) => Template {
            subject: None,
            text: "Hi {{first_name}}, it's {{business_name}}. Still happy to hear from us now and then? Nothing to do if so. Reply STOP to opt out".into(),
            html: None,
        },
        _ => return None,
    })
}

/// The keys of the built-in templates.
pub const BUILT_IN: [&str; 6] = [
    "soft_check_in",
    "value_add",
    "incentive",
    "last_chance",
    "long_game",
    "re_permission",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_template_is_valid_on_both_channels() {
        for key in BUILT_IN {
            for channel in [Channel::Email, Channel::Sms] {
                let template = built_in(key, channel).unwrap();
                assert_eq!(template.validate(channel), Ok(()), "{key} {channel:?}");
            }
        }
        for sequence in crate::domain::sequence::Sequence::defaults() {
            for step in sequence.steps {
                assert!(
                    built_in(&step.template, Channel::Email).is_some(),
                    "{}",
                    step.template
                );
            }
        }
    }

    #[test]
    fn built_in_sms_fit_in_one_or_two_gsm_segments_with_typical_values() {
        for key in BUILT_IN {
            let rendered = built_in(key, Channel::Sms)
                .unwrap()
                .render(&Values::typical())
                .unwrap();
            let cost = sms::segments(&rendered.text);
            assert_eq!(
                cost.encoding,
                sms::Encoding::Gsm7,
                "{key}: {}",
                rendered.text
            );
            assert!(cost.segments <= 2, "{key}: {cost:?}");
        }
    }

    #[test]
    fn missing_values_degrade_gracefully() {
        let values = Values {
            business_name: "Salon".into(),
            rebook_link: "https://r".into(),
            opt_out_link: "https://u".into(),
            ..Values::default()
        };
        let rendered = built_in("soft_check_in", Channel::Email)
            .unwrap()
            .render(&values)
            .unwrap();
        assert!(rendered.text.starts_with("Hi there,"), "{}", rendered.text);
        assert_eq!(
            rendered.subject.as_deref(),
            Some("Time for your next visit, there?")
        );
        assert!(
            rendered.text.contains("since your visit with the team"),
            "{}",
            rendered.text
        );
        let incentive = built_in("incentive", Channel::Sms)
            .unwrap()
            .render(&values)
            .unwrap();
        assert!(
            incentive.text.contains("get a little extra"),
            "{}",
            incentive.text
        );
    }

    #[test]
    fn a_business_template_with_an_unknown_token_or_no_opt_out_is_refused() {
        let email = Template {
            subject: Some("Hi {{first_name}}".into()),
            text: "Hi {{frist_name}} {{opt_out_link}}".into(),
            html: None,
        };
        assert!(matches!(
            email.validate(Channel::Email),
            Err(TemplateError::UnknownToken { ref token, .. }) if token == "frist_name"
        ));
        let no_link = Template {
            subject: Some("Hi".into()),
            text: "Come back soon {{rebook_link}}".into(),
            html: None,
        };
        assert_eq!(
            no_link.validate(Channel::Email),
            Err(TemplateError::NoOptOutLink { part: "text" })
        );
        let sms = Template {
            subject: None,
            text: "Come back soon {{rebook_link}}".into(),
            html: None,
        };
        assert_eq!(sms.validate(Channel::Sms), Err(TemplateError::NoSmsOptOut));
        let long = Template {
            subject: None,
            text: format!("{} 😀 Reply STOP to opt out", "Hello ".repeat(40)),
            html: None,
        };
        assert!(matches!(
            long.validate(Channel::Sms),
            Err(TemplateError::TooLong { .. })
        ));
        let unclosed = Template {
            subject: None,
            text: "Hi {{first_name Reply STOP".into(),
            html: None,
        };
        assert_eq!(
            unclosed.validate(Channel::Sms),
            Err(TemplateError::Unclosed { part: "text" })
        );
    }

    #[test]
    fn html_parts_escape_values_and_keep_links_live() {
        let values = Values {
            first_name: Some("<script>".into()),
            business_name: "Salon & Spa".into(),
            rebook_link: "https://example.com/r/abc".into(),
            opt_out_link: "https://example.com/u/abc".into(),
            ..Values::default()
        };
        let rendered = built_in("long_game", Channel::Email)
            .unwrap()
            .render(&values)
            .unwrap();
        let html = rendered.html.unwrap();
        assert!(
            !html.contains("<script>") && html.contains("&lt;script&gt;"),
            "{html}"
        );
        assert!(html.contains("Salon &amp; Spa"));
        assert!(
            html.contains("<a href=\"https://example.com/u/abc\">"),
            "{html}"
        );
        // The text part keeps the values as they are.
        assert!(rendered.text.contains("Hi <script>,"));
    }

    #[test]
    fn a_value_that_looks_like_an_address_is_never_a_live_link_in_html() {
        let values = Values {
            first_name: Some("https://evil.example/login".into()),
            staff: Some("bob@evil.example".into()),
            business_name: "Salon".into(),
            rebook_link: "https://links.salon.example/r/abc".into(),
            opt_out_link: "https://links.salon.example/u/abc".into(),
            ..Values::default()
        };
        let own_html = Template {
            subject: Some("Hi".into()),
            text: "Hi {{first_name}} {{opt_out_link}}".into(),
            html: Some(
                "<p>Hi {{first_name}}, {{staff}} misses you. <a href=\"{{opt_out_link}}\">Stop</a></p>"
                    .into(),
            ),
        };
        for template in [
            built_in("soft_check_in", Channel::Email).unwrap(),
            built_in("value_add", Channel::Email).unwrap(),
            own_html,
        ] {
            let html = template.render(&values).unwrap().html.unwrap();
            assert!(!html.contains("https://evil.example"), "{html}");
            assert!(!html.contains("evil.example/login"), "{html}");
            assert!(
                html.contains("https:&#8288;/&#8288;/&#8288;evil.&#8288;example"),
                "{html}"
            );
            assert!(
                html.contains("<a href=\"https://links.salon.example/u/abc\">")
                    || html.contains("href=\"https://links.salon.example/u/abc\""),
                "{html}"
            );
        }
    }

    #[test]
    fn an_sms_too_long_with_the_real_values_is_shortened_never_sent_long() {
        let sms = built_in("value_add", Channel::Sms).unwrap();
        let usual = Values {
            first_name: Some("Ana".into()),
            business_name: "Maple Street".into(),
            last_service: Some("Cut".into()),
            staff: Some("Maya".into()),
            days_since_last_visit: Some(40),
            rebook_link: "https://l.example/r/k1.abc".into(),
            opt_out_link: "https://l.example/u/k1.abc".into(),
            ..Values::default()
        };
        assert_eq!(
            sms.render_sms(&usual).unwrap(),
            sms.render(&usual).unwrap(),
            "usual values are sent as they are"
        );
        let long = Values {
            first_name: Some("Anastasia-Maximiliana 🌸 Lopez".into()),
            last_service: Some("🌸 ".repeat(100)),
            staff: Some("Maya 💇 ".repeat(30)),
            ..usual.clone()
        };
        assert!(sms::segments(&sms.render(&long).unwrap().text).segments > MAX_SMS_SEGMENTS);
        let sent = sms.render_sms(&long).unwrap();
        assert!(
            sms::segments(&sent.text).segments <= MAX_SMS_SEGMENTS,
            "{}",
            sent.text
        );
        assert!(!sent.text.contains("Maya"), "{}", sent.text);
        // A business name no rule can shorten: refused, not sent at ten segments.
        let huge = Values {
            business_name: "Maple Street Hair and Beauty Studio 🌸 ".repeat(8),
            ..long
        };
        assert!(matches!(
            sms.render_sms(&huge),
            Err(TemplateError::TooLong { .. })
        ));
    }

    #[test]
    fn time_since_reads_as_a_person_would_say_it() {
        assert_eq!(time_since(1), "a day");
        assert_eq!(time_since(10), "10 days");
        assert_eq!(time_since(21), "3 weeks");
        assert_eq!(time_since(45), "6 weeks");
        assert_eq!(time_since(75), "about 2 months");
        assert_eq!(time_since(120), "about 4 months");
        assert_eq!(time_since(365), "about a year");
        assert_eq!(time_since(500), "over a year");
        assert_eq!(time_since(1100), "about 3 years");
    }
}
