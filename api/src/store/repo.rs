//! Every SQL statement, written once for both backends (`$N` placeholders, portable types:
//! TEXT, BIGINT microseconds, BOOLEAN). Backend differences are the few in [`Dialect`].

use std::marker::PhantomData;

use jiff::Timestamp;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Postgres, Row, Sqlite, Transaction, Type,
};
use tramite_engine::machine::{Instance, Record, Status, TimerKey};

use super::{
    Change, DefinitionRow, InboxQuery, NewMessage, OutboxRow, SlaFilter, SlaRow, StoreError, StoredInstance, TaskRow,
    UserRow, from_micros, micros,
};

const INSTANCE_COLUMNS: &str = "id, process, version, seq, state, started_by";

const USERS: &str = "SELECT name, email, roles, admin FROM users ORDER BY name";

/// What differs between the backends.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    pub name: &'static str,
    /// Appended to a SELECT that locks the row it reads.
    pub for_update: &'static str,
    /// Appended to a SELECT that takes only rows nobody else holds.
    pub skip_locked: &'static str,
}

/// A backend Trámite runs on.
pub trait Backend: Database {
    const DIALECT: Dialect;
}

impl Backend for Sqlite {
    // SQLite has one writer at a time: the immediate transaction is the lock.
    const DIALECT: Dialect = Dialect { name: "sqlite", for_update: "", skip_locked: "" };
}

impl Backend for Postgres {
    const DIALECT: Dialect =
        Dialect { name: "postgres", for_update: " FOR UPDATE", skip_locked: " FOR UPDATE SKIP LOCKED" };
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

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn parse<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn status_of(inst: &Instance) -> (&'static str, Option<String>) {
    match &inst.status {
        Status::Running => ("running", None),
        Status::Ended { outcome } => ("ended", Some(outcome.clone())),
        Status::Cancelled { .. } => ("cancelled", None),
    }
}

impl<DB> Repo<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'r> bool: Decode<'r, DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> Option<i64>: Decode<'r, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    DB::QueryResult: RowsAffected,
{
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

