//! Files in forms through the real server and store, on SQLite and PostgreSQL with files in a
//! local folder, and on SQLite with files in S3-compatible storage (the `moto` server
//! `scripts/test` starts): an operator uploads the reply to a C.4.5 e-mail through the API and
//! through the task's web form (multipart, CSRF-checked), the case keeps the file, its readers
//! download it byte-identical as an attachment, others get 403; uploads too large, cut off or of
//! the wrong kind are refused with a 4xx and leave nothing stored; a file value naming bytes the
//! sender never uploaded is refused.

use crate::common;
use crate::web;

use common::*;
use serde_json::{Value, json};
use tramite_engine::files::sha256_hex;
use web::{PASSWORD, WebClient, add_user_with_password, csrf_of};

const C45: &str = "/api/processes/conocer.c45-correos/instances";

/// A small but real PDF.
fn pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let body = format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >> endobj\n4 0 obj << /Length {} >>\nstream\n{stream}\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        stream.len()
    );
    body.into_bytes()
}

/// A PNG's first bytes: an image whatever its name says.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";

/// One part of a multipart body.
enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

/// A `multipart/form-data` body: (content type, bytes).
fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "----tramite-prueba-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match p {
            Part::Text(name, value) => {
                body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
                body.extend_from_slice(value.as_bytes());
            }
            Part::File(name, file, bytes) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                        .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `POST /api/files` with this body as `token`: status and JSON.
fn upload_raw(base: &str, token: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{base}/api/files"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

pub(crate) fn upload(base: &str, token: &str, name: &str, bytes: &[u8]) -> (u16, Value) {
    let (ct, body) = multipart(&[Part::File("file", name, bytes)]);
    upload_raw(base, token, &ct, body)
}

/// `GET path` with a bearer token: status, headers, bytes.
fn download(base: &str, token: &str, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = reqwest::blocking::Client::new().get(format!("{base}{path}")).bearer_auth(token).send().unwrap();
    (r.status().as_u16(), r.headers().clone(), r.bytes().unwrap().to_vec())
}

/// Where the server keeps files, and how to look into it.
enum Storage {
    /// `--files DIR`.
    Local(std::path::PathBuf),
    /// `--files s3://bucket/prefix` on the endpoint of `TRAMITE_TEST_S3`.
    S3 { endpoint: String, bucket: String, prefix: String },
}

impl Storage {
    fn args(&self) -> (Vec<String>, Vec<(String, String)>) {
        match self {
            Storage::Local(dir) => (vec!["--no-watch".into(), "--files".into(), dir.display().to_string()], Vec::new()),
            Storage::S3 { endpoint, bucket, prefix } => {
                let env = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.to_string());
                (
                    vec![
                        "--no-watch".into(),
                        "--files".into(),
                        format!("s3://{bucket}/{prefix}"),
                        "--max-file-size".into(),
                        "32 MB".into(),
                    ],
                    vec![
                        ("AWS_ENDPOINT_URL".into(), endpoint.clone()),
                        ("AWS_ACCESS_KEY_ID".into(), env("AWS_ACCESS_KEY_ID", "testing")),
                        ("AWS_SECRET_ACCESS_KEY".into(), env("AWS_SECRET_ACCESS_KEY", "testing")),
                        ("AWS_REGION".into(), env("AWS_REGION", "us-east-1")),
                    ],
                )
            }
        }
    }

    /// Whether a blob is stored under this SHA-256.
    fn holds(&self, sha256: &str) -> bool {
        let key = format!("sha256/{}/{}/{sha256}", &sha256[..2], &sha256[2..4]);
        match self {
            Storage::Local(dir) => dir.join(key).is_file(),
            Storage::S3 { endpoint, bucket, prefix } => {
                // moto lists its buckets to unsigned requests.
                let url = format!("{endpoint}/{bucket}?prefix={prefix}/{key}");
                let listing = reqwest::blocking::get(url).unwrap().text().unwrap();
                listing.contains(&format!("<Key>{prefix}/{key}</Key>"))
            }
        }
    }

    /// Nothing half-written is left in a local folder's spool.
    fn spool_is_empty(&self) -> bool {
        match self {
            Storage::Local(dir) => std::fs::read_dir(dir.join("tmp")).map(|d| d.count() == 0).unwrap_or(true),
            Storage::S3 { .. } => true,
        }
    }
}

