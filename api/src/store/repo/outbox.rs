//! The outbox: messages written with the transition that caused them, sent by the worker.

use jiff::Timestamp;
use sqlx::Row;

use super::{instant, maybe_instant, micros};
use tramite_engine::files::FileValue;

use crate::store::{MessageRow, OutboxRow, StoreError};

const MESSAGE_COLUMNS: &str = "instance_id, kind, recipient, subject, created_at, sent_at, attempts, last_error";

queries! {
    /// Leases up to `limit` messages due to be sent (never sent, retry time reached, no lease
    /// or an expired one) to `node` until `until`, oldest first. On PostgreSQL rows another
    /// node is leasing at this moment are skipped (`FOR UPDATE SKIP LOCKED`); SQLite has one
    /// writer at a time.
    pub async fn lease_messages(
        &self,
        node: &str,
        now: Timestamp,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let sql = format!(
            "UPDATE outbox SET leased_by = $1, lease_until = $2 WHERE id IN (\
             SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $3 \
             AND (lease_until IS NULL OR lease_until <= $3) ORDER BY id LIMIT $4{}) \
             RETURNING id, recipient, subject, body, attempts, attachments",
            DB::DIALECT.skip_locked
        );
        let rows = sqlx::query::<DB>(&sql)
            .bind(node.to_string())
            .bind(micros(until))
            .bind(micros(now))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(OutboxRow {
                    id: r.try_get("id")?,
                    recipient: r.try_get("recipient")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    attempts: r.try_get("attempts")?,
                    attachments: attachments_of(r.try_get("attachments")?),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by_key(|m| m.id);
        Ok(out)
    }

    /// How many messages are not sent yet.
    pub async fn outbox_backlog(&self) -> Result<i64, StoreError> {
        let row = sqlx::query::<DB>("SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL").fetch_one(self.pool()).await?;
        Ok(row.try_get("n")?)
    }

    /// Answers a trivial query: the database is reachable (`/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query::<DB>("SELECT 1").execute(self.pool()).await?;
        Ok(())
    }

    /// Records a message as sent.
    pub async fn mark_sent(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL, leased_by = NULL, lease_until = NULL WHERE id = $2 AND sent_at IS NULL")
            .bind(micros(now))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub async fn mark_failed(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, leased_by = NULL, lease_until = NULL WHERE id = $3 AND sent_at IS NULL")
            .bind(error.to_string())
            .bind(micros(retry_at))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    fn message_row(r: &DB::Row) -> Result<MessageRow, StoreError> {
        Ok(MessageRow {
            instance_id: r.try_get("instance_id")?,
            kind: r.try_get("kind")?,
            recipient: r.try_get("recipient")?,
            subject: r.try_get("subject")?,
            created_at: instant(r.try_get("created_at")?, "outbox.created_at")?,
            sent_at: maybe_instant(r.try_get("sent_at")?, "outbox.sent_at")?,
            attempts: r.try_get("attempts")?,
            last_error: r.try_get("last_error")?,
        })
    }

    /// Messages queued in `[from, to)`, newest first.
    pub async fn messages_between(&self, from: Timestamp, to: Timestamp, limit: i64) -> Result<Vec<MessageRow>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM outbox WHERE created_at >= $1 AND created_at < $2 ORDER BY id DESC LIMIT $3");
        let rows = sqlx::query::<DB>(&sql).bind(micros(from)).bind(micros(to)).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(Self::message_row).collect()
    }

    /// The messages an instance produced, oldest first.
    pub async fn messages_of(&self, instance: &str) -> Result<Vec<MessageRow>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM outbox WHERE instance_id = $1 ORDER BY id");
        let rows = sqlx::query::<DB>(&sql).bind(instance.to_string()).fetch_all(self.pool()).await?;
        rows.iter().map(Self::message_row).collect()
    }
}

/// The attachments column of a message: a JSON list of file values, or NULL for none.
pub(crate) fn attachments_json(files: &[FileValue]) -> Option<String> {
    (!files.is_empty()).then(|| serde_json::Value::Array(files.iter().map(FileValue::to_value).collect()).to_string())
}

/// The file values of an attachments column (values that do not read back are left out).
fn attachments_of(text: Option<String>) -> Vec<FileValue> {
    let Some(list) = text.and_then(|t| serde_json::from_str::<Vec<serde_json::Value>>(&t).ok()) else {
        return Vec::new();
    };
    list.iter().filter_map(|v| FileValue::from_value(v).ok()).collect()
}
