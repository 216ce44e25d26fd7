//! E-mail: alerts become outbox rows in the transition's transaction; a worker sends
//! them with retries and back-off, so an SMTP outage loses no message.
//!
//! Messages in: [`inbound`] starts cases from the messages of a mailbox.
//!
//! Templates are `templates/<kind>.hbs` (handlebars, Spanish): the first line is the subject,
//! the rest the body. Admins may edit them; the shipped ones are compiled in as a fallback.

pub mod inbound;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use handlebars::Handlebars;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;
use tokio::sync::Notify;
use tramite_engine::files::FileValue;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::store::{OutboxRow, Store};

pub mod access;
pub mod smtp;

pub use access::{Password, SmtpAccess};
pub use smtp::MailServer;

/// The kinds of message, each a template.
pub const KINDS: [(&str, &str); 6] = [
    ("assigned", include_str!("../../../templates/assigned.hbs")),
    ("sla-warning", include_str!("../../../templates/sla-warning.hbs")),
    ("sla-breach", include_str!("../../../templates/sla-breach.hbs")),
    ("due-warning", include_str!("../../../templates/due-warning.hbs")),
    ("overdue", include_str!("../../../templates/overdue.hbs")),
    ("approval-result", include_str!("../../../templates/approval-result.hbs")),
];

/// Renders messages from templates.
#[derive(Debug)]
pub struct Templates {
    hb: Handlebars<'static>,
}

impl Templates {
    /// The shipped templates, overridden by `<dir>/<kind>.hbs` where present.
    pub fn load(dir: Option<&Path>) -> Result<Templates, String> {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(false);
        hb.register_escape_fn(handlebars::no_escape);
        for (kind, shipped) in KINDS {
            let custom = dir.map(|d| d.join(format!("{kind}.hbs"))).filter(|p| p.is_file());
            let text = match custom {
                Some(p) => std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?,
                None => shipped.to_string(),
            };
            hb.register_template_string(kind, text).map_err(|e| format!("template {kind}: {e}"))?;
        }
        Ok(Templates { hb })
    }

    /// Subject and body of a message of `kind` for these values.
    pub fn render(&self, kind: &str, values: &Value) -> Result<(String, String), String> {
        let text = self.hb.render(kind, values).map_err(|e| e.to_string())?;
        Ok(split_subject(&text))
    }
}

/// The process templates compiled so far, each registered under the hash of its text: a
/// message renders with a template compiled once, not once per message.
static PROCESS_TEMPLATES: std::sync::LazyLock<std::sync::RwLock<Handlebars<'static>>> =
    std::sync::LazyLock::new(|| {
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        std::sync::RwLock::new(hb)
    });

/// Subject and body of a process's template (text, checked when the process was deployed) for
/// these values.
pub fn render_text(template: &str, values: &Value) -> Result<(String, String), String> {
    use sha2::Digest;
    let name = format!("{:x}", sha2::Sha256::digest(template.as_bytes()));
    let known = PROCESS_TEMPLATES.read().unwrap_or_else(std::sync::PoisonError::into_inner).has_template(&name);
    if !known {
        let mut hb = PROCESS_TEMPLATES.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        hb.register_template_string(&name, template).map_err(|e| e.to_string())?;
    }
    let hb = PROCESS_TEMPLATES.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let text = hb.render(&name, values).map_err(|e| e.to_string())?;
    Ok(split_subject(&text))
}

/// The first line of a rendered message is its subject, the rest its body.
fn split_subject(text: &str) -> (String, String) {
    let (subject, body) = text.split_once('\n').unwrap_or((text, ""));
    (subject.trim().to_string(), body.trim_start_matches('\n').to_string())
}

/// Where messages go.
#[derive(Debug, Clone)]
pub enum Transport {
    /// SMTP via lettre to the mail server `--smtp` names (see [`smtp`]).
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in a folder (the default, for set-ups without a mail server).
    Files(PathBuf),
}

