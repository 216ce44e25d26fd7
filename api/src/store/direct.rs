//! SQLite's write connection, driven directly (rusqlite) in the task that writes, and read
//! connections for the reads every request makes, driven the same way.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands it every statement over a
//! channel: two thread wake-ups per statement, about 50 µs on the development machine, where
//! the statement itself takes a few. A group-commit batch runs a couple of dozen statements
//! (its reads, one multi-row statement per table, the commit), so the hand-offs cost more
//! than the writing. Here the one connection that writes is held by the transaction that
//! writes and called in place: a statement costs what SQLite takes to run it, and every
//! statement text stays prepared on the connection (`prepare_cached`).
//!
//! The calls hold the thread for as long as SQLite takes: microseconds for a read, a few
//! milliseconds for a batch's rows and its commit (the fsync). Waits do not: one connection
//! means one write transaction at a time, and a second waits for the first to end on an async
//! lock; a write another connection holds (outbox bookkeeping, sessions) is waited out asleep,
//! trying `BEGIN IMMEDIATE` again every millisecond for up to ten seconds.
//!
//! The reads on every request's path — its bearer token, the task it acts on, the instance and
//! the sub-processes its answer shows — are point reads of a few microseconds, and through the
//! pool each paid the same two thread wake-ups. They run on read connections of their own (one
//! per core), called in place; WAL lets them read the last commit beside the writer. Every
//! other read stays on the pool.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value as SqlValue};
use rusqlite::{Connection, ErrorCode, ToSql};
use tokio::sync::{Mutex, OwnedMutexGuard};
use tramite_engine::machine::TimerKey;

use super::repo::write::{Arg, Exec, run_len};
use super::repo::{
    Backend, Dialect, children_sql, instance_row, instance_sql, list_row, task_row, task_sql, token_holder_row,
    token_holder_sql, user_row,
};
use super::{InstanceRow, StoreError, StoredInstance, TaskRow, TokenHolder, UserRow};

/// Prepared statements kept on the write connection: a batch's statements for every row count
/// of every table it writes.
const STATEMENTS: usize = 1024;

/// Read connections called in place: one per core the machine has, at most [`MAX_READERS`].
const MAX_READERS: usize = 4;

/// The write connection, and read connections for the reads every request makes.
#[derive(Debug, Clone)]
pub struct Direct {
    conn: Arc<Mutex<Connection>>,
    /// Connections for the point reads on every request's path (its token, the task it acts
    /// on, an instance and its sub-processes), each read called in place like the writer's
    /// statements; the pool's connections, each on a thread of its own, serve the rest.
    readers: Arc<[Mutex<Connection>]>,
    /// How long a write transaction waits for a write another connection holds.
    busy: Duration,
}

impl Direct {
    /// Opens the write connection and the read connections to the database file `path`
    /// (already created and migrated), with the settings the pool's connections have.
    pub(super) fn open(path: &Path, pragmas: &[(&str, &str)], busy: Duration) -> Result<Direct, StoreError> {
        // The writer never waits inside SQLite (that would hold the thread): `begin` waits,
        // asleep. A reader of a WAL database is seldom kept waiting (while another connection
        // recovers the WAL after a crash, say): that rare wait is SQLite's.
        let connect = |wait: Duration| -> Result<Connection, StoreError> {
            let conn = Connection::open(path).map_err(|e| sqlite(e, "database"))?;
            conn.busy_timeout(wait).map_err(|e| sqlite(e, "database"))?;
            let settings: String = pragmas.iter().map(|(name, value)| format!("PRAGMA {name} = {value};")).collect();
            conn.execute_batch(&settings).map_err(|e| sqlite(e, "database"))?;
            conn.set_prepared_statement_cache_capacity(STATEMENTS);
            Ok(conn)
        };
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let readers =
            (0..cores.clamp(1, MAX_READERS)).map(|_| connect(busy).map(Mutex::new)).collect::<Result<_, _>>()?;
        Ok(Direct { conn: Arc::new(Mutex::new(connect(Duration::ZERO)?)), readers, busy })
    }

