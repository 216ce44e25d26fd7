//! Uploaded files, stored by content: a blob's key is the SHA-256 of its bytes, so the same file
//! uploaded twice is stored once and a stored blob never changes. Two backends behind one type:
//! a local directory (the default) and S3-compatible object storage (for several nodes).
//!
//! Layout, in either: `sha256/ab/cd/abcd…` (the hex digest, fanned out by its first two bytes).
//! A blob appears under its key whole or not at all: the local backend writes a temporary file,
//! fsyncs it and renames it into place; S3 stores an object in one `PUT`. A failed or cancelled
//! upload, or one over the size limit, leaves nothing behind under a key.
//!
//! What a file is comes from its bytes ([`sniff`]), and a field's `accept:` list is checked with
//! [`accepts`]. Errors are [`BlobError`]; an HTTP layer maps `NotFound` and `InvalidKey` to 404,
//! `TooLarge` to 413, `Upload` to 400 and the rest to 500 (logged, not shown).

mod intake;
mod local;
mod s3;

use std::path::{Path, PathBuf};
use std::pin::pin;

use bytes::Bytes;
use futures_util::Stream;

pub use tramite_engine::files::{accepts, sniff, sniff_named};

use local::LocalDir;
use s3::S3Bucket;

/// The default size limit of one blob: 32 MiB.
pub const DEFAULT_MAX_SIZE: u64 = 32 * 1024 * 1024;

/// The folder for blobs when `--files` is not given, named after this.
pub const DEFAULT_DIR_NAME: &str = "tramite-files";

/// A stored blob: its key (the lower-case hex SHA-256 of its content), its size and what its
/// content is ([`sniff`]; `None` when unrecognised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    pub sha256: String,
    pub size: u64,
    pub mime: Option<&'static str>,
}

/// What can go wrong storing or reading a blob.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no file {0} is stored")]
    NotFound(String),
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("not a SHA-256 file key: {0:?}")]
    InvalidKey(String),
    /// The stream of the upload itself failed (the client went away, a bad multipart body).
    #[error("the upload was interrupted: {0}")]
    Upload(Box<dyn std::error::Error + Send + Sync>),
    /// A stored blob whose bytes no longer hash to its key.
    #[error("the stored file {0} does not match its SHA-256")]
    Corrupt(String),
    /// A `--files` value or an S3 setting that cannot be used.
    #[error("file storage: {0}")]
    Config(String),
    #[error("file storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("object storage: {0}")]
    ObjectStore(#[from] object_store::Error),
}

/// Where uploaded files are kept, and how large one may be.
#[derive(Debug, Clone)]
pub struct Blobs {
    backend: Backend,
    max_size: u64,
}

#[derive(Debug, Clone)]
enum Backend {
    Local(LocalDir),
    S3(S3Bucket),
}

impl Blobs {
    /// Blobs in a local directory, created (with its `tmp/` folder) if missing. Called once at
    /// start-up: it touches the file system synchronously.
    pub fn local(dir: impl Into<PathBuf>) -> Result<Blobs, BlobError> {
        Ok(Blobs::with(Backend::Local(LocalDir::open(dir.into())?)))
    }

