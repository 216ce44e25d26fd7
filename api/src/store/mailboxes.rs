//! What the mailbox pollers record: each message taken into a case or refused, and whether it
//! is marked on the server.

use jiff::Timestamp;

use super::{MailboxMessage, MailboxMessageRow, Store, StoreError};

impl Store {
    /// The highest UID recorded for `mailbox` under `uidvalidity`, taken or refused.
    pub async fn mailbox_last_uid(&self, mailbox: &str, uidvalidity: i64) -> Result<Option<i64>, StoreError> {
        dispatch!(self, r => r.mailbox_last_uid(mailbox, uidvalidity).await)
    }

    /// Whether messages of `mailbox` are recorded under another UIDVALIDITY.
    pub async fn mailbox_other_validity(&self, mailbox: &str, uidvalidity: i64) -> Result<bool, StoreError> {
        dispatch!(self, r => r.mailbox_other_validity(mailbox, uidvalidity).await)
    }

    /// Records that a message started (or found) the case `instance`.
    pub async fn mailbox_taken(
        &self,
        m: &MailboxMessage<'_>,
        instance: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, r => r.mailbox_taken(m, instance, now).await)
    }

    /// Records a refusal of a message and when to try it again (`None`: never).
    pub async fn mailbox_refused(
        &self,
        m: &MailboxMessage<'_>,
        error: &str,
        attempts: i64,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, r => r.mailbox_refused(m, error, attempts, retry_at, now).await)
    }

    /// Records that a message is marked on the server.
    pub async fn mailbox_marked(&self, mailbox: &str, uidvalidity: i64, uid: i64) -> Result<(), StoreError> {
        dispatch!(self, r => r.mailbox_marked(mailbox, uidvalidity, uid).await)
    }

    /// The messages a poll at `now` finishes: taken but not marked, or refused and due again.
    pub async fn mailbox_unfinished(
        &self,
        mailbox: &str,
        uidvalidity: i64,
        now: Timestamp,
    ) -> Result<Vec<MailboxMessageRow>, StoreError> {
        dispatch!(self, r => r.mailbox_unfinished(mailbox, uidvalidity, now).await)
    }

    /// Every message recorded for `mailbox`.
    pub async fn mailbox_messages(&self, mailbox: &str) -> Result<Vec<MailboxMessageRow>, StoreError> {
        dispatch!(self, r => r.mailbox_messages(mailbox).await)
    }
}
