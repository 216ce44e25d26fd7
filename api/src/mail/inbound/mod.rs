//! Inbound e-mail: each new message of a mailbox (`serve --mailboxes`) starts a case of its
//! process, its parts filling the start form as the process's `start.mailbox` says.
//!
//! Which messages are new is kept in the database, by UID: a poll takes the folder's messages
//! above the highest UID recorded for it (under the folder's UIDVALIDITY), in ascending order,
//! and records each after its case is committed; only then is the message marked on the server
//! (`\Seen`, or moved). Flags are not what decides: a person reading the mailbox does not hide
//! a message from Trámite. Each case is started with a key made of the message's own words
//! ([`message::Incoming::key`]), so a message taken again — a node that died between the commit
//! and the record, two nodes polling at once, a server that renumbered its messages (a new
//! UIDVALIDITY) — finds the case it started instead of starting another.
//!
//! A pass stops at the first failure that is not the message's (the server, the database, the
//! blob store), leaving that message and the ones after it for the next pass; so the UIDs
//! recorded are never above one still to take. A message the start form refuses is recorded as
//! refused, left unread on the server and tried again later ([`retry_delay`]), and the pass goes
//! on to the next one.

pub mod config;
pub mod imap;
pub mod message;

use std::sync::Arc;
use std::time::Duration;

use tramite_engine::files::{FileValue, sniff};
use tramite_engine::machine::CommandError;

pub use config::{MailboxConfig, Marking, Security};
pub use imap::{Folder, ImapError};

use crate::blobs::BlobError;
use crate::runtime::{Deployed, Runtime, RuntimeError};
use crate::store::{MailboxMessage, StoreError};

/// Who started a case from a message, as the case's history shows it.
pub const MAIL_AUTHOR: &str = "correo";

/// Why a poll stopped.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("starting the case: {0}")]
    Runtime(RuntimeError),
    #[error("storing the attachment: {0}")]
    Files(BlobError),
    #[error("{0}")]
    Process(String),
}

/// What a poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Cases started.
    pub started: usize,
    /// Messages whose case was there already (started by another node, or before a restart).
    pub found: usize,
    /// Messages the start form refused this time.
    pub refused: usize,
    /// Messages marked on the server whose case was recorded in an earlier pass.
    pub marked_late: usize,
}

/// How long after its `attempts`-th refusal a message is tried again: a minute, doubling up to
/// six hours. A process fixed meanwhile (a field made optional, a larger `max_size`) takes it.
pub fn retry_delay(attempts: i64) -> jiff::SignedDuration {
    let minutes = 2i64.saturating_pow(attempts.clamp(1, 20) as u32 - 1).min(360);
    jiff::SignedDuration::from_mins(minutes)
}

/// Polls `mailbox` until the process stops: a pass, then a pause of its poll interval (real
/// time: how often a server is asked, not a time of the domain). After failed passes the pause
/// doubles, up to [`MOST_PAUSE`], so a wrong password does not get the account locked by the
/// server for too many failed sign-ins.
pub async fn run(rt: Arc<Runtime>, mailbox: MailboxConfig) {
    tracing::info!(mailbox = ?mailbox.name, process = ?mailbox.process, folder = ?mailbox.folder, "reading a mailbox");
    let mut failures = 0u32;
    loop {
        match poll(&rt, &mailbox).await {
            Ok(_) => failures = 0,
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(mailbox = ?mailbox.name, error = %e, failures, "mailbox not read; trying again later");
            }
        }
        tokio::time::sleep(pause(mailbox.poll, failures)).await;
    }
}

/// The longest pause between two polls after failures.
pub const MOST_PAUSE: Duration = Duration::from_secs(600);

/// The pause after a pass: the poll interval, doubled for each failure in a row before it, at
/// most [`MOST_PAUSE`] (or the interval, if longer).
pub fn pause(poll: Duration, failures: u32) -> Duration {
    let doubled = poll.saturating_mul(1 << failures.saturating_sub(1).min(16));
    if failures == 0 { poll } else { doubled.min(MOST_PAUSE.max(poll)) }
}

