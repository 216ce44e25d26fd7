//! Every SQL statement, written once for both backends (`$N` placeholders, portable types:
//! TEXT, BIGINT microseconds, BOOLEAN). Backend differences are the few in [`Dialect`].

use std::marker::PhantomData;

use jiff::Timestamp;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Postgres, Row, Sqlite, Transaction, Type,
};
use tramite_engine::machine::{Instance, Record, Status, TimerKey};

use super::{
    Change, DefinitionRow, InboxQuery, OutboxRow, SlaFilter, SlaRow, StoreError, StoredInstance, TaskRow, UserRow,
    from_micros, micros,
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
        rows.iter()
            .map(|r| {
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
            })
            .collect()
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

    /// One transition: events appended, instance row updated (or created), tasks, timers and
    /// outbox brought in line with the new state.
    pub async fn save(tx: &mut Transaction<'static, DB>, d: Dialect, c: &Change<'_>) -> Result<(), StoreError> {
        let (status, outcome) = status_of(c.state);
        let state = json(c.state);
        let seq = c.state.version as i64;
        let ended = c.state.ended_at.map(micros);
        match c.before_seq {
            None => {
                sqlx::query::<DB>(
                    "INSERT INTO instances (id, process, version, status, outcome, folio, state, seq, started_at, updated_at, ended_at, started_by, idempotency_key) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(c.id.to_string())
                .bind(c.process.to_string())
                .bind(c.version)
                .bind(status.to_string())
                .bind(outcome)
                .bind(c.folio.clone())
                .bind(state)
                .bind(seq)
                .bind(micros(c.state.started_at))
                .bind(micros(c.now))
                .bind(ended)
                .bind(c.started_by.map(str::to_string))
                .bind(c.idempotency_key.map(str::to_string))
                .execute(&mut **tx)
                .await
                .map_err(|e| StoreError::from_db(e, "instance"))?;
            }
            Some(before) => {
                let done = sqlx::query::<DB>(
                    "UPDATE instances SET status = $1, outcome = $2, state = $3, seq = $4, updated_at = $5, ended_at = $6 WHERE id = $7 AND seq = $8",
                )
                .bind(status.to_string())
                .bind(outcome)
                .bind(state)
                .bind(seq)
                .bind(micros(c.now))
                .bind(ended)
                .bind(c.id.to_string())
                .bind(before)
                .execute(&mut **tx)
                .await?;
                if sqlx_rows(done) != 1 {
                    return Err(StoreError::Conflict);
                }
            }
        }
        let first = c.before_seq.unwrap_or(0);
        let fresh = c.before_seq.is_none();
        // One statement per table: on SQLite every statement is a round trip to the database
        // thread, so a transition costs its statements more than its rows.
        if !c.records.is_empty() {
            let sql = format!(
                "INSERT INTO events (instance_id, seq, at, actor, kind, body) VALUES {}",
                values(c.records.len(), 6)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (i, r) in c.records.iter().enumerate() {
                let body = serde_json::to_value(r).unwrap_or_default();
                let kind = body.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_string();
                q = q
                    .bind(c.id.to_string())
                    .bind(first + i as i64 + 1)
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
        Self::sync_tasks(tx, d, c).await?;
        if !fresh {
            sqlx::query::<DB>("DELETE FROM timers WHERE instance_id = $1")
                .bind(c.id.to_string())
                .execute(&mut **tx)
                .await?;
        }
        if !c.timers.is_empty() {
            let sql = format!(
                "INSERT INTO timers (instance_id, timer, due_at) VALUES {} ON CONFLICT (instance_id, timer) DO NOTHING",
                values(c.timers.len(), 3)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (at, key) in &c.timers {
                q = q.bind(c.id.to_string()).bind(json(key)).bind(micros(*at));
            }
            q.execute(&mut **tx).await?;
        }
        if !fresh {
            sqlx::query::<DB>("DELETE FROM slas WHERE instance_id = $1")
                .bind(c.id.to_string())
                .execute(&mut **tx)
                .await?;
        }
        if !c.slas.is_empty() {
            let sql = format!(
                "INSERT INTO slas (instance_id, sla, process, title, folio, started_at, warn_at, due_at, stopped_at) VALUES {}",
                values(c.slas.len(), 9)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for s in &c.slas {
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
        if !c.outbox.is_empty() {
            let sql = format!(
                "INSERT INTO outbox (instance_id, kind, recipient, subject, body, created_at, next_attempt_at) VALUES {}",
                values(c.outbox.len(), 7)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for m in &c.outbox {
                q = q
                    .bind(m.instance_id.clone())
                    .bind(m.kind.clone())
                    .bind(m.recipient.clone())
                    .bind(m.subject.clone())
                    .bind(m.body.clone())
                    .bind(micros(c.now))
                    .bind(micros(c.now));
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Closes the instance's open tasks that are no longer open in the state, and upserts the
    /// open ones.
    async fn sync_tasks(tx: &mut Transaction<'static, DB>, _d: Dialect, c: &Change<'_>) -> Result<(), StoreError> {
        if c.before_seq.is_some() {
            let mut sql = "UPDATE tasks SET status = 'done', closed_at = $1, closed_by = $2 WHERE instance_id = $3 AND status = 'open'".to_string();
            if !c.tasks.is_empty() {
                let marks: Vec<String> = (0..c.tasks.len()).map(|i| format!("${}", i + 4)).collect();
                sql.push_str(&format!(" AND id NOT IN ({})", marks.join(", ")));
            }
            let mut q = sqlx::query::<DB>(&sql)
                .bind(micros(c.now))
                .bind(c.records.last().and_then(|r| r.by.clone()))
                .bind(c.id.to_string());
            for t in &c.tasks {
                q = q.bind(t.id.clone());
            }
            q.execute(&mut **tx).await?;
        }
        if c.tasks.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO tasks (id, instance_id, token, process, step, title, role, kind, folio, status, due_at, claimed_by, sla_warn_at, sla_due_at, created_at) \
             VALUES {} \
             ON CONFLICT (id) DO UPDATE SET role = excluded.role, due_at = excluded.due_at, claimed_by = excluded.claimed_by, \
             sla_warn_at = excluded.sla_warn_at, sla_due_at = excluded.sla_due_at",
            values(c.tasks.len(), 15)
        );
        let mut q = sqlx::query::<DB>(&sql);
        for t in &c.tasks {
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
                .bind("open".to_string())
                .bind(t.due_at.map(micros))
                .bind(t.claimed_by.clone())
                .bind(t.sla_warn_at.map(micros))
                .bind(t.sla_due_at.map(micros))
                .bind(micros(t.created_at));
        }
        q.execute(&mut **tx).await?;
        Ok(())
    }
}

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
