//! The web UI's own queries: sessions, password sign-in and the dashboard's reads. Written once
//! with `$N` placeholders and run on whichever pool the [`Store`] holds; every value is bound.

use jiff::Timestamp;
use sqlx::Row;
use tramite_engine::machine::{Instance, Record};

use crate::store::{SlaRow, Store, StoreError, UserRow, from_micros, micros};

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend it is.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite(r) => {
                let $pool = r.pool();
                $body
            }
            Store::Postgres(r) => {
                let $pool = r.pool();
                $body
            }
        }
    };
}

fn parse<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A signed-in browser session.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user: UserRow,
    pub csrf: String,
}

/// A user and their password hash (PHC string), for sign-in.
pub async fn user_by_name(store: &Store, name: &str) -> Result<Option<(UserRow, Option<String>)>, StoreError> {
    on_pool!(store, pool => {
        let row = sqlx::query("SELECT name, email, roles, admin, password_hash FROM users WHERE name = $1")
            .bind(name.to_string())
            .fetch_optional(pool)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let roles: String = r.try_get("roles")?;
                let user = UserRow { name: r.try_get("name")?, email: r.try_get("email")?, roles: parse(&roles, "roles")?, admin: r.try_get("admin")? };
                Ok(Some((user, r.try_get("password_hash")?)))
            }
        }
    })
}

/// Stores a new session (by the SHA-256 of its cookie token) and drops expired ones.
pub async fn insert_session(
    store: &Store,
    id_hash: &str,
    user: &str,
    csrf: &str,
    now: Timestamp,
    expires: Timestamp,
) -> Result<(), StoreError> {
    on_pool!(store, pool => {
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1").bind(micros(now)).execute(pool).await?;
        sqlx::query("INSERT INTO web_sessions (id_hash, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id_hash.to_string())
            .bind(user.to_string())
            .bind(csrf.to_string())
            .bind(micros(now))
            .bind(micros(expires))
            .execute(pool)
            .await?;
        Ok(())
    })
}

/// The live session with this token hash, and its user.
pub async fn session(store: &Store, id_hash: &str, now: Timestamp) -> Result<Option<SessionRow>, StoreError> {
    on_pool!(store, pool => {
        let row = sqlx::query(
            "SELECT s.csrf, u.name, u.email, u.roles, u.admin FROM web_sessions s JOIN users u ON u.name = s.user_name WHERE s.id_hash = $1 AND s.expires_at > $2",
        )
        .bind(id_hash.to_string())
        .bind(micros(now))
        .fetch_optional(pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let roles: String = r.try_get("roles")?;
                let user = UserRow { name: r.try_get("name")?, email: r.try_get("email")?, roles: parse(&roles, "roles")?, admin: r.try_get("admin")? };
                Ok(Some(SessionRow { user, csrf: r.try_get("csrf")? }))
            }
        }
    })
}

pub async fn delete_session(store: &Store, id_hash: &str) -> Result<(), StoreError> {
    on_pool!(store, pool => {
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1").bind(id_hash.to_string()).execute(pool).await?;
        Ok(())
    })
}

/// SLA clocks started in `[from, to)`, stopped or not, oldest first.
pub async fn slas_started_between(store: &Store, from: Timestamp, to: Timestamp) -> Result<Vec<SlaRow>, StoreError> {
    store.slas_started_between(from, to).await
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

/// Tasks with a deadline opened in `[from, to)`.
pub async fn deadlines_between(store: &Store, from: Timestamp, to: Timestamp) -> Result<Vec<DeadlineRow>, StoreError> {
    on_pool!(store, pool => {
        let rows = sqlx::query(
            "SELECT process, step, title, due_at, closed_at FROM tasks WHERE due_at IS NOT NULL AND created_at >= $1 AND created_at < $2 ORDER BY created_at LIMIT 20000",
        )
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeadlineRow {
                    process: r.try_get("process")?,
                    step: r.try_get("step")?,
                    title: r.try_get("title")?,
                    due_at: from_micros(r.try_get::<Option<i64>, _>("due_at")?.unwrap_or_default()),
                    closed_at: r.try_get::<Option<i64>, _>("closed_at")?.map(from_micros),
                })
            })
            .collect()
    })
}

/// An `alerted` event with its instance's process and folio.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub instance_id: String,
    pub process: String,
    pub folio: Option<String>,
    pub record: Record,
}

/// Alerts raised in `[from, to)`, newest first.
pub async fn alerts_between(
    store: &Store,
    from: Timestamp,
    to: Timestamp,
    limit: i64,
) -> Result<Vec<AlertRow>, StoreError> {
    on_pool!(store, pool => {
        let rows = sqlx::query(
            "SELECT e.instance_id, e.body, i.process, i.folio FROM events e JOIN instances i ON i.id = e.instance_id \
             WHERE e.kind = 'alerted' AND e.at >= $1 AND e.at < $2 ORDER BY e.at DESC, e.seq DESC LIMIT $3",
        )
        .bind(micros(from))
        .bind(micros(to))
        .bind(limit)
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(|r| {
                let body: String = r.try_get("body")?;
                Ok(AlertRow { instance_id: r.try_get("instance_id")?, process: r.try_get("process")?, folio: r.try_get("folio")?, record: parse(&body, "event")? })
            })
            .collect()
    })
}

/// An outbox message as the dashboard lists it.
#[derive(Debug, Clone)]
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

/// Messages queued in `[from, to)`, newest first.
pub async fn messages_between(
    store: &Store,
    from: Timestamp,
    to: Timestamp,
    limit: i64,
) -> Result<Vec<MessageRow>, StoreError> {
    on_pool!(store, pool => {
        let rows = sqlx::query(
            "SELECT instance_id, kind, recipient, subject, created_at, sent_at, attempts, last_error FROM outbox WHERE created_at >= $1 AND created_at < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(micros(from))
        .bind(micros(to))
        .bind(limit)
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MessageRow {
                    instance_id: r.try_get("instance_id")?,
                    kind: r.try_get("kind")?,
                    recipient: r.try_get("recipient")?,
                    subject: r.try_get("subject")?,
                    created_at: from_micros(r.try_get("created_at")?),
                    sent_at: r.try_get::<Option<i64>, _>("sent_at")?.map(from_micros),
                    attempts: r.try_get("attempts")?,
                    last_error: r.try_get("last_error")?,
                })
            })
            .collect()
    })
}

/// Instances of a process started in `[from, to)`, oldest first, with their state.
pub async fn instances_between(
    store: &Store,
    process: &str,
    from: Timestamp,
    to: Timestamp,
    limit: i64,
) -> Result<Vec<(i64, Instance)>, StoreError> {
    on_pool!(store, pool => {
        let rows = sqlx::query("SELECT version, state FROM instances WHERE process = $1 AND started_at >= $2 AND started_at < $3 ORDER BY started_at LIMIT $4")
            .bind(process.to_string())
            .bind(micros(from))
            .bind(micros(to))
            .bind(limit)
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                Ok((r.try_get::<i64, _>("version")?, parse::<Instance>(&state, "instance state")?))
            })
            .collect()
    })
}
