//! Files uploaded for `file` fields, by uploader (the bytes are in the blob store).

use jiff::Timestamp;
use sqlx::Row;

use super::micros;
use crate::store::StoreError;

queries! {
    /// Records that `user` uploaded the blob `sha256` (`size` bytes, sniffed as `mime`); a
    /// second upload of the same content by the same user changes nothing.
    pub async fn record_upload(
        &self,
        sha256: &str,
        user: &str,
        size: u64,
        mime: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let size = i64::try_from(size).map_err(|_| StoreError::Corrupt(format!("upload of {size} bytes")))?;
        sqlx::query::<DB>(
            "INSERT INTO uploads (sha256, user_name, size, mime, uploaded_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256, user_name) DO NOTHING",
        )
        .bind(sha256.to_string())
        .bind(user.to_string())
        .bind(size)
        .bind(mime.map(str::to_string))
        .bind(micros(at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The size and sniffed type of the blob `sha256`, when `user` uploaded it.
    pub async fn upload(&self, sha256: &str, user: &str) -> Result<Option<(u64, Option<String>)>, StoreError> {
        let row = sqlx::query::<DB>("SELECT size, mime FROM uploads WHERE sha256 = $1 AND user_name = $2")
            .bind(sha256.to_string())
            .bind(user.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            let size: i64 = r.try_get("size")?;
            Ok((u64::try_from(size).unwrap_or_default(), r.try_get("mime")?))
        })
        .transpose()
    }
}