fn run(db: &Db, name: &str, storage: impl FnOnce(&std::path::Path) -> Option<Storage>) {
    let dir = scratch(name);
    let Some(storage) = storage(&dir) else {
        eprintln!("TRAMITE_TEST_S3 is not set: the S3 run is skipped (scripts/test sets it)");
        return;
    };
    let url = database(db, &dir).unwrap();
    let ana = add_user_with_password(&url, "ana", &["operador"], false);
    let rosa = add_user(&url, "rosa", &["responsable_canales"], None, false);
    let olga = add_user(&url, "olga", &["jefe_mercadeo"], None, false);
    let (args, env) = storage.args();
    let server = Server::start_with(&url, &dir, None, &repo().join("processes"), "warn", &args, &env);
    let base = server.base.clone();
    let api = Api::new(&base, &ana);

    // The reply, uploaded through the API: typed from its bytes, keyed by their SHA-256.
    let reply = pdf("Respuesta al correo");
    let (status, file) = upload(&base, &ana, "Respuesta año 2026.pdf", &reply);
    assert_eq!(status, 201, "{file}");
    assert_eq!(file["sha256"], sha256_hex(&reply));
    assert_eq!((file["size"].as_u64(), file["type"].as_str()), (Some(reply.len() as u64), Some("application/pdf")));
    assert_eq!(file["name"], "Respuesta año 2026.pdf");
    assert!(storage.holds(&sha256_hex(&reply)));

    // An e-mail registered and typed; the reply's task takes the file.
    let (status, inst) = api.post(C45, correo(&recent()));
    assert_eq!(status, 201, "{inst}");
    let id = inst["id"].as_str().unwrap().to_string();
    let tipo = json!({ "data": { "tipo": "informacion", "tema": "Certificación", "atencion_inmediata": true } });
    let (status, inst) = api.post(&format!("/api/tasks/{}/complete", task_at(&inst, "determinar_tipo")), tipo);
    assert_eq!(status, 200, "{inst}");
    let responder = task_at(&inst, "responder");
    let complete = format!("/api/tasks/{responder}/complete");

    // An image named .pdf is not a PDF: refused on its field, the case unchanged.
    let (status, image) = upload(&base, &ana, "respuesta.pdf", PNG);
    assert_eq!((status, image["type"].as_str()), (201, Some("image/png")), "{image}");
    let (status, refused) =
        api.post(&complete, json!({ "data": { "respuesta": "Adjunto la respuesta.", "adjunto": image } }));
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["details"]["fields"]["adjunto"]["code"], "accept", "{refused}");

    // A file value the sender never uploaded (another's bytes, a made-up key): refused.
    let (status, theirs) = upload(&base, &rosa, "de-rosa.pdf", &pdf("Borrador de Rosa"));
    assert_eq!(status, 201);
    let (status, refused) =
        api.post(&complete, json!({ "data": { "respuesta": "Adjunto la respuesta.", "adjunto": theirs } }));
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["details"]["fields"]["adjunto"]["code"], "file_unknown", "{refused}");

    // The client's size and type are not believed: the stored ones are kept.
    let mut claimed = file.clone();
    claimed["size"] = json!(1);
    claimed["type"] = json!("text/html");
    let (status, done) =
        api.post(&complete, json!({ "data": { "respuesta": "Adjunto la respuesta.", "adjunto": claimed } }));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "ended", "{done}");
    assert_eq!(done["data"]["adjunto"], file, "{done}");

    // Readers of the case download it byte-identical, as an attachment; others may not.
    let path = format!("/api/instances/{id}/files/{}", file["sha256"].as_str().unwrap());
    let (status, headers, bytes) = download(&base, &ana, &path);
    assert_eq!(status, 200);
    assert_eq!(bytes, reply, "the same bytes back");
    let header = |h: &str| headers.get(h).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-disposition").starts_with("attachment;"), "{}", header("content-disposition"));
    assert!(header("content-disposition").contains("filename*=UTF-8''Respuesta%20a%C3%B1o%202026.pdf"));
    assert_eq!(download(&base, &rosa, &path).0, 200, "the Responsable de Canales reads C.4.5 cases");
    let (status, _, body) = download(&base, &olga, &path);
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    let other = format!("/api/instances/{id}/files/{}", sha256_hex(b"otro"));
    assert_eq!(download(&base, &ana, &other).0, 404, "not a file of this case");
    let theirs_here = format!("/api/instances/{id}/files/{}", theirs["sha256"].as_str().unwrap());
    assert_eq!(download(&base, &ana, &theirs_here).0, 404, "uploaded, but never attached to this case");

    // Too large (over the 32 MB default): 413, nothing stored.
    let big = vec![b'a'; 32 * 1024 * 1024 + 1];
    let (status, refused) = upload(&base, &ana, "enorme.txt", &big);
    assert_eq!((status, refused["error"]["code"].as_str()), (413, Some("file_too_large")), "{refused}");
    assert!(!storage.holds(&sha256_hex(&big)));
    assert!(storage.spool_is_empty());

    // Cut off in the middle of the file: 400, nothing stored.
    let partial = pdf("Incompleto");
    let (ct, mut body) = multipart(&[Part::File("file", "incompleto.pdf", &partial)]);
    body.truncate(body.len() - 60);
    let (status, refused) = upload_raw(&base, &ana, &ct, body);
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "upload_failed", "{refused}");
    assert!(!storage.holds(&sha256_hex(&partial)));
    assert!(storage.spool_is_empty());
    let (status, refused) = upload_raw(&base, &ana, "application/json", b"{}".to_vec());
    assert_eq!(status, 415, "{refused}");
    let (ct, body) = multipart(&[Part::Text("nota", "sin archivo")]);
    let (status, refused) = upload_raw(&base, &ana, &ct, body);
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("unknown_part")), "{refused}");
    let (ct, body) = multipart(&[]);
    let (status, refused) = upload_raw(&base, &ana, &ct, body);
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("file_missing")), "{refused}");
    // One part, named `file`, and nothing after it either.
    let (ct, body) = multipart(&[Part::File("file", "doble.pdf", &pdf("Doble")), Part::Text("nota", "de más")]);
    let (status, refused) = upload_raw(&base, &ana, &ct, body);
    assert_eq!(
        (status, refused["error"]["details"]["fields"]["nota"]["code"].as_str()),
        (422, Some("unknown_part")),
        "{refused}"
    );

    // The same through the browser's task form: multipart, CSRF-checked, the file listed on the
    // case's page and downloaded from there.
    let (_, second) = api.post(C45, correo(&recent()));
    let second_id = second["id"].as_str().unwrap().to_string();
    let tipo = json!({ "data": { "tipo": "informacion", "tema": "Estándares", "atencion_inmediata": true } });
    let (_, second) = api.post(&format!("/api/tasks/{}/complete", task_at(&second, "determinar_tipo")), tipo);
    let task = task_at(&second, "responder");
    let mut browser = WebClient::new(&base);
    assert_eq!(browser.sign_in("ana", PASSWORD).status, 303);
    let form = browser.get(&format!("/tasks/{task}"));
    assert!(form.body.contains("enctype=\"multipart/form-data\""), "{}", form.body);
    assert!(form.body.contains("type=\"file\"") && form.body.contains("accept=\".pdf,.docx,.doc,.txt,.eml\""));
    let csrf = csrf_of(&form.body);
    let web_reply = pdf("Respuesta desde el navegador");
    let parts = |token: &str| {
        multipart(&[
            Part::Text("_csrf", token),
            Part::Text("_action", "complete"),
            Part::Text("respuesta", "Le envío la respuesta."),
            Part::File("adjunto", "respuesta-web.pdf", &web_reply),
        ])
    };
    let (ct, body) = parts("no-es-el-token");
    assert_eq!(browser.post_body(&format!("/tasks/{task}"), &ct, body).status, 403, "CSRF still checked");
    assert!(!storage.holds(&sha256_hex(&web_reply)), "a refused form stores nothing");
    // A wrong kind of file: the form comes back with the error in place.
    let (ct, body) = multipart(&[
        Part::Text("_csrf", &csrf),
        Part::Text("_action", "complete"),
        Part::Text("respuesta", "Le envío la respuesta."),
        Part::File("adjunto", "foto.pdf", PNG),
    ]);
    let again = browser.post_body(&format!("/tasks/{task}"), &ct, body);
    assert_eq!(again.status, 422, "{}", again.body);
    assert!(again.body.contains("id=\"f-adjunto-error\""), "{}", again.body);
    let (ct, body) = parts(&csrf);
    let done = browser.post_body(&format!("/tasks/{task}"), &ct, body);
    assert_eq!(done.status, 303, "{}", done.body);
    let case = browser.get(&format!("/instances/{second_id}"));
    let link = format!("/instances/{second_id}/files/{}", sha256_hex(&web_reply));
    assert!(case.body.contains(&link) && case.body.contains("respuesta-web.pdf"), "{}", case.body);
    let (status, headers, bytes) = browser.get_bytes(&link);
    assert_eq!((status, bytes == web_reply), (200, true));
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    let (_, second) = api.get(&format!("/api/instances/{second_id}"));
    assert_eq!(second["data"]["adjunto"]["sha256"], sha256_hex(&web_reply), "{second}");
}

#[test]
fn files_on_sqlite_in_a_folder() {
    run(&Db::Sqlite, "files-sqlite", |dir| Some(Storage::Local(dir.join("archivos"))));
}

#[test]
fn files_on_postgres_in_a_folder() {
    run(&Db::Postgres, "files-postgres", |dir| Some(Storage::Local(dir.join("archivos"))));
}

#[test]
fn files_on_s3() {
    run(&Db::Sqlite, "files-s3", |dir| {
        let endpoint = std::env::var("TRAMITE_TEST_S3").ok()?;
        let bucket = std::env::var("TRAMITE_TEST_S3_BUCKET").unwrap_or_else(|_| "tramite-test".into());
        let prefix = format!("server-{}", dir.file_name().unwrap().to_string_lossy());
        Some(Storage::S3 { endpoint, bucket, prefix })
    });
}
