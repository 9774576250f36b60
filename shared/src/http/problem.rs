//! RFC 9457 problem details: every error the API returns, with what went wrong, where (a JSON
//! pointer into the request body for each bad field) and how to fix it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One bad field of a request body.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldError {
    /// RFC 6901 JSON pointer into the request body: `/bookings/2/services/0/price`.
    pub pointer: String,
    pub detail: String,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    pub fix: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    pub www_authenticate: bool,
}

impl Problem {
    fn new(status: StatusCode, slug: &str, title: &'static str, detail: String, fix: &str) -> Self {
        Problem {
            kind: format!("urn:winback:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail,
            fix: fix.to_owned(),
            errors: Vec::new(),
            www_authenticate: false,
        }
    }

    pub fn malformed(detail: impl std::fmt::Display) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            "The request body is not valid JSON",
            detail.to_string(),
            "Send one JSON document, UTF-8 encoded, as described in the API reference.",
        )
    }

    pub fn unauthenticated(detail: impl Into<String>, fix: &str) -> Problem {
        let mut problem = Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "The request could not be authenticated",
            detail.into(),
            fix,
        );
        problem.www_authenticate = true;
        problem
    }

    pub fn forbidden(detail: impl Into<String>, fix: &str) -> Problem {
        Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The credential may not do this",
            detail.into(),
            fix,
        )
    }

    pub fn not_found(detail: impl Into<String>, fix: &str) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            detail.into(),
            fix,
        )
    }

    pub fn method_not_allowed(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed on this route",
            detail.into(),
            "See the API reference for the methods each route takes.",
        )
    }

    pub fn conflict(detail: impl Into<String>, fix: &str) -> Problem {
        Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            "The request conflicts with what is stored",
            detail.into(),
            fix,
        )
    }

    pub fn too_large(limit: usize) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "The request body is too large",
            format!("the body is over {limit} bytes"),
            "Send a smaller body: a batch can be split over several requests.",
        )
    }

    pub fn unsupported_media_type(got: Option<&str>) -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "The request body must be JSON",
            match got {
                Some(kind) => format!("the Content-Type is {kind:?}"),
                None => "the request has no Content-Type".to_owned(),
            },
            "Send the header Content-Type: application/json.",
        )
    }

    pub fn invalid(errors: Vec<FieldError>) -> Problem {
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-values",
            "Some values are not valid",
            match errors.len() {
                1 => "1 field is not valid; nothing was stored".to_owned(),
                n => format!("{n} fields are not valid; nothing was stored"),
            },
            "Correct each field listed in errors and send the request again.",
        );
        problem.errors = errors;
        problem
    }

    pub fn unavailable() -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Temporarily unavailable",
            "the data store did not answer in time; nothing was lost".to_owned(),
            "Send the same request again in a few seconds; it is safe to repeat.",
        )
    }

    pub fn internal() -> Problem {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side",
            "the request could not be completed".to_owned(),
            "Send the same request again later; if it keeps failing, report it with the time it happened.",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"winback\""),
            );
        }
        response
    }
}