impl Transport {
    /// The mail server `smtp` names, reached with `access` (see [`MailServer::new`]), or a
    /// folder for `.eml` files.
    pub fn from_url(smtp: Option<&str>, access: SmtpAccess, folder: &Path) -> Result<Transport, String> {
        match smtp {
            Some(url) => {
                let server = MailServer::new(url, access)?;
                let transport = server.transport()?;
                tracing::info!(%server, "e-mail goes to the mail server");
                Ok(Transport::Smtp(transport))
            }
            None if !access.is_empty() => Err("--smtp-user, --smtp-password-file, TRAMITE_SMTP_PASSWORD and \
                                               --smtp-ca need --smtp"
                .into()),
            None => Ok(Transport::Files(folder.to_path_buf())),
        }
    }

    async fn send(&self, from: &str, m: &OutboxRow, files: &[(FileValue, bytes::Bytes)]) -> Result<(), Undelivered> {
        let builder = Message::builder()
            .message_id(Some(message_id(m.id, from)))
            .from(from.parse().map_err(|e| Undelivered::lasting(format!("from address: {e}")))?)
            .to(m.recipient.parse().map_err(|e| Undelivered::lasting(format!("recipient {}: {e}", m.recipient)))?)
            .subject(m.subject.clone());
        let email = if files.is_empty() {
            builder.header(ContentType::TEXT_PLAIN).body(m.body.clone())
        } else {
            // The text, then each file as an attachment with its name and type.
            let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(m.body.clone()));
            for (f, bytes) in files {
                let kind = f
                    .mime
                    .as_deref()
                    .and_then(|t| ContentType::parse(t).ok())
                    .unwrap_or_else(|| ContentType::parse("application/octet-stream").expect("a valid type"));
                parts = parts.singlepart(Attachment::new(f.name.clone()).body(bytes.to_vec(), kind));
            }
            builder.multipart(parts)
        }
        .map_err(|e| Undelivered::lasting(e.to_string()))?;
        match self {
            Transport::Smtp(t) => t.send(email).await.map(|_| ()).map_err(|e| Undelivered::from_smtp(&e)),
            Transport::Files(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| Undelivered::lasting(e.to_string()))?;
                let path = dir.join(format!("{:08}.eml", m.id));
                tokio::fs::write(&path, email.formatted()).await.map_err(|e| Undelivered::lasting(e.to_string()))
            }
        }
    }
}

/// Why a message was not handed over, and whether it is an outage that passes by itself (the
/// server down or busy) or needs someone to act (a refused password, an untrusted certificate,
/// a server without STARTTLS, a bad address).
#[derive(Debug)]
struct Undelivered {
    reason: String,
    outage: bool,
}

impl Undelivered {
    fn lasting(reason: String) -> Undelivered {
        Undelivered { reason, outage: false }
    }

    /// The SMTP client's error: its text names the server's reply (`permanent error (535):
    /// 5.7.8 Authentication credentials invalid`) or the TLS failure (`invalid peer
    /// certificate: UnknownIssuer`); neither holds the password.
    fn from_smtp(e: &lettre::transport::smtp::Error) -> Undelivered {
        use std::io::ErrorKind::*;
        let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
        let mut down = false;
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                down |= matches!(
                    io.kind(),
                    ConnectionRefused
                        | ConnectionReset
                        | ConnectionAborted
                        | NotConnected
                        | TimedOut
                        | UnexpectedEof
                        | BrokenPipe
                        | HostUnreachable
                        | NetworkUnreachable
                );
            }
            source = s.source();
        }
        // A TLS failure comes wrapped twice ("Connection error: Connection error: …"): say it once.
        let mut shown = e;
        while let Some(inner) = std::error::Error::source(shown).and_then(|s| s.downcast_ref()) {
            shown = inner;
        }
        Undelivered { reason: shown.to_string(), outage: down || e.is_transient() || e.is_timeout() }
    }
}

/// How messages leave: the transport, the sender's address, and the blob store attachments are
/// read from.
#[derive(Debug, Clone)]
pub struct Mailer {
    pub transport: Transport,
    pub from: String,
    pub files: Option<crate::blobs::Blobs>,
}

