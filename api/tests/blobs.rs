//! The blob store for uploaded files, on a local directory and on a real S3-compatible server.
//!
//! Every storage test runs twice: on a fresh local directory, and on S3 under a fresh key
//! prefix when `TRAMITE_TEST_S3` names an endpoint (`http://127.0.0.1:9000`; `scripts/test`
//! starts a `moto` server there and sets it). The bucket is `TRAMITE_TEST_S3_BUCKET`
//! (`tramite-test`), created if missing. Without `TRAMITE_TEST_S3` the S3 runs say so and pass.
#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::task::Poll;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::ObjectStore;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use tramite::blobs::{BlobError, BlobRef, Blobs, accepts, sniff, sniff_named};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLS: &str = "application/vnd.ms-excel";
const DOC: &str = "application/msword";

// ---- where the blobs go ----------------------------------------------------------------------

/// A blob store under test and a way to list everything it holds.
struct Target {
    blobs: Blobs,
    place: Place,
}

enum Place {
    Local(PathBuf),
    S3 { store: AmazonS3, prefix: String },
}

impl Target {
    /// A fresh local directory under `target/`.
    fn local(test: &str) -> Target {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/blobs-tests").join(format!(
            "{test}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Target { blobs: Blobs::local(&dir).unwrap(), place: Place::Local(dir) }
    }

    /// A fresh prefix in the test bucket, or `None` (with a notice) when no S3 server is named.
    async fn s3(test: &str) -> Option<Target> {
        let Ok(endpoint) = std::env::var("TRAMITE_TEST_S3") else {
            eprintln!("skipped: {test} on S3 (TRAMITE_TEST_S3 is not set; scripts/test starts moto and sets it)");
            return None;
        };
        let bucket = std::env::var("TRAMITE_TEST_S3_BUCKET").unwrap_or_else(|_| "tramite-test".into());
        create_bucket(&endpoint, &bucket).await;
        let settings = s3_settings(&endpoint);
        let prefix = format!("t/{test}-{}-{:08x}", std::process::id(), rand::random::<u32>());
        let blobs = Blobs::s3(&format!("s3://{bucket}/{prefix}"), settings.clone()).unwrap();
        let mut store = AmazonS3Builder::new().with_bucket_name(&bucket).with_allow_http(true);
        for (key, value) in settings {
            store = store.with_config(key.to_ascii_lowercase().parse().unwrap(), value);
        }
        Some(Target { blobs, place: Place::S3 { store: store.build().unwrap(), prefix } })
    }

    /// Every object stored, as paths relative to the root (local: every file, `tmp/` included).
    async fn objects(&self) -> Vec<String> {
        let mut found = match &self.place {
            Place::Local(root) => files(root, root),
            Place::S3 { store, prefix } => {
                let prefix = object_store::path::Path::from(prefix.as_str());
                let listed: Vec<_> = store.list(Some(&prefix)).collect().await;
                listed
                    .into_iter()
                    .map(|meta| meta.unwrap().location.to_string()[prefix.as_ref().len() + 1..].to_string())
                    .collect()
            }
        };
        found.sort();
        found
    }
}

/// The S3 settings of the tests: the endpoint, and credentials from the environment or
/// moto's defaults.
fn s3_settings(endpoint: &str) -> Vec<(String, String)> {
    let env = |key: &str, default: &str| std::env::var(key).unwrap_or_else(|_| default.to_string());
    vec![
        ("AWS_ENDPOINT_URL".into(), endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID".into(), env("AWS_ACCESS_KEY_ID", "testing")),
        ("AWS_SECRET_ACCESS_KEY".into(), env("AWS_SECRET_ACCESS_KEY", "testing")),
        ("AWS_REGION".into(), env("AWS_REGION", "us-east-1")),
    ]
}

/// Creates the bucket with a plain `PUT` (moto takes unsigned requests); one that exists is fine.
async fn create_bucket(endpoint: &str, bucket: &str) {
    let url = format!("{}/{bucket}", endpoint.trim_end_matches('/'));
    let response = reqwest::Client::new().put(&url).send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status();
    assert!(status.is_success() || status == reqwest::StatusCode::CONFLICT, "create bucket {url}: {status}");
}

fn files(root: &Path, dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(root, &path));
        } else {
            found.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
    found
}

