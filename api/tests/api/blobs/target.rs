//! Where a storage test's blobs go: a fresh local directory, or a fresh prefix in an S3 bucket.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use object_store::ObjectStore;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use tramite::blobs::Blobs;

/// A blob store under test and a way to list everything it holds.
pub struct Target {
    pub blobs: Blobs,
    pub place: Place,
}

pub enum Place {
    Local(PathBuf),
    S3 { store: AmazonS3, prefix: String },
}

impl Target {
    /// A fresh local directory under `target/`.
    pub fn local(test: &str) -> Target {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/blobs-tests").join(format!(
            "{test}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Target { blobs: Blobs::local(&dir).unwrap(), place: Place::Local(dir) }
    }

    /// A fresh prefix in the test bucket, or `None` (with a notice) when no S3 server is named.
    pub async fn s3(test: &str) -> Option<Target> {
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

    /// Replaces a stored blob's bytes behind the store's back, as a damaged disk would.
    pub async fn tamper(&self, sha256: &str, bytes: &'static [u8]) {
        match &self.place {
            Place::Local(root) => std::fs::write(root.join(layout(sha256)), bytes).unwrap(),
            Place::S3 { store, prefix } => {
                let path = object_store::path::Path::from(format!("{prefix}/{}", layout(sha256)));
                store.put_opts(&path, bytes.into(), Default::default()).await.unwrap();
            }
        }
    }

    /// Every object stored, as paths relative to the root (local: every file, `tmp/` included).
    pub async fn objects(&self) -> Vec<String> {
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

impl Drop for Target {
    /// A local directory is removed after a passing test and kept after a failing one.
    fn drop(&mut self) {
        if let Place::Local(dir) = &self.place
            && !std::thread::panicking()
        {
            let _ = std::fs::remove_dir_all(dir);
        }
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

/// Where a blob lives below the root: `sha256/ab/cd/<hex>`.
pub fn layout(sha256: &str) -> String {
    format!("sha256/{}/{}/{sha256}", &sha256[..2], &sha256[2..4])
}