impl Mailer {
    /// Messages through `transport` from `from`, without attachments.
    pub fn new(transport: Transport, from: &str) -> Mailer {
        Mailer { transport, from: from.to_string(), files: None }
    }
}

/// The files a message carries, read from the blob store; a file that cannot be read keeps
/// the message in the outbox (an outage: the store may come back).
async fn attachments(
    files: Option<&crate::blobs::Blobs>,
    m: &OutboxRow,
) -> Result<Vec<(FileValue, bytes::Bytes)>, Undelivered> {
    let mut out = Vec::new();
    for f in &m.attachments {
        let store = files.ok_or_else(|| Undelivered::lasting("no file storage to read the attachments from".into()))?;
        let bytes = store
            .get(&f.sha256)
            .await
            .map_err(|e| Undelivered { reason: format!("attachment {}: {e}", f.name), outage: true })?;
        out.push((f.clone(), bytes));
    }
    Ok(out)
}

/// Retry delay after `attempts` failures: 2 s doubling up to 10 minutes.
pub fn backoff(attempts: i64) -> jiff::SignedDuration {
    let secs = 2i64.saturating_pow(attempts.clamp(1, 20) as u32).min(600);
    jiff::SignedDuration::from_secs(secs)
}

/// The Message-ID of outbox row `id`: the same for every attempt and every node, so a message
/// sent twice (a node died after sending, before recording it) is seen as one by the reader's
/// mail program.
pub fn message_id(id: i64, from: &str) -> String {
    let domain = from.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>')).unwrap_or("tramite.local");
    format!("<outbox-{id}@{domain}>")
}

/// How long a node holds the messages it is sending: well over a pass of [`LEASE_BATCH`]
/// messages at the SMTP timeout each. A node that dies mid-send leaves its messages to the
/// others after this time.
pub const LEASE: Duration = Duration::from_secs(300);

/// Messages leased at a time.
const LEASE_BATCH: i64 = 20;

/// This process's name on the leases it takes: host, process id and a random part.
pub fn node_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    format!("{host}:{}:{:08x}", std::process::id(), rand::random::<u32>())
}

/// Sends pending outbox rows until the process stops.
pub async fn run_worker(
    store: Store,
    clock: Arc<dyn Clock>,
    mailer: Mailer,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    lease: Duration,
) {
    let node = node_name();
    loop {
        match send_pending(&store, clock.as_ref(), &mailer, &metrics, &node, lease).await {
            Ok(0) | Err(_) => {
                let _ = tokio::time::timeout(Duration::from_millis(500), wake.notified()).await;
            }
            Ok(_) => {}
        }
    }
}

/// One pass: leases due messages to `node` for `lease`, sends them and records each outcome;
/// returns how many were tried.
pub async fn send_pending(
    store: &Store,
    clock: &dyn Clock,
    mailer: &Mailer,
    metrics: &Metrics,
    node: &str,
    lease: Duration,
) -> Result<usize, crate::store::StoreError> {
    let (transport, from, files) = (&mailer.transport, mailer.from.as_str(), mailer.files.as_ref());
    let now = clock.now();
    let until = now.saturating_add(jiff::SignedDuration::try_from(lease).unwrap_or_default()).unwrap_or(now);
    let pending = store.lease_messages(node, now, until, LEASE_BATCH).await?;
    for m in &pending {
        let sent = match attachments(files, m).await {
            Ok(files) => transport.send(from, m, &files).await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(()) => store.mark_sent(m.id, clock.now()).await?,
            Err(e) => {
                let retry = clock.now().saturating_add(backoff(m.attempts + 1)).unwrap_or(now);
                let (outbox, to, error, at) = (m.id, &m.recipient, &e.reason, retry);
                if e.outage {
                    tracing::warn!(outbox, recipient = ?to, ?error, retry = %at, "e-mail not sent; will retry");
                } else {
                    tracing::error!(outbox, recipient = ?to, ?error, retry = %at, "e-mail not sent; will retry");
                }
                metrics.delivery_failed();
                store.mark_failed(m.id, &e.reason, retry).await?;
            }
        }
    }
    Ok(pending.len())
}
