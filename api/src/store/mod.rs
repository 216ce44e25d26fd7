//! Durable storage with sqlx: SQLite (default, one file, WAL) or PostgreSQL (several nodes).
//! All of the server's SQL lives under this module.
//!
//! One generic repository ([`repo::Repo`]) holds every query, written once with `$N`
//! placeholders that both backends read; [`Store`] and [`Tx`] pick the backend at run time.
//! SQLite's units of work run on a write connection of their own, called in place through
//! rusqlite (`direct.rs`); the statements that write a transition are the same for both.
//! Every change to an instance goes through [`Tx::save`] (or [`Tx::save_batch`]), which appends
//! its events and updates the current-state rows (instance, tasks, timers, SLA clocks,
//! incidents, outbox) in the same transaction. A new query goes in the `repo/` file of what it
//! is about, with a one-line doc comment, and gets its `Store` (or `Tx`) method here.

mod admin;
mod backup;
mod direct;
mod repo;
mod rows;
pub mod search;

use jiff::Timestamp;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use tramite_engine::machine::{Instance, Record, TimerKey};

pub use direct::Direct;
use direct::DirectTx;
pub use repo::Repo;
pub use rows::*;

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
    #[error("database error: {0}")]
    Sqlite(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("a value cannot be stored: {0}")]
    Encode(String),
}

impl StoreError {
    /// Unique-constraint violations become [`StoreError::Duplicate`] here, once; a deadlock or a
    /// serialization failure (PostgreSQL aborted one of two crossing transactions) is a
    /// [`StoreError::Conflict`] to retry.
    pub(crate) fn from_db(e: sqlx::Error, what: &str) -> StoreError {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate(what.to_string()),
            sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40P01" | "40001")) => StoreError::Conflict,
            _ => StoreError::Db(e),
        }
    }
}

/// The database, whichever it is.
#[derive(Debug, Clone)]
pub enum Store {
    /// The queries over the pool, and the write connection transitions are written on
    /// (`direct.rs`).
    Sqlite(Repo<Sqlite>, Direct),
    Postgres(Repo<Postgres>),
}

