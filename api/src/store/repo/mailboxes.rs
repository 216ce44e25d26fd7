//! Messages of the mailboxes `serve --mailboxes` reads: which were taken (and into which case),
//! which are marked on the server, which the start form refused and when to try them again.

use jiff::Timestamp;
use sqlx::Row;

use super::{maybe_instant, micros};
use crate::store::{MailboxMessage, MailboxMessageRow, StoreError};

queries! {
    /// The highest UID recorded for `mailbox` under `uidvalidity`, taken or refused.
    pub async fn mailbox_last_uid(&self, mailbox: &str, uidvalidity: i64) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query::<DB>("SELECT MAX(uid) AS uid FROM mailbox_messages WHERE mailbox = $1 AND uidvalidity = $2")
            .bind(mailbox.to_string())
            .bind(uidvalidity)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("uid")?)
    }

    /// Whether messages of `mailbox` are recorded under a UIDVALIDITY other than `uidvalidity`.
    pub async fn mailbox_other_validity(&self, mailbox: &str, uidvalidity: i64) -> Result<bool, StoreError> {
        let row = sqlx::query::<DB>(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM mailbox_messages WHERE mailbox = $1 AND uidvalidity <> $2 LIMIT 1) AS other",
        )
        .bind(mailbox.to_string())
        .bind(uidvalidity)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Records that message `m` started (or found) the case `instance`; a refusal recorded
    /// before is cleared.
    pub async fn mailbox_taken(&self, m: &MailboxMessage<'_>, instance: &str, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>(
            "INSERT INTO mailbox_messages (mailbox, uidvalidity, uid, message_id, instance_id, first_seen_at, taken_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (mailbox, uidvalidity, uid) DO UPDATE SET \
             instance_id = excluded.instance_id, taken_at = excluded.taken_at, error = NULL, retry_at = NULL",
        )
        .bind(m.mailbox.to_string())
        .bind(m.uidvalidity)
        .bind(m.uid)
        .bind(m.message_id.map(str::to_string))
        .bind(instance.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records the `attempts`-th refusal of message `m` and when to try it again (`None`: never);
    /// a message taken meanwhile (by another node) stays taken.
    pub async fn mailbox_refused(
        &self,
        m: &MailboxMessage<'_>,
        error: &str,
        attempts: i64,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query::<DB>(
            "INSERT INTO mailbox_messages (mailbox, uidvalidity, uid, message_id, attempts, error, retry_at, first_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (mailbox, uidvalidity, uid) DO UPDATE SET \
             message_id = COALESCE(excluded.message_id, mailbox_messages.message_id), \
             attempts = excluded.attempts, error = excluded.error, retry_at = excluded.retry_at \
             WHERE mailbox_messages.instance_id IS NULL",
        )
        .bind(m.mailbox.to_string())
        .bind(m.uidvalidity)
        .bind(m.uid)
        .bind(m.message_id.map(str::to_string))
        .bind(attempts)
        .bind(error.to_string())
        .bind(retry_at.map(micros))
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records that message `uid` is marked on the server (flagged or moved).
    pub async fn mailbox_marked(&self, mailbox: &str, uidvalidity: i64, uid: i64) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE mailbox_messages SET marked = TRUE WHERE mailbox = $1 AND uidvalidity = $2 AND uid = $3")
            .bind(mailbox.to_string())
            .bind(uidvalidity)
            .bind(uid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The messages of `mailbox` under `uidvalidity` a poll at `now` finishes: taken but not yet
    /// marked, or refused and due to be tried again; by UID.
    pub async fn mailbox_unfinished(
        &self,
        mailbox: &str,
        uidvalidity: i64,
        now: Timestamp,
    ) -> Result<Vec<MailboxMessageRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM mailbox_messages WHERE mailbox = $1 AND uidvalidity = $2 AND marked = FALSE \
             AND (instance_id IS NOT NULL OR retry_at <= $3) ORDER BY uid"
        );
        let rows = sqlx::query::<DB>(&sql)
            .bind(mailbox.to_string())
            .bind(uidvalidity)
            .bind(micros(now))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(Self::mailbox_row).collect()
    }

    /// Every message recorded for `mailbox`, by UIDVALIDITY and UID.
    pub async fn mailbox_messages(&self, mailbox: &str) -> Result<Vec<MailboxMessageRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM mailbox_messages WHERE mailbox = $1 ORDER BY uidvalidity, uid");
        let rows = sqlx::query::<DB>(&sql).bind(mailbox.to_string()).fetch_all(self.pool()).await?;
        rows.iter().map(Self::mailbox_row).collect()
    }

    fn mailbox_row(r: &DB::Row) -> Result<MailboxMessageRow, StoreError> {
        Ok(MailboxMessageRow {
            uidvalidity: r.try_get("uidvalidity")?,
            uid: r.try_get("uid")?,
            message_id: r.try_get("message_id")?,
            instance_id: r.try_get("instance_id")?,
            marked: r.try_get("marked")?,
            attempts: r.try_get("attempts")?,
            error: r.try_get("error")?,
            retry_at: maybe_instant(r.try_get("retry_at")?, "mailbox_messages.retry_at")?,
        })
    }
}

const COLUMNS: &str = "uidvalidity, uid, message_id, instance_id, marked, attempts, error, retry_at";
