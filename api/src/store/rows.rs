//! The rows the store reads and writes, as the rest of the server sees them.

use jiff::Timestamp;
use serde_json::Value;
use tramite_engine::machine::{Instance, Record, TimerKey};

/// A deployed definition version: the process file and the forms it names.
#[derive(Debug, Clone)]
pub struct DefinitionRow {
    pub process: String,
    pub version: i64,
    pub hash: String,
    pub bundle: String,
    pub file: String,
}

/// An instance as stored.
#[derive(Debug, Clone)]
pub struct StoredInstance {
    pub id: String,
    pub process: String,
    pub version: i64,
    pub seq: i64,
    pub state: Instance,
    pub started_by: Option<String>,
}

/// An instance as lists show it (no state).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct InstanceRow {
    pub id: String,
    pub process: String,
    pub version: i64,
    pub status: String,
    pub outcome: Option<String>,
    pub folio: Option<String>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub parent_id: Option<String>,
    pub parent_token: Option<i64>,
    pub started_by: Option<String>,
}

/// Whose case list: a user and the processes whose cases they may read (besides those they
/// started).
#[derive(Debug, Clone, Default)]
pub struct Reader {
    pub user: String,
    pub processes: Vec<String>,
}

/// How a case's SLA clocks stand, as the case list filters them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseSla {
    /// A running clock in that standing at `now`.
    Running(SlaFilter),
    /// A clock stopped in time.
    Met,
    /// A clock stopped after its due instant.
    MetLate,
}

/// Case list filters: every one optional, all of them together.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// `None` for an admin: every case.
    pub reader: Option<Reader>,
    /// Exactly this folio.
    pub folio: Option<String>,
    /// Words the case's folio or text must hold (as [`super::search::terms`] gives them).
    pub words: Vec<String>,
    /// The last word is the start of a word (the query ended with `*`).
    pub prefix: bool,
    pub process: Option<String>,
    pub status: Option<String>,
    pub outcome: Option<String>,
    pub started_from: Option<Timestamp>,
    pub started_before: Option<Timestamp>,
    pub started_by: Option<String>,
    pub sla: Option<CaseSla>,
    /// Cases with an open task for this role.
    pub role: Option<String>,
    pub now: Timestamp,
    /// The page after this position (keyset: started_at in µs, and the id), newest first.
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// The `for_each` element a task works on.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ItemRef {
    /// Its position in the list, from 0.
    pub index: i64,
    pub data: Value,
}

/// A task row: the inbox's view of an open (or done) human task.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct TaskRow {
    pub id: String,
    pub instance_id: String,
    pub token: i64,
    pub process: String,
    pub step: String,
    pub title: String,
    pub role: String,
    /// The scope the role is taken within (holders of `role@scope` and of the role in every
    /// scope may work it); `None`: every holder of the role.
    pub role_scope: Option<String>,
    /// The one person the task is for, instead of the role's holders.
    pub assignee: Option<String>,
    pub kind: String,
    pub folio: Option<String>,
    pub status: String,
    /// The task's deadline, or else that of the parallel branch it runs in.
    pub due_at: Option<Timestamp>,
    pub claimed_by: Option<String>,
    pub item: Option<ItemRef>,
    /// The instance's most urgent running SLA, and the instants it turns warning and breached
    /// (see `SlaClock::standing`).
    pub sla: Option<String>,
    pub sla_warn_at: Option<Timestamp>,
    pub sla_due_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// One SLA clock of an instance.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct SlaRow {
    pub instance_id: String,
    pub sla: String,
    pub process: String,
    pub title: String,
    pub folio: Option<String>,
    pub started_at: Timestamp,
    /// When the running clock turns warning (NULL: it does not, e.g. paused while ok).
    pub warn_at: Option<Timestamp>,
    /// The due instant, pauses included.
    pub due_at: Timestamp,
    /// When the running clock turns breached (NULL: paused short of it, or stopped).
    pub breach_at: Option<Timestamp>,
    pub stopped_at: Option<Timestamp>,
}

/// SLA standing, as filtered in queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaFilter {
    Ok,
    Warning,
    Breached,
}

/// A call step waiting on a sub-process that could not run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct IncidentRow {
    pub instance_id: String,
    pub token: i64,
    pub process: String,
    pub step: String,
    pub called: String,
    pub message: String,
    pub created_at: Timestamp,
}

/// A report to compute and attach to a report task that just opened.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportJob {
    pub task_id: String,
    pub instance_id: String,
    pub token: u64,
    /// The process whose indicators the report shows.
    pub process: String,
    /// When the task opened: the report covers the period before.
    pub opened_at: Timestamp,
    /// Tries so far, this one included once leased.
    pub attempts: i64,
}

