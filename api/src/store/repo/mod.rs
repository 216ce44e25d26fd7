//! Every SQL statement, written once for both backends (`$N` placeholders, portable types:
//! TEXT, BIGINT microseconds, BOOLEAN). Backend differences are the few in [`Dialect`]. The
//! queries are split by what they are about; each file adds to [`Repo`] through [`queries!`].

use std::marker::PhantomData;

use jiff::Timestamp;
use sqlx::{Database, Pool, Postgres, Sqlite};

use super::StoreError;

/// What differs between the backends.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    pub name: &'static str,
    /// Appended to a SELECT that locks the row it reads.
    pub for_update: &'static str,
    /// Appended to a SELECT that takes only rows nobody else holds.
    pub skip_locked: &'static str,
    /// Begins a transaction that reads, then writes: on SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`, waiting its turn) instead of failing when the read would become a
    /// write after another writer.
    pub begin_write: &'static str,
    /// Whether a statement whose parameters all come from one list ([`values`], [`list`]) marks
    /// them `?` (by position) instead of `$1, $2, …`. SQLite looks every numbered parameter up
    /// in a list, once when it parses the statement and once per bind: quadratic in their
    /// number, which made a batch's 7,600-parameter insert spend most of the writer's time
    /// naming parameters. A plain `?` is neither looked up nor named.
    pub positional: bool,
    /// Whether a query may name the index it reads (`INDEXED BY`, SQLite). Without statistics
    /// (`ANALYZE`) SQLite prefers an index that matches more equalities to one that matches a
    /// range, even when the range holds a few rows and the equalities a quarter of the table.
    pub index_hints: bool,
}

/// A backend Trámite runs on.
pub trait Backend: Database {
    const DIALECT: Dialect;
}

impl Backend for Sqlite {
    // SQLite has one writer at a time: the immediate transaction is the lock.
    const DIALECT: Dialect = Dialect {
        name: "sqlite",
        for_update: "",
        skip_locked: "",
        begin_write: "BEGIN IMMEDIATE",
        positional: true,
        index_hints: true,
    };
}

impl Backend for Postgres {
    const DIALECT: Dialect = Dialect {
        name: "postgres",
        for_update: " FOR UPDATE",
        skip_locked: " FOR UPDATE SKIP LOCKED",
        begin_write: "BEGIN",
        positional: false,
        index_hints: false,
    };
}

/// The queries, over one pool.
#[derive(Debug)]
pub struct Repo<DB: Database> {
    pool: Pool<DB>,
    _db: PhantomData<DB>,
}

impl<DB: Database> Clone for Repo<DB> {
    fn clone(&self) -> Self {
        Repo { pool: self.pool.clone(), _db: PhantomData }
    }
}

impl<DB: Backend> Repo<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Repo { pool, _db: PhantomData }
    }

    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    pub fn name(&self) -> &'static str {
        DB::DIALECT.name
    }

    pub fn dialect() -> Dialect {
        DB::DIALECT
    }
}

/// `impl Repo<DB>` with the bounds every query needs (sqlx spells them per type), written once.
macro_rules! queries {
    ($($body:tt)*) => {
        impl<DB> super::Repo<DB>
        where
            DB: super::Backend,
            for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
            for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
            for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
            for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> Option<f64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'r> String: sqlx::Decode<'r, DB>,
            for<'r> f64: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
            for<'r> Option<f64>: sqlx::Decode<'r, DB>,
            for<'r> i64: sqlx::Decode<'r, DB>,
            for<'r> bool: sqlx::Decode<'r, DB>,
            for<'r> Option<String>: sqlx::Decode<'r, DB>,
            for<'r> Option<i64>: sqlx::Decode<'r, DB>,
            for<'a> &'a str: sqlx::ColumnIndex<DB::Row>,
            DB::Row: super::Cols,
            DB::QueryResult: super::RowsAffected,
        {
            $($body)*
        }
    };
}

mod bench;
mod cases;
mod definitions;
mod indicators;
mod instances;
mod mailboxes;
mod oidc;
mod outbox;
mod report_jobs;
mod reports;
mod tasks;
mod tokens;
mod uploads;
mod users;
pub(super) mod write;

