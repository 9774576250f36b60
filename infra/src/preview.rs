//! `winback preview`: a step's message as a client would get it, rendered from the business's
//! own template or the built-in one, for a client of the local store or with typical values.

use shared::ports::{ClientStore, TenantStore};
use std::path::Path;

use shared::app::deliver::message_values;
use shared::domain::channel::Channel;
use shared::domain::config::BusinessConfig;
use shared::domain::day::Day;
use shared::domain::ids::{ClientId, TenantId};
use shared::domain::sms::{self, Encoding};
use shared::domain::template::{Rendered, TemplateError, Values};

use crate::stores::open_local;

/// What to render.
#[derive(Debug, Clone)]
pub struct PreviewRequest {
    pub template: String,
    pub channel: Channel,
    /// An offer of the settings to include, by key.
    pub offer: Option<String>,
}

/// Who to render it for: typical values with some settings, or a client of the local store.
#[derive(Debug, Clone)]
pub enum Recipient<'a> {
    Typical(Box<BusinessConfig>),
    Client {
        data: &'a Path,
        tenant: &'a str,
        client: &'a str,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(
        "{0:?} is not a template any step uses; the names are {1} (or set your own under outreach.templates)"
    )]
    UnknownTemplate(String, String),
    #[error("there is no offer {0:?} in the settings; the offers are {1}")]
    UnknownOffer(String, String),
    #[error("there is no tenant {0:?} in {1}; create one with `winback tenant create`")]
    UnknownTenant(String, String),
    #[error("there is no client {0:?} in tenant {1:?}")]
    UnknownClient(String, String),
    #[error("{0} is not a valid id: {1}")]
    BadId(&'static str, String),
    #[error(transparent)]
    Open(#[from] crate::stores::OpenError),
    #[error(transparent)]
    Store(#[from] shared::ports::StoreError),
    #[error("the template does not render: {0}")]
    Template(#[from] TemplateError),
}

/// A rendered message, with its SMS length when it is one.
#[derive(Debug, Clone)]
pub struct Preview {
    pub message: Rendered,
    pub sms: Option<sms::Segments>,
}

pub async fn preview(
    request: &PreviewRequest,
    recipient: Recipient<'_>,
) -> Result<Preview, PreviewError> {
    let typical = Values::typical();
    let (config, values) = match recipient {
        Recipient::Typical(config) => (*config, typical),
        Recipient::Client {
            data,
            tenant,
            client,
        } => {
            let store = open_local(data)?;
            let tenant_id = TenantId::parse(tenant)
                .map_err(|e| PreviewError::BadId("the tenant", e.to_string()))?;
            let client_id = ClientId::parse(client)
                .map_err(|e| PreviewError::BadId("the client", e.to_string()))?;
            let tenant = store.tenant(&tenant_id).await?.ok_or_else(|| {
                PreviewError::UnknownTenant(tenant.to_owned(), data.display().to_string())
            })?;
            let record = store.client(&tenant.id, &client_id).await?.ok_or_else(|| {
                PreviewError::UnknownClient(client.to_owned(), tenant.id.to_string())
            })?;
            // The category of their sequence, else the one they visited for last.
            let category = record
                .outreach
                .active
                .as_ref()
                .map(|a| a.category.clone())
                .or_else(|| {
                    record
                        .cadences
                        .iter()
                        .max_by_key(|c| c.cadence.last_visit)
                        .map(|c| c.cadence.category.clone())
                });
            let zone = record.zone(&tenant.config.timezone);
            let today = Day::from(zone.to_datetime(jiff::Timestamp::now()).date());
            let values = match &category {
                Some(category) => message_values(
                    &tenant,
                    &record,
                    category,
                    today,
                    None,
                    typical.rebook_link.clone(),
                    typical.opt_out_link.clone(),
                ),
                None => Values {
                    business_name: tenant.name.clone(),
                    first_name: record
                        .profile
                        .as_ref()
                        .and_then(|p| p.first_name())
                        .map(str::to_owned),
                    last_service: None,
                    staff: None,
                    days_since_last_visit: None,
                    offer: None,
                    ..typical
                },
            };
            (tenant.config, values)
        }
    };
    let outreach = &config.outreach;
    let names = outreach.template_names();
    if !names.contains(request.template.as_str()) {
        return Err(PreviewError::UnknownTemplate(
            request.template.clone(),
            names.into_iter().collect::<Vec<_>>().join(", "),
        ));
    }
    let offer = match &request.offer {
        Some(key) => Some(
            outreach
                .offers
                .get(key)
                .ok_or_else(|| {
                    PreviewError::UnknownOffer(
                        key.clone(),
                        outreach
                            .offers
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                })?
                .text
                .clone(),
        ),
        None => None,
    };
    let values = Values { offer, ..values };
    let message = outreach
        .template(&request.template, request.channel)
        .render(&values)?;
    let sms = (request.channel == Channel::Sms).then(|| sms::segments(&message.text));
    Ok(Preview { message, sms })
}

/// The preview for people.
pub fn write_preview(
    preview: &Preview,
    html: bool,
    mut out: impl std::io::Write,
) -> std::io::Result<()> {
    let message = &preview.message;
    if let Some(subject) = &message.subject {
        writeln!(out, "Subject: {subject}\n")?;
    }
    writeln!(out, "{}", message.text)?;
    if let Some(segments) = &preview.sms {
        writeln!(
            out,
            "\n({} characters, {} segment{} as {})",
            message.text.chars().count(),
            segments.segments,
            if segments.segments == 1 { "" } else { "s" },
            match segments.encoding {
                Encoding::Gsm7 => "GSM-7",
                Encoding::Ucs2 => "UCS-2 (a character outside GSM-7 makes every segment shorter)",
            }
        )?;
    }
    if html && let Some(part) = &message.html {
        writeln!(out, "\n--- HTML part ---\n{part}")?;
    }
    Ok(())
}
