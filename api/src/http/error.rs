//! One JSON error shape for every failure: `{"error": {"code", "message", "details"}}`, with
//! `details.fields.<name>.{code, message}` for invalid data. Internal causes are logged here
//! and never sent to the client. [`ErrorBody`] is that shape, and the API document's `Error`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::app::AppError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), details: Value::Null }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in: send `Authorization: Bearer <token>`")
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        let code = e.code();
        match e {
            AppError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, code, m),
            AppError::Forbidden { message, .. } => ApiError::new(StatusCode::FORBIDDEN, code, message),
            AppError::Conflict { message, .. } => ApiError::new(StatusCode::CONFLICT, code, message),
            AppError::Invalid { message, fields, .. } => {
                let details = if fields.is_empty() { Value::Null } else { json!({ "fields": fields }) };
                ApiError { status: StatusCode::UNPROCESSABLE_ENTITY, code, message, details }
            }
            AppError::Upload { message, too_large, .. } => {
                let status = if too_large { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
                ApiError::new(status, code, message)
            }
            AppError::Internal(cause) => {
                tracing::error!(?cause, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code, "something went wrong on our side")
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        AppError::from(e).into()
    }
}

/// The body of every refusal.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    #[schema(inline)]
    pub error: ErrorDetail,
}

/// What went wrong: a stable code, a message for people, and what more there is to say.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable across releases: `unauthorized`, `not_found`, `invalid_data`, …
    pub code: &'static str,
    pub message: String,
    /// `null`, or an object: `fields.<name>.{code, message}` for invalid data, `diagnostics`
    /// (file, line, column, message, help) for a process that does not load.
    pub details: Value,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code, message: self.message, details: self.details } };
        (self.status, Json(body)).into_response()
    }
}
