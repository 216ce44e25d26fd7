//! Blobs in a local directory. An upload is written to `tmp/` under the root (the same file
//! system, so the final rename is atomic; the key is known only once the last byte is hashed),
//! fsynced, then renamed to `sha256/ab/cd/<hex>` and the directories above it fsynced. Until
//! the rename nothing is visible under the key; an error or a dropped future removes the
//! temporary file. (A file whose creation was still under way on tokio's blocking pool when the
//! future was dropped, or one a crash left, stays in `tmp/` until the next start clears it.)

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use tokio::io::AsyncWriteExt;

use super::intake::Intake;
use super::{BlobError, BlobRef, layout, sniff};

/// How old a temporary upload must be to be taken for abandoned. (A file-system age, not a
/// domain time: it reads the system clock, like the file's own modification time does.)
const STALE_UPLOAD: Duration = Duration::from_secs(3600);

/// The root of a local blob directory.
#[derive(Debug, Clone)]
pub(super) struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// Creates the directory if missing and clears `tmp/` of uploads older than an hour: those
    /// a crash interrupted, or whose file was created after its upload was cancelled.
    pub fn open(root: PathBuf) -> Result<LocalDir, BlobError> {
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(|e| BlobError::Config(format!("{}: {e}", root.display())))?;
        for entry in std::fs::read_dir(&tmp)?.flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|at| at.elapsed().is_ok_and(|age| age > STALE_UPLOAD));
            if stale && entry.file_name().to_string_lossy().ends_with(".part") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(LocalDir { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(layout(key))
    }

    pub async fn put<S, E>(&self, mut stream: Pin<&mut S>, limit: u64) -> Result<BlobRef, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut temp = TempFile::new(self.root.join("tmp").join(format!("{:016x}.part", rand::random::<u64>())));
        let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&temp.path).await?;
        let mut intake = Intake::new(limit);
        while let Some(chunk) = intake.next(&mut stream).await? {
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        let received = intake.finish();
        let mime =
            if received.needs_whole() { sniff(&tokio::fs::read(&temp.path).await?) } else { received.sniff_head() };
        let blob = BlobRef { sha256: received.sha256, size: received.size, mime };

        let dest = self.path(&blob.sha256);
        if tokio::fs::try_exists(&dest).await? {
            return Ok(blob); // stored before: same content, nothing to rewrite
        }
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::rename(&temp.path, &dest).await?;
        temp.renamed = true;
        sync_dirs(dir, &self.root).await?;
        Ok(blob)
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        match tokio::fs::read(self.path(key)).await {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(BlobError::NotFound(key.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        Ok(tokio::fs::try_exists(self.path(key)).await?)
    }
}

/// A temporary file, removed when dropped (an error, a size limit, a cancelled upload) unless
/// it was renamed into place.
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
    renamed: bool,
}

impl TempFile {
    fn new(path: PathBuf) -> TempFile {
        TempFile { path, renamed: false }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.renamed {
            return;
        }
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != ErrorKind::NotFound
        {
            tracing::warn!(file = %self.path.display(), error = %e, "could not remove a temporary upload");
        }
    }
}

/// Fsyncs `dir` and each directory above it up to `root`, so the rename and any directory it
/// needed survive a crash.
async fn sync_dirs(dir: PathBuf, root: &Path) -> Result<(), BlobError> {
    let root = root.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut dir = dir.as_path();
        loop {
            std::fs::File::open(dir)?.sync_all()?;
            match dir.parent() {
                Some(parent) if dir != root && parent.starts_with(&root) => dir = parent,
                _ => return Ok(()),
            }
        }
    })
    .await
    .map_err(|e| BlobError::Io(std::io::Error::other(e)))?
}