    /// Runs `read` on a free read connection, waiting for one when all are busy.
    async fn read<T>(&self, read: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let conn = match self.readers.iter().find_map(|r| r.try_lock().ok()) {
            Some(conn) => conn,
            None => {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                self.readers[NEXT.fetch_add(1, Ordering::Relaxed) % self.readers.len()].lock().await
            }
        };
        read(&conn)
    }

    /// An instance with its state, as last committed.
    pub async fn instance(&self, id: &str) -> Result<Option<StoredInstance>, StoreError> {
        let sql = instance_sql();
        self.read(|c| Ok(rows(c, &sql, &[&id], "instance", |r| instance_row(r))?.pop())).await
    }

    /// The sub-processes an instance started, oldest first.
    pub async fn children(&self, parent: &str) -> Result<Vec<InstanceRow>, StoreError> {
        let sql = children_sql();
        self.read(|c| rows(c, &sql, &[&parent], "instance", |r| list_row(r))).await
    }

    /// One task, open or done.
    pub async fn task(&self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        let sql = task_sql();
        self.read(|c| Ok(rows(c, &sql, &[&id], "task", |r| task_row(r))?.pop())).await
    }

    /// The token with this SHA-256 and its user, whatever their standing.
    pub async fn token_holder(&self, token_hash: &str) -> Result<Option<TokenHolder>, StoreError> {
        let sql = token_holder_sql();
        self.read(|c| Ok(rows(c, &sql, &[&token_hash], "token", |r| token_holder_row(r))?.pop())).await
    }

    /// Begins a write transaction, waiting for the one before to end and for a write another
    /// connection holds (asleep, not blocking the thread, for up to `busy`).
    pub async fn begin(&self) -> Result<DirectTx, StoreError> {
        let conn = self.conn.clone().lock_owned().await;
        let since = std::time::Instant::now();
        loop {
            match conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => return Ok(DirectTx { conn, open: true }),
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == ErrorCode::DatabaseBusy && since.elapsed() < self.busy =>
                {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(e) => return Err(sqlite(e, "transaction")),
            }
        }
    }
}

/// A write transaction on the write connection; rolled back when dropped uncommitted.
#[derive(Debug)]
pub struct DirectTx {
    conn: OwnedMutexGuard<Connection>,
    open: bool,
}

impl Drop for DirectTx {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %e, "rollback failed");
        }
    }
}

/// A rusqlite error as a store error: a unique-constraint violation is `Duplicate(what)`.
fn sqlite(e: rusqlite::Error, what: &str) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == ErrorCode::ConstraintViolation
                && matches!(
                    f.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
        {
            StoreError::Duplicate(what.to_string())
        }
        _ => StoreError::Sqlite(e.to_string()),
    }
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Arg::Int(Some(v)) => ToSqlOutput::Owned(SqlValue::Integer(*v)),
            Arg::Real(Some(v)) => ToSqlOutput::Owned(SqlValue::Real(*v)),
            Arg::Text(Some(v)) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(v.as_bytes())),
            Arg::Bool(v) => ToSqlOutput::Owned(SqlValue::Integer(i64::from(*v))),
            Arg::Int(None) | Arg::Real(None) | Arg::Text(None) => ToSqlOutput::Owned(SqlValue::Null),
        })
    }
}

/// `$N` placeholders as SQLite reads them (`?N`), so that one statement text serves both.
fn positional(sql: &str) -> std::borrow::Cow<'_, str> {
    if sql.contains('$') { sql.replace('$', "?").into() } else { sql.into() }
}

/// Runs a query on `conn` (its statement prepared once and kept) and maps each row.
fn rows<T>(
    conn: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
    what: &str,
    mut f: impl FnMut(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut st = conn.prepare_cached(&positional(sql)).map_err(|e| sqlite(e, what))?;
    let mut rows = st.query(args).map_err(|e| sqlite(e, what))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| sqlite(e, what))? {
        out.push(f(row)?);
    }
    Ok(out)
}

