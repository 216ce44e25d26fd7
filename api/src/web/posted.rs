//! A posted form, URL-encoded or multipart: its fields as name/value pairs. In a multipart form
//! each chosen file is stored as it arrives (blob store, recorded for the signed-in user) and
//! stands in the pairs as its file value in JSON, replacing the value the page kept for that
//! field; a file input left empty is ignored. An upload that is too large is 413, one that
//! breaks off 400, and nothing of it is kept.

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;

use super::error::WebError;
use super::i18n::Lang;
use super::session::Session;
use crate::app;
use crate::runtime::Runtime;

/// The fields of a posted form, in order.
#[derive(Debug)]
pub struct Posted(pub Vec<(String, String)>);

/// Whether a request's body is `multipart/form-data`.
pub fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

impl FromRequest<Arc<Runtime>> for Posted {
    type Rejection = WebError;

    async fn from_request(req: Request, rt: &Arc<Runtime>) -> Result<Posted, WebError> {
        let lang = Lang::of_request(req.uri().query(), req.headers());
        if !is_multipart(req.headers()) {
            let axum::Form(pairs) = axum::Form::<Vec<(String, String)>>::from_request(req, rt)
                .await
                .map_err(|_| WebError::BadRequest(lang))?;
            return Ok(Posted(pairs));
        }
        let session = req.extensions().get::<Session>().cloned().ok_or(WebError::BadRequest(lang))?;
        let actor = session.actor();
        let mut form = Multipart::from_request(req, rt).await.map_err(|_| WebError::BadRequest(lang))?;
        let mut pairs: Vec<(String, String)> = Vec::new();
        let broken = |e: axum::extract::multipart::MultipartError| {
            WebError::from_app(
                app::AppError::Upload {
                    code: "upload_failed",
                    message: format!("El formulario llegó incompleto: {}", e.body_text()),
                    too_large: e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                },
                lang,
            )
        };
        while let Some(field) = form.next_field().await.map_err(broken)? {
            let Some(name) = field.name().map(str::to_string) else { continue };
            match field.file_name().map(str::to_string) {
                // A file input: kept when a file was chosen.
                Some(file_name) => {
                    if file_name.is_empty() {
                        continue;
                    }
                    let file =
                        app::upload(rt, &actor, &file_name, field).await.map_err(|e| WebError::from_app(e, lang))?;
                    pairs.retain(|(k, _)| *k != name);
                    pairs.push((name.clone(), file.to_value().to_string()));
                }
                None => {
                    let text = field.text().await.map_err(broken)?;
                    // A file chosen earlier in this form wins over the value the page kept.
                    let chosen = pairs.iter().any(|(k, v)| *k == name && v.starts_with('{'));
                    if !(chosen && text.starts_with('{')) {
                        pairs.push((name, text));
                    }
                }
            }
        }
        Ok(Posted(pairs))
    }
}
