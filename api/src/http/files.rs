//! Files of `file` fields through the API: `POST /api/files` uploads one (multipart, the part
//! named `file`) and answers the value to put in a form; `GET /api/instances/{id}/files/{sha256}`
//! gives a case's file to those who may read the case, as an attachment.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Serialize;
use tower_http::limit::RequestBodyLimitLayer;
use tramite_engine::files::FileValue;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Path};
use super::openapi::{
    BadRequest, FileBytes, PayloadTooLarge, ReadRefusals, Unauthorized, Unprocessable, UnsupportedMediaType, UploadForm,
};
use crate::app::{self, AppError};
use crate::runtime::Runtime;

/// The file routes; uploads may hold up to `limit` bytes.
pub fn router(limit: usize) -> Router<Arc<Runtime>> {
    Router::new()
        .route(
            "/api/files",
            post(upload)
                .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(limit))
                .layer::<_, std::convert::Infallible>(RequestBodyLimitLayer::new(limit)),
        )
        .route("/api/instances/{id}/files/{sha256}", get(download))
}

fn broken(e: axum::extract::multipart::MultipartError) -> ApiError {
    let too_large = e.status() == StatusCode::PAYLOAD_TOO_LARGE;
    let (code, message) = if too_large {
        ("payload_too_large", "the upload is larger than the server takes".to_string())
    } else {
        ("upload_failed", format!("the multipart body could not be read: {}", e.body_text()))
    };
    AppError::Upload { code, message, too_large }.into()
}

/// A stored file as a `file` field takes it: the value a form holds, exactly
/// ([`FileValue::to_value`]).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct UploadedFile {
    /// The file's name, cleaned.
    name: String,
    /// Its content's SHA-256, hex: its key in the blob store.
    sha256: String,
    size: u64,
    /// Its type, as sniffed from its content; `null` when unknown.
    #[serde(rename = "type")]
    mime: Option<String>,
}

impl From<FileValue> for UploadedFile {
    fn from(f: FileValue) -> UploadedFile {
        UploadedFile { name: f.name, sha256: f.sha256, size: f.size, mime: f.mime }
    }
}

/// Upload a file for a `file` field (multipart, the part named `file`): answers the value to
/// put in the form, `{name, sha256, size, type}`, typed from its content.
#[utoipa::path(
    post,
    path = "/api/files",
    tag = "files",
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "stored: the value to put in the form", body = UploadedFile),
        BadRequest,
        Unauthorized,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable
    )
)]
pub(super) async fn upload(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    req: Request,
) -> Result<Response, ApiError> {
    let mut form = Multipart::from_request(req, &rt)
        .await
        .map_err(|e| ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", e.body_text()))?;
    let unknown = |name: Option<&str>| -> ApiError {
        let part = name.unwrap_or_default().escape_debug().to_string();
        AppError::field("unknown_part", &part, "the upload takes one part, named `file`, and nothing else").into()
    };
    let Some(field) = form.next_field().await.map_err(broken)? else {
        return Err(AppError::field("file_missing", "file", "send the file as the multipart part named `file`").into());
    };
    if field.name() != Some("file") {
        return Err(unknown(field.name()));
    }
    let name = field.file_name().unwrap_or_default().to_string();
    let file = app::upload(&rt, &actor, &name, field).await?;
    // The file is stored, but nothing refers to it until a form does: a part after it refuses
    // the request all the same.
    if let Some(extra) = form.next_field().await.map_err(broken)? {
        return Err(unknown(extra.name()));
    }
    Ok((StatusCode::CREATED, Json(UploadedFile::from(file))).into_response())
}

/// A file attached to the instance, as an attachment, for those who may read it.
#[utoipa::path(
    get,
    path = "/api/instances/{id}/files/{sha256}",
    tag = "files",
    params(
        ("id" = String, Path, description = "the instance's id"),
        ("sha256" = String, Path, description = "the file's `sha256`, as its value in the case's data says")
    ),
    responses(
        (status = 200, description = "the file's bytes, of the type it was stored with", content(
            (inline(FileBytes) = "application/octet-stream"),
            (inline(FileBytes) = "*/*")
        )),
        ReadRefusals
    )
)]
pub(super) async fn download(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path((id, sha256)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (file, bytes) = app::download(&rt, &actor, &id, &sha256).await?;
    Ok(attachment(&file, bytes))
}

/// A file as a download: its stored type (or `application/octet-stream`), never sniffed again
/// by the browser, never shown inline, never cached by others.
pub fn attachment(file: &FileValue, bytes: Bytes) -> Response {
    let mime = file.mime.as_deref().unwrap_or("application/octet-stream");
    let content_type = HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition =
        HeaderValue::from_str(&content_disposition(&file.name)).unwrap_or(HeaderValue::from_static("attachment"));
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_DISPOSITION, disposition),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'")),
    ];
    (headers, bytes).into_response()
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII name for old clients,
/// the exact name percent-encoded for the rest.
fn content_disposition(name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_answers_the_value_a_form_holds() {
        for mime in [Some("application/pdf".to_string()), None] {
            let file = FileValue { name: "acta.pdf".into(), sha256: "ab".repeat(32), size: 7, mime };
            let answered = serde_json::to_value(UploadedFile::from(file.clone())).unwrap_or_default();
            assert_eq!(answered, file.to_value());
        }
    }

    #[test]
    fn names_are_quoted_safely() {
        assert_eq!(
            content_disposition("Respuesta año \"1\".xlsx"),
            "attachment; filename=\"Respuesta a_o _1_.xlsx\"; filename*=UTF-8''Respuesta%20a%C3%B1o%20%221%22.xlsx"
        );
    }
}