    /// Every deployed definition version, oldest first.
    pub async fn definitions(&self) -> Result<Vec<DefinitionRow>, StoreError> {
        let rows =
            sqlx::query::<DB>("SELECT process, version, hash, bundle, file FROM definitions ORDER BY process, version")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(DefinitionRow {
                    process: r.try_get("process")?,
                    version: r.try_get("version")?,
                    hash: r.try_get("hash")?,
                    bundle: r.try_get("bundle")?,
                    file: r.try_get("file")?,
                })
            })
            .collect()
    }

    /// Records a new definition version; a version number taken by another node is a Duplicate.
    pub async fn insert_definition(&self, d: &DefinitionRow, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>("INSERT INTO definitions (process, version, hash, bundle, file, deployed_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(d.process.clone())
            .bind(d.version)
            .bind(d.hash.clone())
            .bind(d.bundle.clone())
            .bind(d.file.clone())
            .bind(micros(now))
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_db(e, "definition version"))?;
        Ok(())
    }

    /// Creates a user with a hashed API token (and optionally a hashed password).
    pub async fn add_user(
        &self,
        u: &UserRow,
        token_hash: &str,
        password_hash: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query::<DB>("INSERT INTO users (name, email, roles, admin, token_hash, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(u.name.clone())
            .bind(u.email.clone())
            .bind(json(&u.roles))
            .bind(u.admin)
            .bind(token_hash.to_string())
            .bind(password_hash.map(str::to_string))
            .bind(micros(now))
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_db(e, "user"))?;
        Ok(())
    }

    fn user_row(r: &DB::Row) -> Result<UserRow, StoreError> {
        let roles: String = r.try_get("roles")?;
        Ok(UserRow {
            name: r.try_get("name")?,
            email: r.try_get("email")?,
            roles: parse(&roles, "roles")?,
            admin: r.try_get("admin")?,
        })
    }

    /// The user holding an API token (by its SHA-256).
    pub async fn user_by_token(&self, token_hash: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query::<DB>("SELECT name, email, roles, admin FROM users WHERE token_hash = $1")
            .bind(token_hash.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::user_row).transpose()
    }

    /// Every user, read inside a transaction.
    pub async fn users_tx(tx: &mut Transaction<'static, DB>, _d: Dialect) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query::<DB>(USERS).fetch_all(&mut **tx).await?;
        rows.iter().map(Self::user_row).collect()
    }

    fn instance_row(r: &DB::Row) -> Result<StoredInstance, StoreError> {
        let state: String = r.try_get("state")?;
        Ok(StoredInstance {
            id: r.try_get("id")?,
            process: r.try_get("process")?,
            version: r.try_get("version")?,
            seq: r.try_get("seq")?,
            state: parse(&state, "instance state")?,
            started_by: r.try_get("started_by")?,
        })
    }

    pub async fn instance(&self, id: &str) -> Result<Option<StoredInstance>, StoreError> {
        let row = sqlx::query::<DB>(&format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::instance_row).transpose()
    }

    /// The instance an idempotency key started, if any.
    pub async fn instance_by_key(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query::<DB>("SELECT id FROM instances WHERE idempotency_key = $1")
            .bind(key.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// An instance's events in order.
    pub async fn history(&self, id: &str) -> Result<Vec<Record>, StoreError> {
        let rows = sqlx::query::<DB>("SELECT body FROM events WHERE instance_id = $1 ORDER BY seq")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| parse(&r.try_get::<String, _>("body")?, "event")).collect()
    }

    fn task_row(r: &DB::Row) -> Result<TaskRow, StoreError> {
        Ok(TaskRow {
            id: r.try_get("id")?,
            instance_id: r.try_get("instance_id")?,
            token: r.try_get("token")?,
            process: r.try_get("process")?,
            step: r.try_get("step")?,
            title: r.try_get("title")?,
            role: r.try_get("role")?,
            kind: r.try_get("kind")?,
            folio: r.try_get("folio")?,
            status: r.try_get("status")?,
            due_at: r.try_get::<Option<i64>, _>("due_at")?.map(from_micros),
            claimed_by: r.try_get("claimed_by")?,
            sla_warn_at: r.try_get::<Option<i64>, _>("sla_warn_at")?.map(from_micros),
            sla_due_at: r.try_get::<Option<i64>, _>("sla_due_at")?.map(from_micros),
            created_at: from_micros(r.try_get("created_at")?),
        })
    }

    const TASK_COLUMNS: &'static str = "id, instance_id, token, process, step, title, role, kind, folio, status, due_at, claimed_by, sla_warn_at, sla_due_at, created_at";

    pub async fn task(&self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        let sql = format!("SELECT {} FROM tasks WHERE id = $1", Self::TASK_COLUMNS);
        let row = sqlx::query::<DB>(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(Self::task_row).transpose()
    }

    /// Open tasks for some roles, soonest due first (no due date last).
    pub async fn inbox(&self, q: &InboxQuery) -> Result<Vec<TaskRow>, StoreError> {
        // Roles are bound as values, one placeholder each; the text holds only placeholders.
        let mut sql = format!("SELECT {} FROM tasks WHERE status = 'open'", Self::TASK_COLUMNS);
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if let Some(roles) = &q.roles {
            if roles.is_empty() {
                return Ok(Vec::new());
            }
            let marks: Vec<String> = roles.iter().map(|_| next()).collect();
            sql.push_str(&format!(" AND role IN ({})", marks.join(", ")));
        }
        if q.process.is_some() {
            sql.push_str(&format!(" AND process = {}", next()));
        }
        if q.due_before.is_some() {
            sql.push_str(&format!(" AND due_at IS NOT NULL AND due_at < {}", next()));
        }
        if let Some(f) = q.sla {
            sql.push_str(&sla_condition(f, "sla_warn_at", "sla_due_at", &next(), &next()));
        }
        sql.push_str(&format!(
            " ORDER BY CASE WHEN due_at IS NULL THEN 1 ELSE 0 END, due_at, created_at LIMIT {}",
            next()
        ));
        let mut query = sqlx::query::<DB>(&sql);
        for r in q.roles.iter().flatten() {
            query = query.bind(r.clone());
        }
        if let Some(p) = &q.process {
            query = query.bind(p.clone());
        }
        if let Some(t) = q.due_before {
            query = query.bind(micros(t));
        }
        if q.sla.is_some() {
            query = query.bind(micros(q.now)).bind(micros(q.now));
        }
        query = query.bind(q.limit);
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(Self::task_row).collect()
    }

    /// Running SLA clocks in a standing at `now`, most urgent first.
    pub async fn sla_report(
        &self,
        state: Option<SlaFilter>,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<SlaRow>, StoreError> {
        let mut sql = "SELECT instance_id, sla, process, title, folio, started_at, warn_at, due_at, stopped_at FROM slas WHERE stopped_at IS NULL".to_string();
        if let Some(f) = state {
            sql.push_str(&sla_condition(f, "warn_at", "due_at", "$1", "$2"));
        }
        sql.push_str(if state.is_some() { " ORDER BY due_at LIMIT $3" } else { " ORDER BY due_at LIMIT $1" });
        let mut query = sqlx::query::<DB>(&sql);
        if state.is_some() {
            query = query.bind(micros(now)).bind(micros(now));
        }
        let rows = query.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(Self::sla_row).collect()
    }

    /// SLA clocks started in `[from, to)`, stopped or not, oldest first (dashboard, exports).
    pub async fn slas_started_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<SlaRow>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT instance_id, sla, process, title, folio, started_at, warn_at, due_at, stopped_at FROM slas \
             WHERE started_at >= $1 AND started_at < $2 ORDER BY started_at LIMIT 20000",
        )
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::sla_row).collect()
    }

    fn sla_row(r: &DB::Row) -> Result<SlaRow, StoreError> {
        Ok(SlaRow {
            instance_id: r.try_get("instance_id")?,
            sla: r.try_get("sla")?,
            process: r.try_get("process")?,
            title: r.try_get("title")?,
            folio: r.try_get("folio")?,
            started_at: from_micros(r.try_get("started_at")?),
            warn_at: r.try_get::<Option<i64>, _>("warn_at")?.map(from_micros),
            due_at: from_micros(r.try_get("due_at")?),
            stopped_at: r.try_get::<Option<i64>, _>("stopped_at")?.map(from_micros),
        })
    }

    /// Timers due at or before `now`, soonest first.
    pub async fn due_timers(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, TimerKey, Timestamp)>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT instance_id, timer, due_at FROM timers WHERE due_at <= $1 ORDER BY due_at LIMIT $2",
        )
        .bind(micros(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let key: String = r.try_get("timer")?;
                Ok((r.try_get("instance_id")?, parse(&key, "timer")?, from_micros(r.try_get("due_at")?)))
            })
            .collect()
    }

    pub async fn next_timer(&self) -> Result<Option<Timestamp>, StoreError> {
        let row = sqlx::query::<DB>("SELECT MIN(due_at) AS due FROM timers").fetch_one(&self.pool).await?;
        Ok(row.try_get::<Option<i64>, _>("due")?.map(from_micros))
    }

    pub async fn pending_messages(&self, now: Timestamp, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT id, recipient, subject, body, attempts FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
        )
        .bind(micros(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxRow {
                    id: r.try_get("id")?,
                    recipient: r.try_get("recipient")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    pub async fn mark_sent(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2 AND sent_at IS NULL")
            .bind(micros(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn mark_failed(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3 AND sent_at IS NULL")
            .bind(error.to_string())
            .bind(micros(retry_at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn schedule_next(&self, process: &str, schedule: &str) -> Result<Option<Timestamp>, StoreError> {
        let row = sqlx::query::<DB>("SELECT next_run_at FROM schedules WHERE process = $1 AND schedule = $2")
            .bind(process.to_string())
            .bind(schedule.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<i64, _>("next_run_at")).transpose()?.map(from_micros))
    }

    pub async fn set_schedule(&self, process: &str, schedule: &str, next: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>(
            "INSERT INTO schedules (process, schedule, next_run_at) VALUES ($1, $2, $3) ON CONFLICT (process, schedule) DO UPDATE SET next_run_at = excluded.next_run_at",
        )
        .bind(process.to_string())
        .bind(schedule.to_string())
        .bind(micros(next))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn advance_schedule(
        &self,
        process: &str,
        schedule: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query::<DB>(
            "UPDATE schedules SET next_run_at = $1 WHERE process = $2 AND schedule = $3 AND next_run_at = $4",
        )
        .bind(micros(to))
        .bind(process.to_string())
        .bind(schedule.to_string())
        .bind(micros(from))
        .execute(&self.pool)
        .await?;
        Ok(sqlx_rows(done) == 1)
    }

    // ---- inside a transaction ------------------------------------------------------------------

    pub async fn instance_by_key_tx(
        tx: &mut Transaction<'static, DB>,
        _d: Dialect,
        key: &str,
    ) -> Result<Option<StoredInstance>, StoreError> {
        let row = sqlx::query::<DB>(&format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE idempotency_key = $1"))
            .bind(key.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        row.as_ref().map(Self::instance_row).transpose()
    }

    pub async fn lock_instance(
        tx: &mut Transaction<'static, DB>,
        d: Dialect,
        id: &str,
    ) -> Result<Option<StoredInstance>, StoreError> {
        let sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1{}", d.for_update);
        let row = sqlx::query::<DB>(&sql).bind(id.to_string()).fetch_optional(&mut **tx).await?;
        row.as_ref().map(Self::instance_row).transpose()
    }

    /// Locks the instance of a due timer unless another node holds it, and checks the timer row
    /// is still there.
    pub async fn claim_timer(
        tx: &mut Transaction<'static, DB>,
        d: Dialect,
        id: &str,
        timer: &TimerKey,
    ) -> Result<bool, StoreError> {
        let sql = format!("SELECT id FROM instances WHERE id = $1{}", d.skip_locked);
        if sqlx::query::<DB>(&sql).bind(id.to_string()).fetch_optional(&mut **tx).await?.is_none() {
            return Ok(false);
        }
        let row = sqlx::query::<DB>("SELECT due_at FROM timers WHERE instance_id = $1 AND timer = $2")
            .bind(id.to_string())
            .bind(json(timer))
            .fetch_optional(&mut **tx)
            .await?;
        Ok(row.is_some())
    }

    /// One transition: events appended, instance row updated (or created, or refused when
    /// someone else changed it since `before_seq`), tasks, timers, SLAs and outbox brought in
    /// line with the new state.
    pub async fn save(tx: &mut Transaction<'static, DB>, _d: Dialect, c: &Change<'_>) -> Result<(), StoreError> {
        match c.before_seq {
            None => Self::upsert_instances(tx, &[c]).await?,
            Some(before) => {
                let (status, outcome) = status_of(c.state);
                let done = sqlx::query::<DB>(
                    "UPDATE instances SET status = $1, outcome = $2, state = $3, seq = $4, updated_at = $5, ended_at = $6 WHERE id = $7 AND seq = $8",
                )
                .bind(status.to_string())
                .bind(outcome)
                .bind(json(c.state))
                .bind(c.state.version as i64)
                .bind(micros(c.now))
                .bind(c.state.ended_at.map(micros))
                .bind(c.id.to_string())
                .bind(before)
                .execute(&mut **tx)
                .await?;
                if sqlx_rows(done) != 1 {
                    return Err(StoreError::Conflict);
                }
            }
        }
        Self::write_rows(tx, &[c]).await
    }

    /// Many transitions already serialized by one writer (the SQLite group commit), in a fixed
    /// number of statements whatever their count.
    pub async fn save_batch(
        tx: &mut Transaction<'static, DB>,
        _d: Dialect,
        changes: &[&Change<'_>],
    ) -> Result<(), StoreError> {
        // Each instance's row: its final state, with the creation data of its first change.
        let mut rows: Vec<(&Change<'_>, Option<&str>, Option<&str>)> = Vec::new();
        for c in changes {
            match rows.iter_mut().find(|(l, _, _)| l.id == c.id) {
                Some(row) => row.0 = c,
                None => rows.push((c, c.started_by, c.idempotency_key)),
            }
        }
        for chunk in rows.chunks(500) {
            Self::upsert_rows(tx, chunk).await?;
        }
        Self::write_rows(tx, changes).await
    }

    async fn upsert_instances(tx: &mut Transaction<'static, DB>, changes: &[&Change<'_>]) -> Result<(), StoreError> {
        let rows: Vec<_> = changes.iter().map(|c| (*c, c.started_by, c.idempotency_key)).collect();
        Self::upsert_rows(tx, &rows).await
    }

    /// Inserts instance rows, or updates the state of those that exist.
    async fn upsert_rows(
        tx: &mut Transaction<'static, DB>,
        rows: &[(&Change<'_>, Option<&str>, Option<&str>)],
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO instances (id, process, version, status, outcome, folio, state, seq, started_at, updated_at, ended_at, started_by, idempotency_key) \
             VALUES {} ON CONFLICT (id) DO UPDATE SET status = excluded.status, outcome = excluded.outcome, folio = excluded.folio, \
             state = excluded.state, seq = excluded.seq, updated_at = excluded.updated_at, ended_at = excluded.ended_at",
            values(rows.len(), 13)
        );
        let mut q = sqlx::query::<DB>(&sql);
        for (c, started_by, key) in rows {
            let (status, outcome) = status_of(c.state);
            q = q
                .bind(c.id.to_string())
                .bind(c.process.to_string())
                .bind(c.version)
                .bind(status.to_string())
                .bind(outcome)
                .bind(c.folio.clone())
                .bind(json(c.state))
                .bind(c.state.version as i64)
                .bind(micros(c.state.started_at))
                .bind(micros(c.now))
                .bind(c.state.ended_at.map(micros))
                .bind(started_by.map(str::to_string))
                .bind(key.map(str::to_string));
        }
        q.execute(&mut **tx).await.map_err(|e| StoreError::from_db(e, "instance"))?;
        Ok(())
    }

    /// Events, tasks, timers, SLA clocks and messages of some transitions, one statement per
    /// table (and per few hundred rows): on SQLite every statement is a round trip to the
    /// database thread, so a transition costs its statements more than its rows.
    async fn write_rows(tx: &mut Transaction<'static, DB>, changes: &[&Change<'_>]) -> Result<(), StoreError> {
        let mut events = Vec::new();
        for c in changes {
            let first = c.before_seq.unwrap_or(0);
            for (i, r) in c.records.iter().enumerate() {
                events.push((c.id, first + i as i64 + 1, r));
            }
        }
        for chunk in events.chunks(500) {
            let sql = format!(
                "INSERT INTO events (instance_id, seq, at, actor, kind, body) VALUES {}",
                values(chunk.len(), 6)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (id, seq, r) in chunk {
                let body = serde_json::to_value(r).unwrap_or_default();
                let kind = body.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_string();
                q = q
                    .bind(id.to_string())
                    .bind(*seq)
                    .bind(micros(r.at))
                    .bind(r.by.clone())
                    .bind(kind)
                    .bind(body.to_string());
            }
            q.execute(&mut **tx).await.map_err(|e| match StoreError::from_db(e, "event") {
                StoreError::Duplicate(_) => StoreError::Conflict,
                other => other,
            })?;
        }

        // Tasks: the open ones, and those the transition closed (status `done`); a task seen
        // several times in a batch keeps its last row.
        let mut tasks: Vec<(&TaskRow, Option<Closing>)> = Vec::new();
        for c in changes {
            let by = c.records.last().and_then(|r| r.by.clone());
            tasks.extend(c.closed.iter().map(|t| (t, Some((c.now, by.clone())))));
            tasks.extend(c.tasks.iter().map(|t| (t, None)));
        }
        let mut seen = std::collections::HashSet::new();
        let mut unique: Vec<_> = tasks.into_iter().rev().filter(|(t, _)| seen.insert(t.id.as_str())).collect();
        unique.reverse();
        for chunk in unique.chunks(300) {
            let sql = format!(
                "INSERT INTO tasks (id, instance_id, token, process, step, title, role, kind, folio, status, due_at, claimed_by, sla_warn_at, sla_due_at, created_at, closed_at, closed_by) \
                 VALUES {} \
                 ON CONFLICT (id) DO UPDATE SET role = excluded.role, due_at = excluded.due_at, claimed_by = excluded.claimed_by, \
                 sla_warn_at = excluded.sla_warn_at, sla_due_at = excluded.sla_due_at, status = excluded.status, \
                 closed_at = excluded.closed_at, closed_by = excluded.closed_by",
                values(chunk.len(), 17)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (t, closed) in chunk {
                let status = if closed.is_some() { "done" } else { "open" };
                q = q
                    .bind(t.id.clone())
                    .bind(t.instance_id.clone())
                    .bind(t.token)
                    .bind(t.process.clone())
                    .bind(t.step.clone())
                    .bind(t.title.clone())
                    .bind(t.role.clone())
                    .bind(t.kind.clone())
                    .bind(t.folio.clone())
                    .bind(status.to_string())
                    .bind(t.due_at.map(micros))
                    .bind(t.claimed_by.clone())
                    .bind(t.sla_warn_at.map(micros))
                    .bind(t.sla_due_at.map(micros))
                    .bind(micros(t.created_at))
                    .bind(closed.as_ref().map(|(at, _)| micros(*at)))
                    .bind(closed.as_ref().and_then(|(_, by)| by.clone()));
            }
            q.execute(&mut **tx).await?;
        }

        // Timers and SLA clocks: each instance's final set replaces what was stored.
        let mut finals: Vec<&Change<'_>> = Vec::new();
        for c in changes {
            match finals.iter_mut().find(|f| f.id == c.id) {
                Some(f) => *f = c,
                None => finals.push(c),
            }
        }
        let stored: Vec<&str> = finals
            .iter()
            .filter(|f| changes.iter().any(|c| c.id == f.id && (c.before_seq.is_some() || !std::ptr::eq(*c, **f))))
            .map(|f| f.id)
            .collect();
        for table in ["timers", "slas"] {
            for chunk in stored.chunks(500) {
                let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                let sql = format!("DELETE FROM {table} WHERE instance_id IN ({})", marks.join(", "));
                let mut q = sqlx::query::<DB>(&sql);
                for id in chunk {
                    q = q.bind(id.to_string());
                }
                q.execute(&mut **tx).await?;
            }
        }
        let timers: Vec<(&str, &Timestamp, &TimerKey)> =
            finals.iter().flat_map(|c| c.timers.iter().map(move |(at, k)| (c.id, at, k))).collect();
        for chunk in timers.chunks(500) {
            let sql = format!(
                "INSERT INTO timers (instance_id, timer, due_at) VALUES {} ON CONFLICT (instance_id, timer) DO NOTHING",
                values(chunk.len(), 3)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (id, at, key) in chunk {
                q = q.bind(id.to_string()).bind(json(key)).bind(micros(**at));
            }
            q.execute(&mut **tx).await?;
        }
        let slas: Vec<&SlaRow> = finals.iter().flat_map(|c| c.slas.iter()).collect();
        for chunk in slas.chunks(300) {
            let sql = format!(
                "INSERT INTO slas (instance_id, sla, process, title, folio, started_at, warn_at, due_at, stopped_at) VALUES {}",
                values(chunk.len(), 9)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for s in chunk {
                q = q
                    .bind(s.instance_id.clone())
                    .bind(s.sla.clone())
                    .bind(s.process.clone())
                    .bind(s.title.clone())
                    .bind(s.folio.clone())
                    .bind(micros(s.started_at))
                    .bind(s.warn_at.map(micros))
                    .bind(micros(s.due_at))
                    .bind(s.stopped_at.map(micros));
            }
            q.execute(&mut **tx).await?;
        }

        let messages: Vec<(&NewMessage, Timestamp)> =
            changes.iter().flat_map(|c| c.outbox.iter().map(move |m| (m, c.now))).collect();
        for chunk in messages.chunks(500) {
            let sql = format!(
                "INSERT INTO outbox (instance_id, kind, recipient, subject, body, created_at, next_attempt_at) VALUES {}",
                values(chunk.len(), 7)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (m, now) in chunk {
                q = q
                    .bind(m.instance_id.clone())
                    .bind(m.kind.clone())
                    .bind(m.recipient.clone())
                    .bind(m.subject.clone())
                    .bind(m.body.clone())
                    .bind(micros(*now))
                    .bind(micros(*now));
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// When and by whom a task was closed.
type Closing = (Timestamp, Option<String>);

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `cols` placeholders.
fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", (1..=cols).map(|c| format!("${}", r * cols + c)).collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SQL condition for an SLA standing at `now` (bound twice, as `$a` and `$b`).
fn sla_condition(f: SlaFilter, warn: &str, due: &str, a: &str, b: &str) -> String {
    match f {
        SlaFilter::Breached => format!(" AND {due} IS NOT NULL AND {due} <= {a} AND {due} <= {b}"),
        SlaFilter::Warning => {
            format!(" AND {due} IS NOT NULL AND {due} > {a} AND {warn} IS NOT NULL AND {warn} <= {b}")
        }
        SlaFilter::Ok => format!(" AND ({due} IS NULL OR ({due} > {a} AND ({warn} IS NULL OR {warn} > {b})))"),
    }
}

/// Rows changed by a statement, whatever the backend's result type.
fn sqlx_rows<R: RowsAffected>(r: R) -> u64 {
    r.rows()
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
