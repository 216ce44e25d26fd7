//! Failures of web pages, each shown as an HTML page with its status. As in the JSON API,
//! database and internal causes are logged here and never shown.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::i18n::Lang;
use super::page::Chrome;
use crate::app::AppError;
use crate::store::StoreError;

#[derive(Debug)]
pub enum WebError {
    /// Not signed in: go to the sign-in page and come back to `next`.
    SignIn {
        next: String,
    },
    Forbidden(Lang, &'static str),
    NotFound(Lang),
    Csrf(Lang),
    Conflict(Lang, String),
    /// 422: the request is wrong (the message says how).
    Invalid(Lang, String),
    BadRequest(Lang),
    /// An upload that could not be kept: 413 when too large, else 400, with the reason.
    Upload(Lang, String, bool),
    Internal(String),
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage {
    c: Chrome,
    message: String,
}

impl WebError {
    pub fn internal(cause: impl std::fmt::Display) -> WebError {
        WebError::Internal(cause.to_string())
    }

    pub fn forbidden(lang: Lang) -> WebError {
        WebError::Forbidden(lang, "error.forbidden")
    }

    /// The application's refusal on a page in `lang`, with the status the API gives it.
    pub fn from_app(e: AppError, lang: Lang) -> WebError {
        match e {
            AppError::NotFound(_) => WebError::NotFound(lang),
            AppError::Forbidden { code: "admin_only", .. } => WebError::Forbidden(lang, "error.admin_only"),
            AppError::Forbidden { .. } => WebError::forbidden(lang),
            AppError::Conflict { message, .. } => WebError::Conflict(lang, message),
            AppError::Invalid { message, .. } => WebError::Invalid(lang, message),
            AppError::Upload { message, too_large, .. } => WebError::Upload(lang, message, too_large),
            AppError::Internal(m) => WebError::Internal(m),
        }
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> WebError {
        WebError::Internal(e.to_string())
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> WebError {
        WebError::Internal(format!("template: {e}"))
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, lang, message) = match self {
            WebError::SignIn { next } => {
                let to = format!("/login?next={}", super::page::urlencode(&next));
                return Redirect::to(&to).into_response();
            }
            WebError::Forbidden(l, key) => (StatusCode::FORBIDDEN, l, l.t(key).to_string()),
            WebError::NotFound(l) => (StatusCode::NOT_FOUND, l, l.t("error.not_found").to_string()),
            WebError::Csrf(l) => (StatusCode::FORBIDDEN, l, l.t("error.csrf").to_string()),
            WebError::Conflict(l, m) => (StatusCode::CONFLICT, l, format!("{} ({m})", l.t("error.conflict"))),
            WebError::Invalid(l, m) => (StatusCode::UNPROCESSABLE_ENTITY, l, format!("{} ({m})", l.t("error.invalid"))),
            WebError::BadRequest(l) => (StatusCode::BAD_REQUEST, l, l.t("error.not_found").to_string()),
            WebError::Upload(l, m, too_large) => {
                let status = if too_large { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
                (status, l, format!("{} ({m})", l.t("error.upload")))
            }
            WebError::Internal(cause) => {
                tracing::error!(?cause, "web page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, Lang::Es, Lang::Es.t("error.internal").to_string())
            }
        };
        let page = ErrorPage { c: Chrome::bare(lang, lang.t("error.title")), message };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], page.message).into_response(),
        }
    }
}