/// An open transaction.
#[derive(Debug)]
pub enum Tx {
    /// SQLite's write connection, driven directly (`direct.rs`).
    Sqlite(DirectTx),
    Postgres(Transaction<'static, Postgres>),
}

macro_rules! dispatch {
    ($self:expr, $r:ident => $body:expr) => {
        match $self {
            Store::Sqlite($r, _) => $body,
            Store::Postgres($r) => $body,
        }
    };
}

mod accounts;
mod mailboxes;

/// Prepared statements kept per connection: the writer's statements for every batch size of
/// every table it writes, and the readers' (sqlx keeps 100 by default).
const STATEMENT_CACHE: usize = 1024;

/// How long a transaction waits for the write lock another connection holds (SQLite).
const BUSY: std::time::Duration = std::time::Duration::from_secs(10);

/// The settings of every SQLite connection: the pool's and the write connection's.
const SQLITE_PRAGMAS: [(&str, &str); 7] = [
    ("journal_mode", "WAL"),
    // Every commit on disk before it is acknowledged.
    ("synchronous", "FULL"),
    ("foreign_keys", "ON"),
    // 32 MiB of page cache per connection (SQLite's default is 2 MiB): the indexes a batch
    // touches stay in memory instead of being read again from the file.
    ("cache_size", "-32768"),
    // Copy the WAL into the database every 8,000 pages (32 MiB) instead of 1,000: a page
    // changed by many batches in between is copied once.
    ("wal_autocheckpoint", "8000"),
    // A statement that may fail half-way (a constraint, a foreign key) keeps the pages it
    // changed in a statement journal: in memory, not in a temporary file.
    ("temp_store", "memory"),
    // Pages read through the memory map instead of copied by a read call each.
    ("mmap_size", "268435456"),
];

impl Store {
    /// Opens `sqlite://file.db` (created when missing) or `postgres://…`, and migrates it.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts: PgConnectOptions = url.parse()?;
            // As on SQLite, each batch statement stays prepared (PostgreSQL plans it once).
            let opts = opts.statement_cache_capacity(STATEMENT_CACHE);
            let pool: PgPool = PgPoolOptions::new().max_connections(16).connect_with(opts).await?;
            sqlx::migrate!("../migrations/postgres").run(&pool).await?;
            Store::Postgres(Repo::new(pool))
        } else {
            let opts: SqliteConnectOptions = url
                .parse::<SqliteConnectOptions>()?
                .create_if_missing(true)
                .busy_timeout(BUSY)
                // The readers' statements, kept prepared (sqlx keeps 100 by default).
                .statement_cache_capacity(STATEMENT_CACHE);
            let opts = SQLITE_PRAGMAS.iter().fold(opts, |opts, (name, value)| opts.pragma(*name, *value));
            // The pool serves reads, which WAL lets run beside the writer, and the few writes
            // that are not transitions (sessions, outbox bookkeeping); transitions are written
            // on the connection of their own opened below, which takes the write lock in turn
            // with them (`BEGIN IMMEDIATE`).
            // sqlx names an in-memory database `file:sqlx-in-memory-N` and opens it in memory;
            // the write connection would open a file of that name instead, a database of its own.
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err(StoreError::Sqlite("an in-memory SQLite database is not supported: give a file".into()));
            }
            let path = opts.get_filename().to_path_buf();
            let pool: SqlitePool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
            sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            Store::Sqlite(Repo::new(pool), Direct::open(&path, &SQLITE_PRAGMAS, BUSY)?)
        };
        Ok(store)
    }

    /// Closes every connection (waiting for those in use to come back).
    pub async fn close(&self) {
        dispatch!(self, r => r.pool().close().await)
    }

    pub fn backend(&self) -> &'static str {
        dispatch!(self, r => r.name())
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite, so the write lock is taken up
    /// front and two writers never deadlock upgrading a read lock).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Store::Sqlite(_, direct) => Tx::Sqlite(direct.begin().await?),
            Store::Postgres(r) => Tx::Postgres(r.pool().begin().await?),
        })
    }

    /// Every deployed definition version, oldest first.
    pub async fn definitions(&self) -> Result<Vec<DefinitionRow>, StoreError> {
        dispatch!(self, r => r.definitions().await)
    }

    /// Records a new definition version (a Duplicate when another node took the number).
    pub async fn insert_definition(&self, d: &DefinitionRow, now: Timestamp) -> Result<(), StoreError> {
        dispatch!(self, r => r.insert_definition(d, now).await)
    }

    /// An instance with its state.
    pub async fn instance(&self, id: &str) -> Result<Option<StoredInstance>, StoreError> {
        match self {
            Store::Sqlite(_, direct) => direct.instance(id).await,
            Store::Postgres(r) => r.instance(id).await,
        }
    }

    /// The instance `user` started with an idempotency key for `process`.
    pub async fn instance_by_key(&self, user: &str, process: &str, key: &str) -> Result<Option<String>, StoreError> {
        dispatch!(self, r => r.instance_by_key(user, process, key).await)
    }

    /// The sub-processes an instance started.
    pub async fn children(&self, parent: &str) -> Result<Vec<InstanceRow>, StoreError> {
        match self {
            Store::Sqlite(_, direct) => direct.children(parent).await,
            Store::Postgres(r) => r.children(parent).await,
        }
    }

    /// An instance's events in order.
    pub async fn history(&self, id: &str) -> Result<Vec<Record>, StoreError> {
        dispatch!(self, r => r.history(id).await)
    }

    /// Open incidents, oldest first (only those calling `called`, when given).
    pub async fn incidents(&self, called: Option<&str>, limit: i64) -> Result<Vec<IncidentRow>, StoreError> {
        dispatch!(self, r => r.incidents(called, limit).await)
    }

    /// One task, open or done.
    pub async fn task(&self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        match self {
            Store::Sqlite(_, direct) => direct.task(id).await,
            Store::Postgres(r) => r.task(id).await,
        }
    }

    /// How many instances the store holds.
    pub async fn instance_count(&self) -> Result<i64, StoreError> {
        dispatch!(self, r => r.instance_count().await)
    }

    /// Writes cases straight to the tables (`tramite bench`).
    pub async fn load_bench_cases(&self, cases: &[BenchCase]) -> Result<(), StoreError> {
        dispatch!(self, r => r.load_bench_cases(cases).await)
    }

    /// Writes open task rows of cases already loaded (`tramite bench --open-tasks`).
    pub async fn load_bench_tasks(&self, tasks: &[TaskRow]) -> Result<(), StoreError> {
        dispatch!(self, r => r.load_bench_tasks(tasks).await)
    }

    /// After a bulk load: PostgreSQL's planner statistics gathered at once (`ANALYZE`), as
    /// autovacuum would within a minute or so; SQLite keeps none (`tramite bench`).
    pub async fn analyze_after_load(&self) -> Result<(), StoreError> {
        match self {
            Store::Postgres(r) => {
                sqlx::query("ANALYZE").execute(r.pool()).await?;
                Ok(())
            }
            Store::Sqlite(..) => Ok(()),
        }
    }

    /// One page of the case list, newest first.
    pub async fn cases(&self, q: &CaseQuery) -> Result<Page<InstanceRow>, StoreError> {
        dispatch!(self, r => r.cases(q).await)
    }

    /// Open tasks matching the query, soonest due first.
    pub async fn inbox(&self, q: &InboxQuery) -> Result<Page<TaskRow>, StoreError> {
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

    /// Tasks with a deadline opened in `[from, to)`.
    pub async fn deadlines_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<DeadlineRow>, StoreError> {
        dispatch!(self, r => r.deadlines_between(from, to).await)
    }

    /// Alerts raised in `[from, to)`, newest first.
    pub async fn alerts_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        limit: i64,
    ) -> Result<Vec<AlertRow>, StoreError> {
        dispatch!(self, r => r.alerts_between(from, to, limit).await)
    }

    /// Messages queued in `[from, to)`, newest first.
    pub async fn messages_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        limit: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        dispatch!(self, r => r.messages_between(from, to, limit).await)
    }

    /// How many values an indicator holds (the benchmark's load is kept between runs).
    pub async fn measure_count(&self, indicator: &str) -> Result<i64, StoreError> {
        dispatch!(self, r => r.measure_count(indicator).await)
    }

    /// Writes an indicator's values straight to the table (the benchmark).
    pub async fn load_bench_measures(
        &self,
        indicator: &str,
        rows: &[(String, String, String, Option<f64>)],
    ) -> Result<(), StoreError> {
        dispatch!(self, r => r.load_bench_measures(indicator, rows).await)
    }

    /// An indicator's count, sum and mean per period and group, periods `from` through `to`.
    pub async fn measure_totals(&self, indicator: &str, from: &str, to: &str) -> Result<Vec<MeasureTotal>, StoreError> {
        dispatch!(self, r => r.measure_totals(indicator, from, to).await)
    }

    /// The `offset`-th smallest value (from 0) of an indicator in one period and group.
    pub async fn measure_nth(
        &self,
        indicator: &str,
        period: &str,
        group: &str,
        offset: i64,
    ) -> Result<Option<f64>, StoreError> {
        dispatch!(self, r => r.measure_nth(indicator, period, group, offset).await)
    }

    /// An indicator's nearest-rank `percent`-th percentile per period and group (the smallest
    /// value with at least `percent` % of the values at or below it), for the groups of
    /// `totals`.
    pub async fn measure_percentile(
        &self,
        indicator: &str,
        totals: &[MeasureTotal],
        percent: i64,
    ) -> Result<Vec<(String, String, f64)>, StoreError> {
        let mut out = Vec::new();
        for t in totals.iter().filter(|t| t.n > 0) {
            let rank = (t.n * percent + 99) / 100;
            if let Some(v) = self.measure_nth(indicator, &t.period, &t.group, rank.max(1) - 1).await? {
                out.push((t.period.clone(), t.group.clone(), v));
            }
        }
        Ok(out)
    }

    /// The cases behind an indicator's value in one period and group, newest first.
    pub async fn measure_cases(
        &self,
        indicator: &str,
        period: &str,
        group: &str,
        limit: i64,
    ) -> Result<Vec<MeasureCase>, StoreError> {
        dispatch!(self, r => r.measure_cases(indicator, period, group, limit).await)
    }

    /// The messages an instance produced, oldest first.
    pub async fn messages_of(&self, instance: &str) -> Result<Vec<MessageRow>, StoreError> {
        dispatch!(self, r => r.messages_of(instance).await)
    }

    /// Instances of a process started in `[from, to)`, oldest first, with version and state.
    pub async fn instances_between(
        &self,
        process: &str,
        from: Timestamp,
        to: Timestamp,
        limit: i64,
    ) -> Result<Vec<(i64, Instance)>, StoreError> {
        dispatch!(self, r => r.instances_between(process, from, to, limit).await)
    }

    /// Timers due at or before `now`, soonest first.
    pub async fn due_timers(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, TimerKey, Timestamp)>, StoreError> {
        dispatch!(self, r => r.due_timers(now, limit).await)
    }

    /// The soonest timer of all.
    pub async fn next_timer(&self) -> Result<Option<Timestamp>, StoreError> {
        dispatch!(self, r => r.next_timer().await)
    }

    /// Leases to `node` until `until` up to `limit` messages due to be sent that no other node
    /// holds a live lease on, oldest first.
    pub async fn lease_messages(
        &self,
        node: &str,
        now: Timestamp,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        dispatch!(self, r => r.lease_messages(node, now, until, limit).await)
    }

    /// Leases report jobs due at `now` until `until` (see the repository's).
    pub async fn lease_report_jobs(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<ReportJob>, StoreError> {
        dispatch!(self, r => r.lease_report_jobs(now, until, limit).await)
    }

    /// Records a failed report and when to try again.
    pub async fn report_job_failed(&self, task: &str, error: &str, retry_at: Timestamp) -> Result<(), StoreError> {
        dispatch!(self, r => r.report_job_failed(task, error, retry_at).await)
    }

    /// Forgets a report job whose task is gone.
    pub async fn drop_report_job(&self, task: &str) -> Result<(), StoreError> {
        dispatch!(self, r => r.drop_report_job(task).await)
    }

    /// The report jobs not done yet: task, tries and last error.
    pub async fn pending_report_jobs(&self) -> Result<Vec<(String, i64, Option<String>)>, StoreError> {
        dispatch!(self, r => r.pending_report_jobs().await)
    }

    /// How many messages are not sent yet.
    pub async fn outbox_backlog(&self) -> Result<i64, StoreError> {
        dispatch!(self, r => r.outbox_backlog().await)
    }

    /// Answers a trivial query: the database is reachable.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, r => r.ping().await)
    }

    /// Records a message as sent.
    pub async fn mark_sent(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        dispatch!(self, r => r.mark_sent(id, now).await)
    }

    /// Records a failed attempt and when to try again.
    pub async fn mark_failed(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<(), StoreError> {
        dispatch!(self, r => r.mark_failed(id, error, retry_at).await)
    }

    /// When a schedule next fires, once set.
    pub async fn schedule_next(&self, process: &str, schedule: &str) -> Result<Option<Timestamp>, StoreError> {
        dispatch!(self, r => r.schedule_next(process, schedule).await)
    }

    /// Sets when a schedule next fires.
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
        match self {
            Tx::Sqlite(tx) => tx.lock_instance(id),
            Tx::Postgres(tx) => Repo::<Postgres>::lock_instance(tx, Repo::<Postgres>::dialect(), id).await,
        }
    }

    /// Reads the instances of `ids` that exist and locks them for the transaction.
    pub async fn lock_instances(&mut self, ids: &[&str]) -> Result<Vec<StoredInstance>, StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.lock_instances(ids),
            Tx::Postgres(tx) => Repo::<Postgres>::lock_instances(tx, Repo::<Postgres>::dialect(), ids).await,
        }
    }

    /// The last folio number `process` gave in `scope`, locked until this transaction ends.
    pub async fn last_folio(&mut self, process: &str, scope: &str) -> Result<i64, StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.last_folio(process, scope),
            Tx::Postgres(tx) => Repo::<Postgres>::last_folio(tx, Repo::<Postgres>::dialect(), process, scope).await,
        }
    }

    /// Claims one due timer row so no other node fires it (`FOR UPDATE SKIP LOCKED` on
    /// PostgreSQL); returns whether it is still there.
    pub async fn claim_timer(&mut self, id: &str, timer: &TimerKey) -> Result<bool, StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.claim_timer(id, timer),
            Tx::Postgres(tx) => Repo::<Postgres>::claim_timer(tx, Repo::<Postgres>::dialect(), id, timer).await,
        }
    }

    /// Appends the events and updates the current-state rows of one transition.
    pub async fn save(&mut self, c: &Change<'_>) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => repo::write::save(tx, c).await,
            Tx::Postgres(tx) => repo::write::save(tx, c).await,
        }
    }

    /// Many transitions serialized by one writer, in a fixed number of statements.
    pub async fn save_batch(&mut self, changes: &[&Change<'_>]) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => repo::write::save_batch(tx, changes).await,
            Tx::Postgres(tx) => repo::write::save_batch(tx, changes).await,
        }
    }

    /// Every user, read inside the transaction (a transaction must not wait on a second pooled
    /// connection: with every connection in a transaction, that wait never ends).
    pub async fn users(&mut self) -> Result<Vec<UserRow>, StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.users(),
            Tx::Postgres(tx) => Repo::<Postgres>::users_tx(tx).await,
        }
    }

    /// The instance `user` started with an idempotency key for `process`, read inside the
    /// transaction.
    pub async fn instance_by_key(
        &mut self,
        user: &str,
        process: &str,
        key: &str,
    ) -> Result<Option<StoredInstance>, StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.instance_by_key(user, process, key),
            Tx::Postgres(tx) => Repo::<Postgres>::instance_by_key_tx(tx, user, process, key).await,
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit(),
            Tx::Postgres(t) => t.commit().await.map_err(|e| StoreError::from_db(e, "commit")),
        }
    }
}
