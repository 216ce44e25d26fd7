//! Blobs in S3-compatible object storage, through `object_store`. An upload is held in memory
//! (at most the size limit) while it is hashed, then sent in one `PUT` with `If-None-Match: *`
//! (`PutMode::Create`): an object appears whole or not at all, and one already there is never
//! rewritten. Several nodes may share a bucket.

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload};

use super::intake::Intake;
use super::{BlobError, BlobRef, layout, sniff};

/// A bucket and the key prefix under which blobs are kept.
#[derive(Debug, Clone)]
pub(super) struct S3Bucket {
    store: Arc<AmazonS3>,
    prefix: String,
    url: String,
}

impl S3Bucket {
    pub fn open<K, V>(url: &str, settings: impl IntoIterator<Item = (K, V)>) -> Result<S3Bucket, BlobError>
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        let bad = |why: &str| BlobError::Config(format!("{url}: {why}"));
        let rest = url.strip_prefix("s3://").ok_or_else(|| bad("an S3 location is s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket named (s3://bucket/prefix)"));
        }
        let prefix = prefix.trim_matches('/').to_string();
        Path::parse(&prefix).map_err(|e| bad(&e.to_string()))?;

        let mut builder = AmazonS3Builder::new();
        for (key, value) in settings {
            if let Ok(key) = key.as_ref().to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, value);
            }
        }
        builder = builder.with_bucket_name(bucket);
        let endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint);
        if endpoint.as_deref().is_some_and(is_loopback_http) {
            builder = builder.with_allow_http(true);
        }
        let store = builder.build().map_err(|e| bad(&e.to_string()))?;
        Ok(S3Bucket { store: Arc::new(store), prefix, url: url.trim_end_matches('/').to_string() })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn path(&self, key: &str) -> Result<Path, BlobError> {
        let full = if self.prefix.is_empty() { layout(key) } else { format!("{}/{}", self.prefix, layout(key)) };
        Path::parse(full).map_err(|e| BlobError::ObjectStore(e.into()))
    }

    pub async fn put<S, E>(&self, mut stream: Pin<&mut S>, limit: u64) -> Result<BlobRef, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut intake = Intake::new(limit);
        let mut chunks = Vec::new();
        while let Some(chunk) = intake.next(&mut stream).await? {
            chunks.push(chunk);
        }
        let received = intake.finish();
        let payload = PutPayload::from_iter(chunks);
        let mime = if received.needs_whole() { sniff(&Bytes::from(payload.clone())) } else { received.sniff_head() };
        let blob = BlobRef { sha256: received.sha256, size: received.size, mime };

        let path = self.path(&blob.sha256)?;
        if self.exists_at(&path).await? {
            return Ok(blob); // stored before: same content, nothing to send
        }
        match self.store.put_opts(&path, payload.clone(), PutMode::Create.into()).await {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(blob),
            // A store configured without conditional writes (`AWS_CONDITIONAL_PUT=disabled`):
            // a plain PUT of the same bytes under the same key is harmless.
            Err(object_store::Error::NotImplemented { .. }) => {
                self.store.put(&path, payload).await?;
                Ok(blob)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        match self.store.get(&self.path(key)?).await {
            Ok(found) => Ok(found.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(key.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        self.exists_at(&self.path(key)?).await
    }

    async fn exists_at(&self, path: &Path) -> Result<bool, BlobError> {
        match self.store.head(path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// `http://` to a loopback address (`127.0.0.0/8`, `[::1]`, `localhost`): a test or a local
/// gateway, where TLS is not needed.
fn is_loopback_http(endpoint: &str) -> bool {
    let Some(rest) = endpoint.strip_prefix("http://") else { return false };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(is_loopback_http("http://127.0.0.1:9000"));
        assert!(is_loopback_http("http://127.1.2.3/"));
        assert!(is_loopback_http("http://localhost:9000/x"));
        assert!(is_loopback_http("http://[::1]:9000"));
        assert!(!is_loopback_http("http://10.0.0.5:9000"));
        assert!(!is_loopback_http("http://127.0.0.1.example.com"));
        assert!(!is_loopback_http("https://127.0.0.1:9000"));
    }

    #[test]
    fn locations_name_a_bucket_and_an_optional_prefix() {
        let local = [("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("AWS_REGION", "us-east-1")];
        let bucket = S3Bucket::open("s3://archivos/tramite/prod/", local).map_err(|e| e.to_string());
        let bucket = bucket.as_ref().map(|b| (b.prefix.as_str(), b.url())).map_err(String::as_str);
        assert_eq!(bucket, Ok(("tramite/prod", "s3://archivos/tramite/prod")));
        assert!(matches!(S3Bucket::open("s3:///x", local), Err(BlobError::Config(_))));
        assert!(matches!(S3Bucket::open("http://archivos", local), Err(BlobError::Config(_))));
    }
}
