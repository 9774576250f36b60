//! Which tenant a request acts for, from its credential: an API key (`Authorization: Bearer`)
//! or a Standard Webhooks signature (with `?tenant=` naming the tenant whose secret signed it).
//! A request is bound to exactly one tenant, and everything it reads or writes is keyed by it.

use axum::http::HeaderMap;

use crate::app::access::AccessError;
use crate::domain::ids::TenantId;
use crate::domain::tenant::{ApiKeyHash, Tenant};
use crate::domain::webhook_signature::{self, SignatureError};
use crate::http::Api;
use crate::http::problem::Problem;
use crate::ports::StoreError;

/// An authenticated request.
pub struct Caller {
    pub tenant: Tenant,
    /// The `webhook-id` of a signed delivery, to remember once it is processed.
    pub webhook_id: Option<String>,
    /// A signed delivery whose `webhook-id` was already processed: answer, do nothing.
    pub already_processed: bool,
}

const KEY_FIX: &str = "Send the header Authorization: Bearer <API key>; create a key with `winback tenant key create TENANT`.";

pub async fn authenticate(
    api: &Api,
    headers: &HeaderMap,
    tenant_param: Option<&str>,
    body: &[u8],
) -> Result<Caller, Problem> {
    let named = tenant_param
        .map(|t| {
            TenantId::parse(t).map_err(|e| {
                Problem::unauthenticated(format!("?tenant= is not valid: {e}"), KEY_FIX)
            })
        })
        .transpose()?;
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or_default();
        let Some(key) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
        else {
            return Err(Problem::unauthenticated(
                "the Authorization header is not a Bearer token",
                KEY_FIX,
            ));
        };
        let tenant = api
            .access
            .tenant_for_key(&ApiKeyHash::of(key))
            .await
            .map_err(|error| match error {
                AccessError::TenantGone(_) => Problem::forbidden(
                    "this API key's tenant no longer exists",
                    "Create a new tenant and key.",
                ),
                AccessError::Store(error) => store_problem(error),
            })?
            .ok_or_else(|| Problem::unauthenticated("the API key is not valid", KEY_FIX))?;
        if let Some(named) = named
            && named != tenant.id
        {
            return Err(Problem::forbidden(
                format!("this API key belongs to another tenant than {named}"),
                "Use the key of the tenant named in ?tenant=, or leave ?tenant= out.",
            ));
        }
        return Ok(Caller {
            tenant,
            webhook_id: None,
            already_processed: false,
        });
    }
    if let Some(signature) = headers.get("webhook-signature") {
        let Some(tenant_id) = named else {
            return Err(Problem::unauthenticated(
                "a signed webhook delivery must name its tenant",
                "Add ?tenant=TENANT_ID to the webhook URL.",
            ));
        };
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let tenant = api
            .access
            .tenant(&tenant_id)
            .await
            .map_err(store_problem)?
            .ok_or_else(|| {
                Problem::unauthenticated(
                    "the webhook signature is not valid for this tenant",
                    "Check ?tenant= and the signing secret.",
                )
            })?;
        let id = header("webhook-id");
        webhook_signature::verify(
            &tenant.webhook_secrets,
            id,
            header("webhook-timestamp"),
            signature.to_str().unwrap_or_default(),
            body,
            api.clock.now(),
        )
        .map_err(signature_problem)?;
        let already_processed = api
            .access
            .already_processed(&tenant.id, id)
            .await
            .map_err(store_problem)?;
        return Ok(Caller {
            tenant,
            webhook_id: Some(id.to_owned()),
            already_processed,
        });
    }
    Err(Problem::unauthenticated(
        "the request has no credential",
        KEY_FIX,
    ))
}

fn signature_problem(error: SignatureError) -> Problem {
    let fix = match error {
        SignatureError::OutsideTolerance => {
            "Sign each delivery at send time with the current Unix time."
        }
        SignatureError::NoSecret => {
            "Create a signing secret with `winback tenant webhook-secret create TENANT`."
        }
        _ => {
            "Sign `{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256 and the tenant's secret, as Standard Webhooks describes."
        }
    };
    Problem::unauthenticated(error.to_string(), fix)
}

/// The problem for a store error: retryable ones are 503 (safe to repeat), others 500.
pub fn store_problem(error: StoreError) -> Problem {
    if error.is_retryable() {
        tracing::warn!(error = %error, "store unavailable");
        Problem::unavailable()
    } else {
        tracing::error!(error = %error, "store failed");
        Problem::internal()
    }
}
