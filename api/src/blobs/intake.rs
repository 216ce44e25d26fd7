//! An upload as it arrives, whichever backend keeps it: hashed, counted against the size limit
//! before a chunk is kept, its beginning held back for sniffing.

use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::BlobError;
use tramite_engine::files::sniff;

/// How much of the beginning of an upload is kept for sniffing.
const HEAD: usize = 64 * 1024;

pub(super) use tramite_engine::files::sha256_hex;

/// The running state of one upload.
#[derive(Debug)]
pub(super) struct Intake {
    hasher: Sha256,
    size: u64,
    limit: u64,
    head: Vec<u8>,
}

/// An upload read to its end.
#[derive(Debug)]
pub(super) struct Received {
    pub sha256: String,
    pub size: u64,
    head: Vec<u8>,
}

impl Intake {
    pub fn new(limit: u64) -> Intake {
        Intake { hasher: Sha256::new(), size: 0, limit, head: Vec::new() }
    }

    /// The next chunk of the stream, counted and hashed: `None` at its end, `TooLarge` when it
    /// would pass the limit (the chunk is then not to be kept), `Upload` when the stream failed.
    pub async fn next<S, E>(&mut self, stream: &mut Pin<&mut S>) -> Result<Option<Bytes>, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Some(chunk) = stream.next().await else { return Ok(None) };
        let chunk = chunk.map_err(|e| BlobError::Upload(e.into()))?;
        let size = self.size.saturating_add(chunk.len() as u64);
        if size > self.limit {
            return Err(BlobError::TooLarge { limit: self.limit });
        }
        self.size = size;
        self.hasher.update(&chunk);
        if self.head.len() < HEAD {
            let take = chunk.len().min(HEAD - self.head.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        Ok(Some(chunk))
    }

    pub fn finish(self) -> Received {
        Received { sha256: format!("{:x}", self.hasher.finalize()), size: self.size, head: self.head }
    }
}

impl Received {
    /// Whether sniffing needs the whole content rather than the beginning held back
    /// (a container longer than that beginning).
    pub fn needs_whole(&self) -> bool {
        (self.head.len() as u64) < self.size && sniff::needs_whole(&self.head)
    }

    /// What the upload is, from the beginning held back (see [`Received::needs_whole`]).
    pub fn sniff_head(&self) -> Option<&'static str> {
        sniff::sniff_part(&self.head, self.head.len() as u64 == self.size)
    }
}