    /// Blobs in S3-compatible object storage at `url` (`s3://bucket` or `s3://bucket/prefix`).
    /// `settings` are `object_store`'s S3 keys, as the `AWS_*` environment variables name them,
    /// case-insensitive (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, …); unknown ones are ignored. Plain HTTP is allowed for an endpoint on
    /// loopback, elsewhere only with `AWS_ALLOW_HTTP=true`. Nothing is sent before the first
    /// call.
    pub fn s3<K, V>(url: &str, settings: impl IntoIterator<Item = (K, V)>) -> Result<Blobs, BlobError>
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        Ok(Blobs::with(Backend::S3(S3Bucket::open(url, settings)?)))
    }

    /// The value of `tramite serve --files`: `s3://bucket[/prefix]` (configured further by the
    /// `AWS_*` environment variables) or a directory.
    pub fn from_arg(arg: &str) -> Result<Blobs, BlobError> {
        let arg = arg.trim();
        if arg.starts_with("s3://") {
            Blobs::s3(arg, std::env::vars().filter(|(key, _)| key.starts_with("AWS_")))
        } else if arg.is_empty() || arg.contains("://") {
            Err(BlobError::Config(format!("--files {arg:?}: give a directory or s3://bucket/prefix")))
        } else {
            Blobs::local(arg)
        }
    }

    /// The directory used when `--files` is not given: `tramite-files` beside the SQLite
    /// database file, or in the working directory for PostgreSQL or an in-memory database.
    pub fn default_dir(database_url: &str) -> PathBuf {
        let file = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:"));
        let file =
            file.map(|f| f.split('?').next().unwrap_or_default()).filter(|f| !f.is_empty() && !f.starts_with(':'));
        match file.and_then(|f| Path::new(f).parent()) {
            Some(parent) => parent.join(DEFAULT_DIR_NAME),
            None => PathBuf::from(DEFAULT_DIR_NAME),
        }
    }

    fn with(backend: Backend) -> Blobs {
        Blobs { backend, max_size: DEFAULT_MAX_SIZE }
    }

    /// The same storage with another size limit for one blob, in bytes.
    pub fn with_max_size(self, max_size: u64) -> Blobs {
        Blobs { max_size, ..self }
    }

    /// The size limit of one blob, in bytes.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// Stores `bytes` under their SHA-256; the same content again stores nothing new.
    pub async fn put(&self, bytes: impl Into<Bytes>) -> Result<BlobRef, BlobError> {
        let bytes: Bytes = bytes.into();
        self.put_stream(futures_util::stream::iter([Ok::<_, std::convert::Infallible>(bytes)])).await
    }

    /// Stores an upload as it arrives (e.g. an axum multipart field), hashing on the way. Over
    /// [`max_size`](Self::max_size) it stops reading and fails with [`BlobError::TooLarge`]; a
    /// failing stream fails with [`BlobError::Upload`]. Either way, or if the future is
    /// dropped, nothing is stored. The local backend spools to disk; S3 holds the upload in
    /// memory (at most `max_size`) and sends it in one request.
    pub async fn put_stream<S, E>(&self, stream: S) -> Result<BlobRef, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let stream = pin!(stream);
        match &self.backend {
            Backend::Local(dir) => dir.put(stream, self.max_size).await,
            Backend::S3(bucket) => bucket.put(stream, self.max_size).await,
        }
    }

    /// The content of a stored blob, checked against its key.
    pub async fn get(&self, sha256: &str) -> Result<Bytes, BlobError> {
        let key = key(sha256)?;
        let bytes = match &self.backend {
            Backend::Local(dir) => dir.get(&key).await?,
            Backend::S3(bucket) => bucket.get(&key).await?,
        };
        // Hashing up to `max_size` bytes is CPU work: off the async workers.
        let content = bytes.clone();
        let actual = tokio::task::spawn_blocking(move || intake::sha256_hex(&content))
            .await
            .map_err(|e| BlobError::Io(std::io::Error::other(e)))?;
        if actual != key {
            return Err(BlobError::Corrupt(key));
        }
        Ok(bytes)
    }

    /// Whether a blob is stored under this key.
    pub async fn exists(&self, sha256: &str) -> Result<bool, BlobError> {
        let key = key(sha256)?;
        match &self.backend {
            Backend::Local(dir) => dir.exists(&key).await,
            Backend::S3(bucket) => bucket.exists(&key).await,
        }
    }
}

impl std::fmt::Display for Blobs {
    /// Where the blobs are, for the start-up log: a directory or `s3://bucket/prefix`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.backend {
            Backend::Local(dir) => write!(f, "{}", dir.root().display()),
            Backend::S3(bucket) => write!(f, "{}", bucket.url()),
        }
    }
}

/// A key as given by a caller, checked: 64 hex digits, returned in lower case. Anything else
/// (a path, `..`) never reaches a backend.
fn key(sha256: &str) -> Result<String, BlobError> {
    if sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(sha256.to_ascii_lowercase())
    } else {
        Err(BlobError::InvalidKey(sha256.chars().take(80).collect()))
    }
}

/// Where a blob lives below the root of either backend: `sha256/ab/cd/abcd…`.
fn layout(key: &str) -> String {
    format!("sha256/{}/{}/{key}", &key[..2], &key[2..4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_64_hex_digits_in_lower_case() {
        let hex = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
        assert_eq!(key(hex).ok(), Some(hex.to_ascii_lowercase()));
        assert!(matches!(key("../../etc/passwd"), Err(BlobError::InvalidKey(_))));
        assert!(matches!(key(&hex[1..]), Err(BlobError::InvalidKey(_))));
        assert!(matches!(key(&format!("{}/", &hex[1..])), Err(BlobError::InvalidKey(_))));
    }

    #[test]
    fn layout_fans_out_by_the_first_two_bytes() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(layout(hex), format!("sha256/e3/b0/{hex}"));
    }

    #[test]
    fn the_default_directory_sits_beside_the_sqlite_file() {
        assert_eq!(Blobs::default_dir("sqlite://data/tramite.db"), Path::new("data/tramite-files"));
        assert_eq!(
            Blobs::default_dir("sqlite:///var/lib/tramite/t.db?mode=rwc"),
            Path::new("/var/lib/tramite/tramite-files")
        );
        assert_eq!(Blobs::default_dir("sqlite://tramite.db"), Path::new("tramite-files"));
        assert_eq!(Blobs::default_dir("sqlite::memory:"), Path::new("tramite-files"));
        assert_eq!(Blobs::default_dir("postgres://u@h/db"), Path::new("tramite-files"));
    }

    #[test]
    fn files_arguments() {
        assert!(matches!(Blobs::from_arg(""), Err(BlobError::Config(_))));
        assert!(matches!(Blobs::from_arg("gs://bucket"), Err(BlobError::Config(_))));
        assert!(matches!(Blobs::from_arg("s3://"), Err(BlobError::Config(_))));
    }
}
