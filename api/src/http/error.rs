//! One JSON error shape for every failure: `{"error": {"code", "message", "details"}}`.
//! Database and internal causes are logged here and never sent to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::runtime::RuntimeError;
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

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl From<RuntimeError> for ApiError {
    fn from(e: RuntimeError) -> ApiError {
        match e {
            RuntimeError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            RuntimeError::Forbidden(m) => ApiError::forbidden(m),
            RuntimeError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            RuntimeError::Invalid { code, message, details } => {
                ApiError { status: StatusCode::UNPROCESSABLE_ENTITY, code, message, details }
            }
            RuntimeError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong on our side")
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        RuntimeError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message, "details": self.details } });
        (self.status, Json(body)).into_response()
    }
}
