//! Where a rebook link lands: the business's booking page, with the client and the service
//! filled in where its URL template has room for them, and UTM parameters so the booking
//! tool's own analytics see where the visit came from.
//!
//! A template is an `https` URL that may hold `{client_id}`, `{service}` and `{category}`
//! anywhere (path or query); they are filled in percent-encoded, and a placeholder with no value
//! is dropped with its query parameter.

use url::Url;

/// What the page may be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefill<'a> {
    pub client_id: &'a str,
    pub service: Option<&'a str>,
    pub category: &'a str,
    /// The sequence, as the UTM campaign.
    pub campaign: &'a str,
    /// The step, as the UTM content.
    pub step: u16,
    /// `email` or `sms`, as the UTM medium.
    pub medium: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingUrlError {
    #[error(
        "the booking page {0:?} is not a web address; give the full address starting with https://"
    )]
    NotAUrl(String),
    #[error("the booking page must use https (clients open it on their phones); {0:?} does not")]
    NotHttps(String),
}

const PLACEHOLDERS: [&str; 3] = ["{client_id}", "{service}", "{category}"];

/// Checks a booking-page template when the business saves it.
pub fn validate(template: &str) -> Result<(), BookingUrlError> {
    let probe = PLACEHOLDERS
        .iter()
        .fold(template.to_owned(), |t, p| t.replace(p, "x"));
    let url = Url::parse(probe.trim()).map_err(|_| BookingUrlError::NotAUrl(template.into()))?;
    if url.scheme() != "https" {
        return Err(BookingUrlError::NotHttps(template.into()));
    }
    Ok(())
}

/// The address a rebook link redirects to.
pub fn rebook_url(template: &str, prefill: &Prefill<'_>) -> Result<Url, BookingUrlError> {
    validate(template)?;
    let encode =
        |value: &str| url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
    // Query parameters whose value is a placeholder without a value go; the rest are filled.
    let (base, query) = match template.trim().split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (template.trim(), None),
    };
    let value_of = |placeholder: &str| match placeholder {
        "{client_id}" => Some(prefill.client_id),
        "{service}" => prefill.service,
        "{category}" => Some(prefill.category),
        _ => None,
    };
    let fill = |text: &str| -> Option<String> {
        let mut out = text.to_owned();
        for placeholder in PLACEHOLDERS {
            if out.contains(placeholder) {
                out = out.replace(placeholder, &encode(value_of(placeholder)?));
            }
        }
        Some(out)
    };
    let base = fill(base).unwrap_or_else(|| {
        // A path placeholder without a value: leave that segment empty rather than fail.
        PLACEHOLDERS
            .iter()
            .fold(base.to_owned(), |t, p| t.replace(p, ""))
    });
    let mut url = Url::parse(&base).map_err(|_| BookingUrlError::NotAUrl(template.into()))?;
    let kept: Vec<String> = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|pair| !pair.is_empty())
        .filter_map(fill)
        .collect();
    let mut query = kept.join("&");
    {
        let utm = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("utm_source", "winback")
            .append_pair("utm_medium", prefill.medium)
            .append_pair("utm_campaign", prefill.campaign)
            .append_pair("utm_content", &format!("step-{}", prefill.step + 1))
            .finish();
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&utm);
    }
    url.set_query(Some(&query));
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefill(service: Option<&'static str>) -> Prefill<'static> {
        Prefill {
            client_id: "c 1/ä",
            service,
            category: "hair",
            campaign: "medium tier 30/60/90",
            step: 0,
            medium: "email",
        }
    }

    #[test]
    fn the_client_and_service_are_filled_in_where_the_template_allows_with_utm_parameters() {
        let url = rebook_url(
            "https://book.example.com/salon?customer={client_id}&service={service}",
            &prefill(Some("Cut & blow-dry")),
        )
        .unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(
            pairs.contains(&("customer".into(), "c 1/ä".into())),
            "{url}"
        );
        assert!(pairs.contains(&("service".into(), "Cut & blow-dry".into())));
        assert!(pairs.contains(&("utm_source".into(), "winback".into())));
        assert!(pairs.contains(&("utm_campaign".into(), "medium tier 30/60/90".into())));
        assert!(pairs.contains(&("utm_content".into(), "step-1".into())));
        assert_eq!(url.host_str(), Some("book.example.com"));
    }

    #[test]
    fn a_placeholder_without_a_value_is_dropped_and_a_plain_page_gets_utm_only() {
        let url = rebook_url(
            "https://book.example.com/?customer={client_id}&service={service}",
            &prefill(None),
        )
        .unwrap();
        assert!(!url.as_str().contains("service="), "{url}");
        let plain = rebook_url("https://book.example.com/salon", &prefill(None)).unwrap();
        assert_eq!(plain.path(), "/salon");
        assert!(plain.query().unwrap().starts_with("utm_source=winback"));
    }

    #[test]
    fn only_https_booking_pages_are_accepted() {
        assert!(matches!(
            validate("http://book.example.com/"),
            Err(BookingUrlError::NotHttps(_))
        ));
        assert!(matches!(
            validate("book.example.com"),
            Err(BookingUrlError::NotAUrl(_))
        ));
        assert_eq!(validate("https://book.example.com/{client_id}"), Ok(()));
    }
}
