//! A database made before the security migrations (0005 scoped idempotency keys, 0007 API
//! tokens) keeps what it had, on SQLite and PostgreSQL: a user's token moves to `api_tokens`
//! and works until 90 days after the migration; an instance's idempotency key becomes its
//! `start_key`.

use crate::common;
use crate::in_process;

use std::borrow::Cow;

use axum::http::StatusCode;
use common::{Db, database, repo, scratch};
use in_process::App;
use sqlx::migrate::Migrator;
use tramite::http::auth::token_hash;

const TREE: &[(&str, &str)] = &[(
    "processes/uno.yaml",
    "process: prueba.uno\ntitle: Uno\ncalendar: mx\nroles:\n  operador: Operador\nstart:\n  roles: [operador]\nsteps:\n  hacer:\n    task: Hacer\n    role: operador\n    next: end\n",
)];

const BEFORE: [&str; 2] = [
    "INSERT INTO users (name, email, roles, admin, token_hash, password_hash, created_at) VALUES ('vieja', NULL, '[\"operador\"]', FALSE, '{hash}', NULL, 0)",
    "INSERT INTO instances (id, process, version, status, state, seq, started_at, updated_at, started_by, idempotency_key) VALUES ('i-1', 'prueba.uno', 1, 'running', '{}', 1, 0, 0, 'vieja', 'clave-1')",
];

/// Migrations 0001 to 0004 of `backend`, as released before.
async fn migrator_before(backend: &str) -> Migrator {
    let mut m = Migrator::new(repo().join("migrations").join(backend)).await.unwrap();
    m.migrations = Cow::Owned(m.migrations.iter().filter(|x| x.version <= 4).cloned().collect());
    m
}

async fn old_tokens_and_keys_survive(db: Db) {
    let dir = scratch("migrate-0007");
    let url = database(&db, &dir).unwrap();
    let statements: Vec<String> = BEFORE.iter().map(|s| s.replace("{hash}", &token_hash("legacy-token"))).collect();
    match db {
        Db::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("{url}?mode=rwc")).await.unwrap();
            migrator_before("sqlite").await.run(&pool).await.unwrap();
            for s in &statements {
                sqlx::query(s).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Db::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            migrator_before("postgres").await.run(&pool).await.unwrap();
            for s in &statements {
                sqlx::query(s).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }

    let app = App::at(&url, &dir, TREE).await;
    let a = app.get("/api/inbox", "legacy-token").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let tokens = app.rt.store.tokens().await.unwrap();
    assert_eq!(tokens.len(), 1);
    let made = jiff::Timestamp::now();
    let lasts = tokens[0].expires_at.duration_since(made).as_hours();
    assert!((24 * 90 - 1..=24 * 90).contains(&lasts), "{lasts} hours");
    app.clock.set(tokens[0].expires_at);
    assert_eq!(app.get("/api/inbox", "legacy-token").await.json()["error"]["code"], "token_expired");

    let key: (Option<String>,) = match &app.rt.store {
        tramite::store::Store::Sqlite(r, _) => {
            sqlx::query_as("SELECT start_key FROM instances WHERE id = 'i-1'").fetch_one(r.pool()).await.unwrap()
        }
        tramite::store::Store::Postgres(r) => {
            sqlx::query_as("SELECT start_key FROM instances WHERE id = 'i-1'").fetch_one(r.pool()).await.unwrap()
        }
    };
    assert_eq!(key.0.as_deref(), Some("clave-1"));
}

#[tokio::test]
async fn old_tokens_and_keys_survive_on_sqlite() {
    old_tokens_and_keys_survive(Db::Sqlite).await;
}

#[tokio::test]
async fn old_tokens_and_keys_survive_on_postgres() {
    old_tokens_and_keys_survive(Db::Postgres).await;
}