/// Runs a storage test on a local directory and, when one is named, on S3.
macro_rules! on_both {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn local() {
                super::$test(super::Target::local(stringify!($test))).await;
            }
            #[tokio::test]
            async fn s3() {
                if let Some(target) = super::Target::s3(stringify!($test)).await {
                    super::$test(target).await;
                }
            }
        }
    )*};
}

on_both!(
    round_trip_is_byte_identical,
    the_same_content_is_stored_once,
    concurrent_puts_of_one_content_store_one_object,
    what_put_sniffs_is_what_sniff_says,
    a_stream_over_the_limit_stores_nothing,
    a_failing_stream_stores_nothing,
    a_cancelled_upload_stores_nothing,
);

fn layout(sha256: &str) -> String {
    format!("sha256/{}/{}/{sha256}", &sha256[..2], &sha256[2..4])
}

fn chunks(bytes: &[u8], size: usize) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + use<> {
    let parts: Vec<_> = bytes.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    futures_util::stream::iter(parts)
}

// ---- storage -----------------------------------------------------------------------------------

async fn round_trip_is_byte_identical(t: Target) {
    let contents: [Vec<u8>; 3] =
        [b"folio,fecha\n1,2025-03-01\n".to_vec(), Vec::new(), (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect()];
    for content in contents {
        let blob = t.blobs.put(content.clone()).await.unwrap();
        assert_eq!(blob.size, content.len() as u64);
        assert_eq!(blob.sha256, sha256_hex(&content));
        assert_eq!(t.blobs.get(&blob.sha256).await.unwrap(), content);
        assert!(t.blobs.exists(&blob.sha256).await.unwrap());
        assert_eq!(t.blobs.get(&blob.sha256.to_uppercase()).await.unwrap(), content, "keys are case-insensitive");
    }
    let streamed: Vec<u8> = (0..200_000u32).map(|i| (i % 13) as u8).collect();
    let blob = t.blobs.put_stream(chunks(&streamed, 7_000)).await.unwrap();
    assert_eq!(blob.sha256, sha256_hex(&streamed));
    assert_eq!(t.blobs.get(&blob.sha256).await.unwrap(), streamed);

    let absent = sha256_hex(b"never stored");
    assert!(!t.blobs.exists(&absent).await.unwrap());
    assert!(matches!(t.blobs.get(&absent).await, Err(BlobError::NotFound(k)) if k == absent));
    assert!(matches!(t.blobs.get("../../etc/passwd").await, Err(BlobError::InvalidKey(_))));
    assert!(matches!(t.blobs.exists("sha256/ab").await, Err(BlobError::InvalidKey(_))));
}

async fn the_same_content_is_stored_once(t: Target) {
    let content = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n";
    let first = t.blobs.put(&content[..]).await.unwrap();
    let before = local_identity(&t, &first);
    let second = t.blobs.put_stream(chunks(content, 5)).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(local_identity(&t, &first), before, "the stored file was rewritten");
    assert_eq!(t.objects().await, objects_of(&[&first]));
}

async fn concurrent_puts_of_one_content_store_one_object(t: Target) {
    let content: Vec<u8> = (0..50_000u32).map(|i| (i % 97) as u8).collect();
    let (a, b) = tokio::join!(t.blobs.put(content.clone()), t.blobs.put(content.clone()));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    assert_eq!(t.objects().await, objects_of(&[&a]));
    assert_eq!(t.blobs.get(&a.sha256).await.unwrap(), content);
}

async fn what_put_sniffs_is_what_sniff_says(t: Target) {
    // A workbook streamed in small chunks, and an XLS larger than the part sniffed first
    // (its directory lies past it).
    let xlsx = workbook();
    let blob = t.blobs.put_stream(chunks(&xlsx, 1_000)).await.unwrap();
    assert_eq!(blob.mime, Some(XLSX));
    let xls = compound_file("Workbook", 300_000);
    assert_eq!(sniff(&xls[..64 * 1024]), Some("application/x-ole-storage"), "the test needs the whole file");
    let blob = t.blobs.put_stream(chunks(&xls, 16_000)).await.unwrap();
    assert_eq!(blob.mime, Some(XLS));
    assert_eq!(t.blobs.put(b"folio;tema\n1;queja\n".to_vec()).await.unwrap().mime, Some("text/plain"));
    assert_eq!(t.blobs.put(vec![0u8, 1, 2, 3]).await.unwrap().mime, None);
}

async fn a_stream_over_the_limit_stores_nothing(t: Target) {
    let blobs = t.blobs.clone().with_max_size(10_000);
    let content = vec![42u8; 16_000];
    let result = blobs.put_stream(chunks(&content, 4_000)).await;
    assert!(matches!(result, Err(BlobError::TooLarge { limit: 10_000 })), "{result:?}");
    assert!(matches!(blobs.put(content.clone()).await, Err(BlobError::TooLarge { .. })));
    assert_eq!(t.objects().await, Vec::<String>::new());
    assert!(!t.blobs.exists(&sha256_hex(&content)).await.unwrap());

    let at_the_limit = blobs.put_stream(chunks(&content[..10_000], 4_000)).await.unwrap();
    assert_eq!(at_the_limit.size, 10_000);
    assert_eq!(t.objects().await, objects_of(&[&at_the_limit]));
}

async fn a_failing_stream_stores_nothing(t: Target) {
    let parts = vec![
        Ok(Bytes::from(vec![1u8; 5_000])),
        Ok(Bytes::from(vec![2u8; 5_000])),
        Err(std::io::Error::other("client went away")),
    ];
    let result = t.blobs.put_stream(futures_util::stream::iter(parts)).await;
    assert!(matches!(&result, Err(BlobError::Upload(e)) if e.to_string() == "client went away"), "{result:?}");
    assert_eq!(t.objects().await, Vec::<String>::new());
}

async fn a_cancelled_upload_stores_nothing(t: Target) {
    // The stream gives one chunk, then says it was asked for more and never answers; the upload
    // is dropped at that point, its first chunk written.
    let (asked, mut asked_rx) = tokio::sync::oneshot::channel::<()>();
    let mut asked = Some(asked);
    let mut first = Some(Bytes::from(vec![9u8; 20_000]));
    let stream = futures_util::stream::poll_fn(move |_| match first.take() {
        Some(chunk) => Poll::Ready(Some(Ok::<_, std::io::Error>(chunk))),
        None => {
            if let Some(asked) = asked.take() {
                let _ = asked.send(());
            }
            Poll::Pending
        }
    });
    let upload = t.blobs.put_stream(stream);
    tokio::select! {
        result = upload => panic!("the upload ended: {result:?}"),
        _ = &mut asked_rx => {}
    }
    assert_eq!(t.objects().await, Vec::<String>::new());
}

/// The local file's inode and modification time, to tell a rewrite; nothing on S3.
fn local_identity(t: &Target, blob: &BlobRef) -> Option<(u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    let Place::Local(root) = &t.place else { return None };
    let meta = std::fs::metadata(root.join(layout(&blob.sha256))).unwrap();
    Some((meta.ino(), meta.modified().unwrap()))
}

fn objects_of(blobs: &[&BlobRef]) -> Vec<String> {
    let mut names: Vec<_> = blobs.iter().map(|b| layout(&b.sha256)).collect();
    names.sort();
    names
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

// ---- sniffing and accept: lists ----------------------------------------------------------------

/// A real workbook, as the exports write them.
fn workbook() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write(0, 0, "folio").unwrap();
    sheet.write(1, 0, 1).unwrap();
    book.save_to_buffer().unwrap()
}

/// An OLE compound file with one stream of `size` bytes, as old Office formats are.
fn compound_file(stream: &str, size: usize) -> Vec<u8> {
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    file.create_stream(format!("/{stream}")).unwrap().write_all(&vec![0x55; size]).unwrap();
    file.flush().unwrap();
    file.into_inner().into_inner()
}

/// A ZIP archive of stored (uncompressed) entries, with its central directory.
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data) in entries {
        let offset = out.len() as u32;
        let (crc, len, name_len) = (crc32(data), data.len() as u32, name.len() as u16);
        out.extend_from_slice(b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0");
        for v in [crc, len, len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(b"PK\x01\x02\x14\0\x14\0\0\0\0\0\0\0\0\0");
        for v in [crc, len, len] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let (at, size, count) = (out.len() as u32, central.len() as u32, entries.len() as u16);
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |crc, &b| {
        (0..8).fold(crc ^ u32::from(b), |c, _| (c >> 1) ^ (0xEDB8_8320 & (c & 1).wrapping_neg()))
    })
}

/// A WAV file: a RIFF header and a few samples of silence.
fn wav() -> Vec<u8> {
    let samples = [0u8; 64];
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data");
    out.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    out.extend_from_slice(&samples);
    out
}

/// The files of the manuals' forms, each with the name it was uploaded under and what it is.
fn samples() -> Vec<(&'static str, Vec<u8>, Option<&'static str>)> {
    let docx = zip(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("_rels/.rels", b"<Relationships/>"),
        ("word/document.xml", b"<w:document/>"),
    ]);
    let plain_zip = zip(&[("llamadas/1.txt", b"hola"), ("llamadas/2.txt", b"adios")]);
    vec![
        ("informe.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec(), Some("application/pdf")),
        ("grafica.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec(), Some("image/png")),
        ("foto.jpg", b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec(), Some("image/jpeg")),
        ("consolidado.xlsx", workbook(), Some(XLSX)),
        ("acta.docx", docx, Some(DOCX)),
        ("historico.xls", compound_file("Workbook", 10_000), Some(XLS)),
        ("oficio.doc", compound_file("WordDocument", 10_000), Some(DOC)),
        ("reporte.csv", "folio,fecha,tema\n1,2025-03-01,Información\n".as_bytes().to_vec(), Some("text/csv")),
        ("notas.txt", "Llamada atendida.\r\n".as_bytes().to_vec(), Some("text/plain")),
        ("llamada.mp3", b"ID3\x04\0\0\0\0\0\x0a\0\0\0\0\0\0\0\0\0\0\xFF\xFB\x90\x64".to_vec(), Some("audio/mpeg")),
        ("llamada.wav", wav(), Some("audio/x-wav")),
        ("llamada.ogg", b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0".to_vec(), Some("audio/ogg")),
        ("grabaciones.zip", plain_zip, Some("application/zip")),
        // A PDF whose name says workbook, and a workbook whose name says text.
        ("disfrazado.xlsx", b"%PDF-1.4\n".to_vec(), Some("application/pdf")),
        ("tabla.csv", workbook(), Some(XLSX)),
        ("binario.csv", b"folio\0fecha".to_vec(), None),
    ]
}

#[test]
fn sniffing_reads_content_not_names() {
    for (name, bytes, expected) in samples() {
        assert_eq!(sniff_named(&bytes, name), expected, "{name}");
    }
}

#[test]
fn accept_lists_against_real_files() {
    let list = |entries: &[&str]| entries.iter().map(|e| e.to_string()).collect::<Vec<_>>();
    let matrix: &[(&[&str], &[&str])] = &[
        (&["application/pdf"], &["informe.pdf", "disfrazado.xlsx"]),
        (&[".pdf"], &["informe.pdf"]),
        (&[".xlsx"], &["consolidado.xlsx"]),
        (&[".xlsx", ".xls", "text/csv"], &["consolidado.xlsx", "historico.xls", "reporte.csv"]),
        (&[XLSX], &["consolidado.xlsx", "tabla.csv"]),
        (&["image/*"], &["grafica.png", "foto.jpg"]),
        (&["audio/*"], &["llamada.mp3", "llamada.wav", "llamada.ogg"]),
        (&[".mp3", "audio/wav"], &["llamada.mp3", "llamada.wav"]),
        (&["text/plain"], &["reporte.csv", "notas.txt"]),
        (&[".docx", ".doc"], &["acta.docx", "oficio.doc"]),
        (&[".zip"], &["grabaciones.zip"]),
    ];
    let samples = samples();
    for (accept, passing) in matrix {
        let accept = list(accept);
        let passed: Vec<&str> = samples
            .iter()
            .filter(|(name, bytes, _)| accepts(&accept, sniff(bytes), name))
            .map(|(name, _, _)| *name)
            .collect();
        assert_eq!(&passed, passing, "accept: {accept:?}");
    }
    let everything = samples.iter().filter(|(name, bytes, _)| accepts(&list(&["*/*"]), sniff(bytes), name)).count();
    assert_eq!(everything, samples.len());
}
