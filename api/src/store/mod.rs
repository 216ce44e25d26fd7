//! Durable storage with sqlx: SQLite (default, one file, WAL) or PostgreSQL (several nodes).
//!
//! One generic repository ([`repo::Repo`]) holds every query, written once with `$N`
//! placeholders that both backends read; [`Store`] and [`Tx`] pick the backend at run time.
//! Every change to an instance goes through [`Tx::save`], which appends its events and updates
//! the current-state rows (instance, tasks, timers, outbox) in the same transaction.

mod repo;

use jiff::Timestamp;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use tramite_engine::machine::{Instance, Record, TimerKey};

pub use repo::Repo;

/// Storage errors. `Conflict` means another writer changed the row first; the rest are logged
/// and shown to clients as a generic failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the record was changed by someone else")]
    Conflict,
    #[error("duplicate {0}")]
    Duplicate(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Unique-constraint violations become [`StoreError::Duplicate`] here, once.
    pub(crate) fn from_db(e: sqlx::Error, what: &str) -> StoreError {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate(what.to_string()),
            _ => StoreError::Db(e),
        }
    }
}

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

/// A task row: the inbox's view of an open (or done) human task.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TaskRow {
    pub id: String,
    pub instance_id: String,
    pub token: i64,
    pub process: String,
    pub step: String,
    pub title: String,
    pub role: String,
    pub kind: String,
    pub folio: Option<String>,
    pub status: String,
    pub due_at: Option<Timestamp>,
    pub claimed_by: Option<String>,
    /// Warning and due instants of the instance's most urgent running SLA.
    pub sla_warn_at: Option<Timestamp>,
    pub sla_due_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// One SLA clock of an instance.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SlaRow {
    pub instance_id: String,
    pub sla: String,
    pub process: String,
    pub title: String,
    pub folio: Option<String>,
    pub started_at: Timestamp,
    pub warn_at: Option<Timestamp>,
    pub due_at: Timestamp,
    pub stopped_at: Option<Timestamp>,
}

/// SLA standing, as filtered in queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaFilter {
    Ok,
    Warning,
    Breached,
}

/// A message waiting in the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub instance_id: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserRow {
    pub name: String,
    pub email: Option<String>,
    pub roles: Vec<String>,
    pub admin: bool,
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
    pub outbox: Vec<NewMessage>,
    pub idempotency_key: Option<&'a str>,
    pub started_by: Option<&'a str>,
    pub folio: Option<String>,
    pub now: Timestamp,
}

/// Inbox filters.
#[derive(Debug, Clone, Default)]
pub struct InboxQuery {
    /// `None` for an admin: every role.
    pub roles: Option<Vec<String>>,
    pub process: Option<String>,
    pub due_before: Option<Timestamp>,
    /// SLA standing at `now`.
    pub sla: Option<SlaFilter>,
    pub now: Timestamp,
    pub limit: i64,
}

/// The database, whichever it is.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(Repo<Sqlite>),
    Postgres(Repo<Postgres>),
}

/// An open transaction.
#[derive(Debug)]
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

macro_rules! dispatch {
    ($self:expr, $r:ident => $body:expr) => {
        match $self {
            Store::Sqlite($r) => $body,
            Store::Postgres($r) => $body,
        }
    };
}

macro_rules! dispatch_tx {
    ($self:expr, $t:ident, $r:ident => $body:expr) => {
        match $self {
            Tx::Sqlite($t) => {
                let $r = Repo::<Sqlite>::dialect();
                $body
            }
            Tx::Postgres($t) => {
                let $r = Repo::<Postgres>::dialect();
                $body
            }
        }
    };
}