/// One pass over a mailbox: marks what earlier passes took but could not mark, tries again
/// the refused messages now due, then takes the new messages in UID order. A pass that fails is
/// counted (`tramite_mailbox_poll_failures_total`).
pub async fn poll(rt: &Runtime, mailbox: &MailboxConfig) -> Result<Pass, InboundError> {
    let result = poll_once(rt, mailbox).await;
    if result.is_err() {
        rt.metrics.mailbox_poll_failed();
    }
    result
}

async fn poll_once(rt: &Runtime, mailbox: &MailboxConfig) -> Result<Pass, InboundError> {
    let d = rt.deployed(&mailbox.process, None).filter(|d| d.process.start.mailbox.is_some()).ok_or_else(|| {
        InboundError::Process(format!("process `{}` is not deployed with a `start.mailbox`", mailbox.process))
    })?;
    let mut folder = Folder::open(mailbox).await?;
    let result = pass(rt, mailbox, &d, &mut folder).await;
    folder.close().await;
    result
}

async fn pass(rt: &Runtime, mailbox: &MailboxConfig, d: &Deployed, folder: &mut Folder) -> Result<Pass, InboundError> {
    let validity = i64::from(folder.uidvalidity);
    let last = rt.store.mailbox_last_uid(&mailbox.name, validity).await?;
    if last.is_none() && rt.store.mailbox_other_validity(&mailbox.name, validity).await? {
        tracing::warn!(
            mailbox = ?mailbox.name,
            uidvalidity = validity,
            "the server renumbered the folder (a new UIDVALIDITY): reading it again; messages already taken find their cases"
        );
    }
    let mut done = Pass::default();
    for row in rt.store.mailbox_unfinished(&mailbox.name, validity, rt.now()).await? {
        let uid = u32::try_from(row.uid).unwrap_or_default();
        match row.instance_id {
            Some(_) => {
                folder.mark(uid, &mailbox.marking).await?;
                rt.store.mailbox_marked(&mailbox.name, validity, row.uid).await?;
                done.marked_late += 1;
            }
            None => take(rt, mailbox, d, folder, uid, row.attempts, &mut done).await?,
        }
    }
    let last = u32::try_from(last.unwrap_or(0)).unwrap_or(u32::MAX);
    for uid in folder.uids_after(last).await? {
        take(rt, mailbox, d, folder, uid, 0, &mut done).await?;
    }
    Ok(done)
}

/// Takes message `uid` (refused `attempts` times before): starts its case, records it, marks
/// it; or records its refusal.
async fn take(
    rt: &Runtime,
    mailbox: &MailboxConfig,
    d: &Deployed,
    folder: &mut Folder,
    uid: u32,
    attempts: i64,
    done: &mut Pass,
) -> Result<(), InboundError> {
    let validity = i64::from(folder.uidvalidity);
    let mut at =
        MailboxMessage { mailbox: &mailbox.name, uidvalidity: validity, uid: i64::from(uid), message_id: None };
    let Some((size, header)) = folder.outline(uid).await? else { return gone(rt, &at, attempts).await };
    let largest = largest_message(rt);
    if u64::from(size) > largest {
        let id = message::message_id(&header);
        at.message_id = id.as_deref();
        let why = format!(
            "the message has {size} bytes, more than the {largest} a message may have (--max-file-size and 1 MiB)"
        );
        return refuse(rt, &at, attempts, &why, done).await;
    }
    let Some(fetched) = folder.fetch(uid).await? else { return gone(rt, &at, attempts).await };
    let Some(incoming) = message::read(&fetched.raw) else {
        return refuse(rt, &at, attempts, "not an e-mail message", done).await;
    };
    at.message_id = incoming.message_id.as_deref();
    let mapping = d.process.start.mailbox.clone().unwrap_or_default();
    let form = d.process.start.form.as_ref().and_then(|f| d.forms.get(f));
    let file = match (&mapping.attachment, &incoming.attachment) {
        (Some(_), Some(a)) => {
            let blobs = rt.files().ok_or_else(|| InboundError::Process("no file storage is configured".into()))?;
            match blobs.put(a.bytes.clone()).await {
                Ok(blob) => {
                    let name = tramite_engine::files::file_name(&a.name).unwrap_or_else(|| "adjunto".into());
                    let mime = sniff::refine(blob.mime, &name).map(str::to_string);
                    Some(FileValue { name, sha256: blob.sha256, size: blob.size, mime })
                }
                Err(BlobError::TooLarge { limit }) => {
                    let why =
                        format!("the attachment is larger than the {limit} bytes files may have (--max-file-size)");
                    return refuse(rt, &at, attempts, &why, done).await;
                }
                Err(e) => return Err(InboundError::Files(e)),
            }
        }
        _ => None,
    };
    let date = message::received_at(&incoming, fetched.arrived.unwrap_or_else(|| rt.now()));
    let data = message::start_data(&mapping, form, &incoming, date, d.calendar.zone(), file.as_ref());
    match rt.start_outside(&mailbox.process, data, MAIL_AUTHOR, Some(&incoming.key)).await {
        Ok((inst, created)) => {
            rt.store.mailbox_taken(&at, &inst.id, rt.now()).await?;
            folder.mark(uid, &mailbox.marking).await?;
            rt.store.mailbox_marked(&mailbox.name, validity, at.uid).await?;
            if created {
                done.started += 1;
                rt.metrics.mailbox_case_started();
            } else {
                done.found += 1;
            }
            tracing::info!(
                mailbox = ?mailbox.name, uid, message_id = ?at.message_id, instance = %inst.id,
                folio = ?inst.folio, created, "a message started its case"
            );
            Ok(())
        }
        Err(RuntimeError::Refused(e)) => refuse(rt, &at, attempts, &refusal(&e), done).await,
        Err(e) => Err(InboundError::Runtime(e)),
    }
}

