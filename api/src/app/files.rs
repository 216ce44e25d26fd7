//! Files in forms: uploading one (into the blob store, recorded for its uploader), trusting the
//! file values a form sends, and giving a case's files back to those who may read the case.
//!
//! A file value's `size` and `type` are never the client's word: they are what the blob store
//! measured and sniffed when the file was uploaded. A user may put in a form a file they
//! uploaded themselves, or one already attached to the same case.

use bytes::Bytes;
use futures_util::Stream;
use serde_json::{Map, Value};
use tramite_engine::files::{FileValue, file_name, files_in, sniff};
use tramite_engine::machine::{Actor, Record};

use super::{AppError, FieldProblem, readable};
use crate::blobs::{BlobError, Blobs};
use crate::runtime::Runtime;

fn storage(rt: &Runtime) -> Result<&Blobs, AppError> {
    rt.files().ok_or_else(|| AppError::Internal("no file storage is configured".into()))
}

fn upload_error(e: BlobError) -> AppError {
    match e {
        BlobError::TooLarge { limit } => AppError::Upload {
            code: "file_too_large",
            message: format!("El archivo pasa del máximo de {}.", tramite_engine::files::show_size(limit)),
            too_large: true,
        },
        BlobError::Upload(cause) => AppError::Upload {
            code: "upload_failed",
            message: format!("El archivo llegó incompleto: {cause}"),
            too_large: false,
        },
        other => AppError::Internal(other.to_string()),
    }
}

/// Stores an upload named `name` for `actor` as it arrives; the file value a form then takes.
/// Too large is a 413, a broken stream a 400; either way nothing is kept.
pub async fn upload<S, E>(rt: &Runtime, actor: &Actor, name: &str, stream: S) -> Result<FileValue, AppError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let name = file_name(name).ok_or_else(|| AppError::field("file_name", "file", "El archivo necesita un nombre."))?;
    let blob = storage(rt)?.put_stream(stream).await.map_err(upload_error)?;
    rt.store.record_upload(&blob.sha256, &actor.user, blob.size, blob.mime, rt.now()).await?;
    let mime = sniff::refine(blob.mime, &name).map(str::to_string);
    Ok(FileValue { name, sha256: blob.sha256, size: blob.size, mime })
}

/// Every file attached to the instance `id` so far (in its events' data), once each.
pub async fn case_files(rt: &Runtime, id: &str) -> Result<Vec<FileValue>, AppError> {
    files_of(&rt.store.history(id).await?)
}

/// Every file in these events' data, once each (by content and name), in order.
pub fn files_of(history: &[Record]) -> Result<Vec<FileValue>, AppError> {
    let mut out: Vec<FileValue> = Vec::new();
    for r in history {
        let event = serde_json::to_value(&r.event).map_err(|e| AppError::Internal(e.to_string()))?;
        for f in files_in(&event) {
            if !out.iter().any(|o| o.sha256 == f.sha256 && o.name == f.name) {
                out.push(f);
            }
        }
    }
    Ok(out)
}

/// `data` with each file value made trustworthy: its size and type as stored when `actor`
/// uploaded it, or as attached before to the instance `case`. A file neither uploaded by the
/// actor nor in the case is refused on its field (422 `file_unknown`).
pub async fn trusted(
    rt: &Runtime,
    actor: &Actor,
    data: Map<String, Value>,
    case: Option<&str>,
) -> Result<Map<String, Value>, AppError> {
    let mut problems = std::collections::BTreeMap::new();
    let mut earlier: Option<Vec<FileValue>> = None;
    let mut out = Map::new();
    for (k, v) in data {
        let v = trust_value(rt, actor, case, &mut earlier, &k, v, &mut problems).await?;
        out.insert(k, v);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        let message = "Algún archivo no es uno que usted haya subido.".to_string();
        Err(AppError::Invalid { code: "file_unknown", message, fields: problems })
    }
}

/// One value of [`trusted`], at any depth (`path` names it as the engine does: `lista[2].campo`).
fn trust_value<'a>(
    rt: &'a Runtime,
    actor: &'a Actor,
    case: Option<&'a str>,
    earlier: &'a mut Option<Vec<FileValue>>,
    path: &'a str,
    v: Value,
    problems: &'a mut std::collections::BTreeMap<String, FieldProblem>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, AppError>> + Send + 'a>> {
    Box::pin(async move {
        match v {
            Value::Object(m) if m.contains_key("sha256") => {
                let Ok(mut f) = FileValue::from_value(&Value::Object(m.clone())) else {
                    // Not a file's shape: the form's validation says so on its field.
                    return Ok(Value::Object(m));
                };
                if let Some((size, mime)) = rt.store.upload(&f.sha256, &actor.user).await? {
                    f.size = size;
                    f.mime = sniff::refine(mime.as_deref(), &f.name).map(str::to_string);
                    return Ok(f.to_value());
                }
                if let Some(case) = case {
                    if earlier.is_none() {
                        *earlier = Some(case_files(rt, case).await?);
                    }
                    let known = earlier.as_deref().unwrap_or_default().iter().find(|e| e.sha256 == f.sha256);
                    if let Some(known) = known {
                        f.size = known.size;
                        f.mime = sniff::refine(known.mime.as_deref(), &f.name).map(str::to_string);
                        return Ok(f.to_value());
                    }
                }
                let message = format!("«{}» no es un archivo que usted haya subido; súbalo de nuevo.", f.name);
                problems.insert(path.to_string(), FieldProblem { code: "file_unknown".into(), message });
                Ok(Value::Object(m))
            }
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, x) in m {
                    let sub = format!("{path}.{k}");
                    out.insert(k, trust_value(rt, actor, case, earlier, &sub, x, problems).await?);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, x) in items.into_iter().enumerate() {
                    let sub = format!("{path}[{}]", i + 1);
                    out.push(trust_value(rt, actor, case, earlier, &sub, x, problems).await?);
                }
                Ok(Value::Array(out))
            }
            other => Ok(other),
        }
    })
}

/// A file of the instance `id` for a reader of it: the file as attached, and its bytes. 403
/// for those who may not read the case, 404 for a file that is not one of the case's.
pub async fn download(rt: &Runtime, actor: &Actor, id: &str, sha256: &str) -> Result<(FileValue, Bytes), AppError> {
    readable(rt, actor, id).await?;
    let Some(file) = attached(rt, id, sha256).await? else {
        return Err(AppError::NotFound(format!("no file {sha256} in instance {id}")));
    };
    let bytes = storage(rt)?.get(&file.sha256).await.map_err(|e| match e {
        BlobError::NotFound(k) | BlobError::InvalidKey(k) => AppError::NotFound(format!("no stored file {k}")),
        other => AppError::Internal(other.to_string()),
    })?;
    Ok((file, bytes))
}

/// The file `sha256` as attached to the instance `id`, if it is one of its files.
pub async fn attached(rt: &Runtime, id: &str, sha256: &str) -> Result<Option<FileValue>, AppError> {
    let sha256 = sha256.to_ascii_lowercase();
    Ok(case_files(rt, id).await?.into_iter().find(|f| f.sha256 == sha256))
}