impl Store {
    /// Opens `sqlite://file.db` (created when missing) or `postgres://…`, and migrates it.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts: PgConnectOptions = url.parse()?;
            let pool: PgPool = PgPoolOptions::new().max_connections(16).connect_with(opts).await?;
            sqlx::migrate!("../migrations/postgres").run(&pool).await?;
            Store::Postgres(Repo::new(pool))
        } else {
            let opts: SqliteConnectOptions = url
                .parse::<SqliteConnectOptions>()?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(std::time::Duration::from_secs(10))
                .foreign_keys(true);
            // One writer connection: SQLite takes one writer at a time anyway, and queuing in the
            // pool is cheaper than retrying on SQLITE_BUSY.
            let pool: SqlitePool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
            sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            Store::Sqlite(Repo::new(pool))
        };
        Ok(store)
    }

    pub fn backend(&self) -> &'static str {
        dispatch!(self, r => r.name())
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite, so the write lock is taken up
    /// front and two writers never deadlock upgrading a read lock).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Store::Sqlite(r) => Tx::Sqlite(r.pool().begin_with("BEGIN IMMEDIATE").await?),
            Store::Postgres(r) => Tx::Postgres(r.pool().begin().await?),
        })
    }

    pub async fn definitions(&self) -> Result<Vec<DefinitionRow>, StoreError> {
        dispatch!(self, r => r.definitions().await)
    }

    pub async fn insert_definition(&self, d: &DefinitionRow, now: Timestamp) -> Result<(), StoreError> {
        dispatch!(self, r => r.insert_definition(d, now).await)
    }

    pub async fn add_user(
        &self,
        u: &UserRow,
        token_hash: &str,
        password_hash: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, r => r.add_user(u, token_hash, password_hash, now).await)
    }

    pub async fn user_by_token(&self, token_hash: &str) -> Result<Option<UserRow>, StoreError> {
        dispatch!(self, r => r.user_by_token(token_hash).await)
    }

    pub async fn instance(&self, id: &str) -> Result<Option<StoredInstance>, StoreError> {
        dispatch!(self, r => r.instance(id).await)
    }

    pub async fn instance_by_key(&self, key: &str) -> Result<Option<String>, StoreError> {
        dispatch!(self, r => r.instance_by_key(key).await)
    }

    pub async fn history(&self, id: &str) -> Result<Vec<Record>, StoreError> {
        dispatch!(self, r => r.history(id).await)
    }

    pub async fn task(&self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        dispatch!(self, r => r.task(id).await)
    }

    pub async fn inbox(&self, q: &InboxQuery) -> Result<Vec<TaskRow>, StoreError> {
        dispatch!(self, r => r.inbox(q).await)
    }

    /// Running SLA clocks in a standing at `now` (admin report), most urgent first.
    pub async fn sla_report(
        &self,
        state: Option<SlaFilter>,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<SlaRow>, StoreError> {
        dispatch!(self, r => r.sla_report(state, now, limit).await)
    }

    /// SLA clocks started in `[from, to)`, stopped or not, oldest first.
    pub async fn slas_started_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<SlaRow>, StoreError> {
        dispatch!(self, r => r.slas_started_between(from, to).await)
    }

    /// Instance ids with a timer due at or before `now`, soonest first.
    pub async fn due_timers(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, TimerKey, Timestamp)>, StoreError> {
        dispatch!(self, r => r.due_timers(now, limit).await)
    }

    pub async fn next_timer(&self) -> Result<Option<Timestamp>, StoreError> {
        dispatch!(self, r => r.next_timer().await)
    }

    pub async fn pending_messages(&self, now: Timestamp, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        dispatch!(self, r => r.pending_messages(now, limit).await)
    }

    pub async fn mark_sent(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        dispatch!(self, r => r.mark_sent(id, now).await)
    }

    pub async fn mark_failed(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<(), StoreError> {
        dispatch!(self, r => r.mark_failed(id, error, retry_at).await)
    }

    pub async fn schedule_next(&self, process: &str, schedule: &str) -> Result<Option<Timestamp>, StoreError> {
        dispatch!(self, r => r.schedule_next(process, schedule).await)
    }

    pub async fn set_schedule(&self, process: &str, schedule: &str, next: Timestamp) -> Result<(), StoreError> {
        dispatch!(self, r => r.set_schedule(process, schedule, next).await)
    }

    /// Moves a schedule from `from` to `to` if nobody else did: true when this caller won.
    pub async fn advance_schedule(
        &self,
        process: &str,
        schedule: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<bool, StoreError> {
        dispatch!(self, r => r.advance_schedule(process, schedule, from, to).await)
    }
}

impl Tx {
    /// Reads an instance and locks it for this transaction (`FOR UPDATE` on PostgreSQL; SQLite's
    /// immediate transaction already holds the write lock).
    pub async fn lock_instance(&mut self, id: &str) -> Result<Option<StoredInstance>, StoreError> {
        dispatch_tx!(self, tx, d => Repo::lock_instance(tx, d, id).await)
    }

    /// Claims one due timer row so no other node fires it (`FOR UPDATE SKIP LOCKED` on
    /// PostgreSQL); returns whether it is still there.
    pub async fn claim_timer(&mut self, id: &str, timer: &TimerKey) -> Result<bool, StoreError> {
        dispatch_tx!(self, tx, d => Repo::claim_timer(tx, d, id, timer).await)
    }

    /// Appends the events and updates the current-state rows of one transition.
    pub async fn save(&mut self, c: &Change<'_>) -> Result<(), StoreError> {
        dispatch_tx!(self, tx, d => Repo::save(tx, d, c).await)
    }

    /// Every user, read inside the transaction (a transaction must not wait on a second pooled
    /// connection: with every connection in a transaction, that wait never ends).
    pub async fn users(&mut self) -> Result<Vec<UserRow>, StoreError> {
        dispatch_tx!(self, tx, d => Repo::users_tx(tx, d).await)
    }

    /// Marks a point to roll back to (one level: the group-commit writer's unit of work).
    pub async fn savepoint(&mut self) -> Result<(), StoreError> {
        self.exec("SAVEPOINT unit").await
    }

    pub async fn release(&mut self) -> Result<(), StoreError> {
        self.exec("RELEASE SAVEPOINT unit").await
    }

    pub async fn rollback_to(&mut self) -> Result<(), StoreError> {
        self.exec("ROLLBACK TO SAVEPOINT unit").await?;
        self.exec("RELEASE SAVEPOINT unit").await
    }

    async fn exec(&mut self, sql: &'static str) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => sqlx::query(sql).execute(&mut **t).await.map(|_| ())?,
            Tx::Postgres(t) => sqlx::query(sql).execute(&mut **t).await.map(|_| ())?,
        }
        Ok(())
    }

    /// The instance an idempotency key started, read inside the transaction.
    pub async fn instance_by_key(&mut self, key: &str) -> Result<Option<StoredInstance>, StoreError> {
        dispatch_tx!(self, tx, d => Repo::instance_by_key_tx(tx, d, key).await)
    }

    /// Many transitions serialized by one writer, in a fixed number of statements.
    pub async fn save_batch(&mut self, changes: &[&Change<'_>]) -> Result<(), StoreError> {
        dispatch_tx!(self, tx, d => Repo::save_batch(tx, d, changes).await)
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// UTC microseconds since the epoch: how instants are stored in both backends.
pub fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub fn from_micros(m: i64) -> Timestamp {
    Timestamp::from_microsecond(m).unwrap_or(Timestamp::UNIX_EPOCH)
}