pub(super) use instances::{INSTANCE_COLUMNS, children_sql, instance_row, instance_sql, list_row};
pub(super) use tasks::{task_row, task_sql};
pub(super) use tokens::{token_holder_row, token_holder_sql};
pub(super) use users::{USERS, user_row};

/// JSON text of a value for a TEXT column; a value that does not serialise is an error naming
/// what it was, never `null`.
pub(super) fn encode<T: serde::Serialize>(v: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Encode(format!("{what}: {e}")))
}

/// A JSON column read back; unreadable text is an error naming what it was.
pub(super) fn decode<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// An instant column (UTC microseconds) read back; a value out of range is an error naming the
/// column, never the epoch.
pub(super) fn instant(micros: i64, what: &str) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(micros)
        .map_err(|e| StoreError::Corrupt(format!("{what}: {micros} µs is not an instant: {e}")))
}

pub(super) fn maybe_instant(micros: Option<i64>, what: &str) -> Result<Option<Timestamp>, StoreError> {
    micros.map(|m| instant(m, what)).transpose()
}

/// UTC microseconds since the epoch: how instants are stored in both backends.
pub(super) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// `($1, $2, $3), ($4, $5, $6)` (`(?, ?, ?), (?, ?, ?)` on SQLite) for `rows` rows of `cols`
/// placeholders: only for a statement with no other parameter.
pub(in crate::store) fn values(d: Dialect, rows: usize, cols: usize) -> String {
    let row = |r: usize| format!("({})", placeholders(d, r * cols + 1, cols));
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// `$1, $2, …` (`?, ?, …` on SQLite): `n` placeholders, for a statement with no other parameter.
pub(super) fn list(d: Dialect, n: usize) -> String {
    placeholders(d, 1, n)
}

fn placeholders(d: Dialect, from: usize, n: usize) -> String {
    if d.positional { vec!["?"; n].join(", ") } else { marks(from, n) }
}

/// `$a, $b, …`: `n` placeholders from `$from`.
pub(super) fn marks(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// A value a row's column is read as, by every driver the store reads with.
pub trait Col:
    rusqlite::types::FromSql
    + for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
{
}

impl<T> Col for T where
    T: rusqlite::types::FromSql
        + for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
{
}

/// A result row read by column name, whichever driver read it: sqlx's rows on both backends,
/// or rusqlite's on SQLite's direct connections (`store/direct.rs`). What a row means is then
/// written once, as a function over `impl Cols`.
pub trait Cols {
    fn col<T: Col>(&self, name: &str) -> Result<T, StoreError>;
}

impl Cols for sqlx::sqlite::SqliteRow {
    fn col<T: Col>(&self, name: &str) -> Result<T, StoreError> {
        Ok(sqlx::Row::try_get(self, name)?)
    }
}

impl Cols for sqlx::postgres::PgRow {
    fn col<T: Col>(&self, name: &str) -> Result<T, StoreError> {
        Ok(sqlx::Row::try_get(self, name)?)
    }
}

impl Cols for rusqlite::Row<'_> {
    fn col<T: Col>(&self, name: &str) -> Result<T, StoreError> {
        self.get(name).map_err(|e| StoreError::Sqlite(format!("column `{name}`: {e}")))
    }
}

/// sqlx has no backend-neutral `rows_affected`; this is it.
pub trait RowsAffected {
    fn rows(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_values_are_errors_that_name_the_column() {
        let e = instant(i64::MAX, "tasks.due_at").unwrap_err();
        assert!(matches!(&e, StoreError::Corrupt(m) if m.starts_with("tasks.due_at:")), "{e}");
        assert!(matches!(maybe_instant(Some(i64::MIN), "slas.warn_at"), Err(StoreError::Corrupt(_))));
        assert_eq!(maybe_instant(None, "slas.warn_at").ok(), Some(None));
        let e = decode::<Vec<String>>("{not json", "user roles").unwrap_err();
        assert!(matches!(&e, StoreError::Corrupt(m) if m.starts_with("user roles:")), "{e}");
        // A map with non-string keys cannot be JSON: an error, not `null`.
        let odd: std::collections::BTreeMap<(i32, i32), i32> = [((1, 2), 3)].into();
        assert!(
            matches!(encode(&odd, "instance state"), Err(StoreError::Encode(m)) if m.starts_with("instance state:"))
        );
    }
}