/// A message waiting in the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub instance_id: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// Files sent with it (from the blob store).
    pub attachments: Vec<tramite_engine::files::FileValue>,
}

/// A message to send.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
    /// Files sent with it (from the blob store).
    pub attachments: Vec<tramite_engine::files::FileValue>,
}

/// An outbox message as the dashboard and an instance's page list it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MessageRow {
    pub instance_id: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserRow {
    pub name: String,
    pub email: Option<String>,
    pub roles: Vec<String>,
    pub admin: bool,
}

/// A user with their standing: a disabled user cannot sign in, and their sessions and tokens
/// do not work.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    pub user: UserRow,
    pub disabled: bool,
}

/// A sign-in under way at the OpenID provider, kept until the browser comes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcLogin {
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier of the challenge sent to the provider.
    pub pkce_verifier: String,
    /// Where to go once signed in (a safe path on this site).
    pub next: String,
    pub expires_at: Timestamp,
}

/// What became of a user the OpenID provider vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcStanding {
    /// Created or updated with the provider's roles.
    Saved,
    /// Not there, and not created (the provider gives them no role).
    Unknown,
    /// Disabled here (`tramite user disable`): left as it is.
    Disabled,
    /// The name belongs to a local user, or to another account of a provider.
    Taken,
}

/// An API token as admins see it (only its SHA-256 is stored; this holds neither).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub user: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A token and its holder, as bearer authentication reads them.
#[derive(Debug, Clone)]
pub struct TokenHolder {
    pub token: TokenRow,
    pub account: Account,
}

/// A signed-in browser session.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user: UserRow,
    pub csrf: String,
}

/// A task with a deadline, for per-step compliance.
#[derive(Debug, Clone)]
pub struct DeadlineRow {
    pub process: String,
    pub step: String,
    pub title: String,
    pub due_at: Timestamp,
    pub closed_at: Option<Timestamp>,
}

/// An `alerted` event with its instance's process and folio.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub instance_id: String,
    pub process: String,
    pub folio: Option<String>,
    pub record: Record,
}

/// Everything one transition writes.
#[derive(Debug)]
pub struct Change<'a> {
    pub id: &'a str,
    pub process: &'a str,
    pub version: i64,
    /// `None` when the instance is new; otherwise the `seq` read before the command.
    pub before_seq: Option<i64>,
    pub state: &'a Instance,
    pub records: &'a [Record],
    /// The open tasks after the transition.
    pub tasks: Vec<TaskRow>,
    /// Tasks that were open before the transition and are not any more.
    pub closed: Vec<TaskRow>,
    pub timers: Vec<(Timestamp, TimerKey)>,
    pub slas: Vec<SlaRow>,
    pub incidents: Vec<IncidentRow>,
    /// The timers, SLA clocks and incidents of the state before, as they are stored: a set the
    /// transition left as it was is not written again. `None` (with a `before_seq`): not known,
    /// rewrite them all.
    pub before: Option<Derived>,
    pub outbox: Vec<NewMessage>,
    /// The idempotency key of a start, unique per `started_by` and process (`start_key`).
    pub idempotency_key: Option<&'a str>,
    pub started_by: Option<&'a str>,
    pub folio: Option<String>,
    /// A new case's folio number and the scope it counts in (`start.folio`).
    pub folio_count: Option<(String, i64)>,
    /// The words the case list's search finds the instance by.
    pub search_text: String,
    /// What the case (and the tasks this transition completed) contribute to its process's
    /// indicators.
    pub measures: Vec<tramite_engine::definition::indicators::Contribution>,
    /// Report tasks the transition opened, whose report is still to make.
    pub reports: Vec<ReportJob>,
    /// Report tasks whose report the transition attached (their jobs are done).
    pub reported: Vec<String>,
    pub now: Timestamp,
}

/// The rows derived from a state that a transition replaces as sets, and what its instance row's
/// indexes hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Derived {
    pub timers: Vec<(Timestamp, TimerKey)>,
    pub slas: Vec<SlaRow>,
    pub incidents: Vec<IncidentRow>,
    pub keys: RowKeys,
}

/// The columns of an instance row that its indexes hold beside its id and start: status, folio
/// and SLA standing. A transition that leaves them as they were rewrites the row alone: a
/// column an update sets is rewritten in every index that holds it, even to the same value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowKeys {
    pub status: &'static str,
    pub folio: Option<String>,
    /// One clock running, one stopped in time, one stopped late.
    pub sla: (bool, bool, bool),
}