/// A message no longer in the folder: one refused before (someone answered it by hand and
/// moved it away) is no longer tried; a new one (removed between the search and the fetch) was
/// never anyone's case.
async fn gone(rt: &Runtime, at: &MailboxMessage<'_>, attempts: i64) -> Result<(), InboundError> {
    if attempts > 0 {
        rt.store.mailbox_refused(at, "no longer in the folder", attempts, None, rt.now()).await?;
    }
    Ok(())
}

/// The largest message read: one file as large as uploads may be, and 1 MiB for the rest (a
/// larger one is refused unread, so a message cannot exhaust the server's memory).
fn largest_message(rt: &Runtime) -> u64 {
    let files = rt.files().map_or(32 << 20, |b| b.max_size());
    files.saturating_add(1 << 20)
}

/// Records a refusal of the message `at`, logs it in one line and counts it.
async fn refuse(
    rt: &Runtime,
    at: &MailboxMessage<'_>,
    attempts: i64,
    why: &str,
    done: &mut Pass,
) -> Result<(), InboundError> {
    let attempts = attempts + 1;
    let retry_at = rt.now().saturating_add(retry_delay(attempts)).unwrap_or_else(|_| rt.now());
    rt.store.mailbox_refused(at, why, attempts, Some(retry_at), rt.now()).await?;
    rt.metrics.mailbox_refused();
    done.refused += 1;
    tracing::warn!(
        mailbox = ?at.mailbox, uid = at.uid, message_id = ?at.message_id, attempts, retry_at = %retry_at,
        refusal = ?why, "the start form refused a message: it stays unread in the mailbox and is tried again later"
    );
    Ok(())
}

/// What the machine's refusal says, in one line: each field and its problem.
fn refusal(e: &CommandError) -> String {
    match e {
        CommandError::InvalidData(fields) => {
            fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_polls_wait_longer_up_to_ten_minutes() {
        let minute = Duration::from_secs(60);
        let pauses: Vec<u64> = (0..7).map(|n| pause(minute, n).as_secs()).collect();
        assert_eq!(pauses, [60, 60, 120, 240, 480, 600, 600]);
        let hour = Duration::from_secs(3_600);
        assert_eq!(pause(hour, 3), hour, "never shorter than the interval");
    }

    #[test]
    fn refused_messages_wait_longer_each_time_up_to_six_hours() {
        let minutes: Vec<i64> = (1..=11).map(|n| retry_delay(n).as_mins()).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360]);
    }
}