impl DirectTx {
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.open = false;
        self.conn.execute_batch("COMMIT").map_err(|e| sqlite(e, "commit"))
    }

    /// An instance with its state (the transaction holds the write lock).
    pub fn lock_instance(&self, id: &str) -> Result<Option<StoredInstance>, StoreError> {
        Ok(rows(&self.conn, &instance_sql(), &[&id], "instance", |r| instance_row(r))?.pop())
    }

    /// The instances of `ids` that exist.
    pub fn lock_instances(&self, ids: &[&str]) -> Result<Vec<StoredInstance>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in super::repo::write::runs(ids) {
            let sql = format!(
                "SELECT {} FROM instances WHERE id IN ({}) ORDER BY id",
                super::repo::INSTANCE_COLUMNS,
                super::repo::list(Self::DIALECT, chunk.len())
            );
            let args: Vec<&dyn ToSql> = chunk.iter().map(|id| id as &dyn ToSql).collect();
            out.extend(rows(&self.conn, &sql, &args, "instance", |r| instance_row(r))?);
        }
        Ok(out)
    }

    /// The instance `user` started with an idempotency key for `process`.
    pub fn instance_by_key(&self, user: &str, process: &str, key: &str) -> Result<Option<StoredInstance>, StoreError> {
        let sql = format!(
            "SELECT {} FROM instances WHERE started_by = ?1 AND process = ?2 AND start_key = ?3",
            super::repo::INSTANCE_COLUMNS
        );
        Ok(rows(&self.conn, &sql, &[&user, &process, &key], "instance", |r| instance_row(r))?.pop())
    }

    /// The last folio number `process` gave in `scope` (0 before the first); the write lock
    /// keeps it until commit.
    pub fn last_folio(&self, process: &str, scope: &str) -> Result<i64, StoreError> {
        let sql = "SELECT last FROM folio_counters WHERE process = ?1 AND scope = ?2";
        let last = rows(&self.conn, sql, &[&process, &scope], "folio counter", |r| {
            r.get(0).map_err(|e| sqlite(e, "folio counter"))
        })?;
        Ok(last.first().copied().unwrap_or(0))
    }

    /// Whether the instance and its timer row are still there.
    pub fn claim_timer(&self, id: &str, timer: &TimerKey) -> Result<bool, StoreError> {
        let key = super::repo::encode(timer, "timer")?;
        let found = rows(
            &self.conn,
            "SELECT 1 FROM timers t JOIN instances i ON i.id = t.instance_id WHERE t.instance_id = ?1 AND t.timer = ?2",
            &[&id, &key],
            "timer",
            |_| Ok(()),
        )?;
        Ok(!found.is_empty())
    }

    /// Every user.
    pub fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        rows(&self.conn, super::repo::USERS, &[], "user", |r| user_row(r))
    }
}

impl DirectTx {
    const DIALECT: Dialect = <sqlx::Sqlite as Backend>::DIALECT;
}

impl Exec for DirectTx {
    fn dialect(&self) -> Dialect {
        Self::DIALECT
    }

    fn run(
        &mut self,
        sql: &str,
        args: Vec<Arg<'_>>,
        what: &str,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        std::future::ready(self.execute(sql, &args, what))
    }

    /// The rows in `VALUES` lists, in runs of power-of-two lengths (as `repo::write::runs`
    /// cuts them): seven statement texts per table, each prepared once.
    fn run_rows(
        &mut self,
        sql_of: &(dyn Fn(&str) -> String + Sync),
        args: Vec<Arg<'_>>,
        cols: usize,
        what: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let mut rest = args.as_slice();
        let mut done = Ok(());
        while !rest.is_empty() && done.is_ok() {
            let n = run_len(rest.len() / cols);
            let (run, tail) = rest.split_at(n * cols);
            let sql = sql_of(&format!("VALUES {}", super::repo::values(Self::DIALECT, n, cols)));
            done = self.execute(&sql, run, what).map(drop);
            rest = tail;
        }
        std::future::ready(done)
    }
}

impl DirectTx {
    /// Runs one statement (prepared once and kept) and returns the rows it changed.
    fn execute(&self, sql: &str, args: &[Arg<'_>], what: &str) -> Result<u64, StoreError> {
        self.conn
            .prepare_cached(&positional(sql))
            .and_then(|mut st| st.execute(rusqlite::params_from_iter(args.iter())))
            .map(|n| n as u64)
            .map_err(|e| sqlite(e, what))
    }
}