impl RowKeys {
    pub fn of(inst: &Instance, folio: Option<String>, slas: &[SlaRow]) -> RowKeys {
        RowKeys { status: status_of(inst).0, folio, sla: sla_flags(slas) }
    }
}

/// An instance's status column, and its outcome when it ended.
pub(crate) fn status_of(inst: &Instance) -> (&'static str, Option<String>) {
    match &inst.status {
        tramite_engine::machine::Status::Running => ("running", None),
        tramite_engine::machine::Status::Ended { outcome } => ("ended", Some(outcome.clone())),
        tramite_engine::machine::Status::Cancelled { .. } => ("cancelled", None),
    }
}

/// How the SLA clocks written with an instance stand, for its row: one running, one stopped in
/// time, one stopped at or after its due instant (compared as stored, in microseconds).
pub(crate) fn sla_flags(slas: &[SlaRow]) -> (bool, bool, bool) {
    let micros = |t: Timestamp| t.as_microsecond();
    let stopped =
        |late: bool| slas.iter().any(|s| s.stopped_at.is_some_and(|t| (micros(t) >= micros(s.due_at)) == late));
    (slas.iter().any(|s| s.stopped_at.is_none()), stopped(false), stopped(true))
}

/// Whose inbox: a user's name and roles (`role`, or `role@scope` for one scope).
#[derive(Debug, Clone, Default)]
pub struct Holder {
    pub user: String,
    pub roles: Vec<String>,
}

/// Inbox filters.
#[derive(Debug, Clone, Default)]
pub struct InboxQuery {
    /// `None` for an admin: every task.
    pub holder: Option<Holder>,
    pub process: Option<String>,
    pub due_before: Option<Timestamp>,
    /// SLA standing at `now`.
    pub sla: Option<SlaFilter>,
    pub now: Timestamp,
    /// The page after this position (keyset: the inbox's sort key and the task id).
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// Where a page of a list ends: the row's sort key and its id (keyset pagination). Shown to
/// clients as `<key>.<id>`, an opaque token they hand back for the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: i64,
    pub id: String,
}

impl Cursor {
    pub fn token(&self) -> String {
        format!("{}.{}", self.key, self.id)
    }

    /// A token read back; `None` when it is not one this server gave.
    pub fn parse(token: &str) -> Option<Cursor> {
        let (key, id) = token.split_once('.')?;
        let ok =
            !id.is_empty() && id.len() <= 200 && id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        ok.then_some(Cursor { key: key.parse().ok()?, id: id.to_string() })
    }
}

/// One page of a list and where the next one starts, if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub next: Option<Cursor>,
}

/// A case written straight to the tables by `tramite bench` (no events, no state).
#[derive(Debug, Clone)]
pub struct BenchCase {
    pub id: String,
    pub process: String,
    pub status: String,
    pub outcome: Option<String>,
    pub folio: Option<String>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub started_by: Option<String>,
    pub search_text: String,
    /// An SLA clock: when it warns and is due (stopped at `ended_at` when the case ended).
    pub sla_warn_at: Option<Timestamp>,
    pub sla_due_at: Option<Timestamp>,
}

/// An indicator's values in one period and group: how many count, their sum and mean.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MeasureTotal {
    pub period: String,
    pub group: String,
    pub n: i64,
    pub total: Option<f64>,
    pub mean: Option<f64>,
}

/// A case behind an indicator's value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct MeasureCase {
    pub instance_id: String,
    pub folio: Option<String>,
    pub value: f64,
}

/// A message of a mailbox folder, as a poll names it in the database.
#[derive(Debug, Clone, Copy)]
pub struct MailboxMessage<'a> {
    /// The mailbox's name in the `--mailboxes` file.
    pub mailbox: &'a str,
    pub uidvalidity: i64,
    pub uid: i64,
    /// Its `Message-ID` header, to find it among the mailbox's messages.
    pub message_id: Option<&'a str>,
}

/// A mailbox message as recorded: taken into a case, or refused by the start form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxMessageRow {
    pub uidvalidity: i64,
    pub uid: i64,
    pub message_id: Option<String>,
    /// The case it started or found, once committed.
    pub instance_id: Option<String>,
    /// Flagged `\Seen` or moved on the server.
    pub marked: bool,
    /// Refusals so far.
    pub attempts: i64,
    /// The last refusal.
    pub error: Option<String>,
    /// When a refused message is tried again (`None`: never).
    pub retry_at: Option<Timestamp>,
}
