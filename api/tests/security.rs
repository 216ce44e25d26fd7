//! What the API lets a signed-in user reach that is not theirs, on SQLite and PostgreSQL:
//! idempotency keys are the caller's own, per process.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/in_process.rs"]
mod in_process;

use axum::http::StatusCode;
use common::Db;
use in_process::App;

/// Two processes operators start, and one of the archive's.
const TREE: &[(&str, &str)] = &[
    (
        "processes/uno.yaml",
        "process: prueba.uno\ntitle: Uno\ncalendar: mx\nroles:\n  operador: Operador\nstart:\n  roles: [operador]\nsteps:\n  hacer:\n    task: Hacer\n    role: operador\n    next: end\n",
    ),
    (
        "processes/dos.yaml",
        "process: prueba.dos\ntitle: Dos\ncalendar: mx\nroles:\n  operador: Operador\nstart:\n  roles: [operador]\nsteps:\n  hacer:\n    task: Hacer\n    role: operador\n    next: end\n",
    ),
    (
        "processes/archivo.yaml",
        "process: prueba.archivo\ntitle: Archivo\ncalendar: mx\nroles:\n  archivista: Archivista\n  revisor: Revisor\nstart:\n  roles: [archivista]\nsteps:\n  archivar:\n    task: Archivar\n    role: archivista\n    next: revisar\n  revisar:\n    approval: Revisar\n    role: revisor\n    approve: end\n    reject: archivar\n",
    ),
];

/// Another user's key, or the same key sent to another process, starts a new instance — or is
/// refused when the caller may not start — and never answers with someone else's instance.
async fn idempotency_keys_are_per_user_and_process(db: Db) {
    let app = App::new(&db, "sec-keys", TREE).await;
    let ana = app.user("ana", &["operador"], false, None).await;
    let beto = app.user("beto", &["operador"], false, None).await;
    let carla = app.user("carla", &["archivista"], false, None).await;

    let first = app.start_with_key("prueba.uno", &ana, "k-1").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let id = first.json()["id"].as_str().unwrap().to_string();
    let again = app.start_with_key("prueba.uno", &ana, "k-1").await;
    assert_eq!((again.status, again.json()["id"].as_str()), (StatusCode::OK, Some(id.as_str())));

    let other_user = app.start_with_key("prueba.uno", &beto, "k-1").await;
    assert_eq!(other_user.status, StatusCode::CREATED, "{}", other_user.body);
    assert_ne!(other_user.json()["id"].as_str(), Some(id.as_str()));

    let other_process = app.start_with_key("prueba.dos", &ana, "k-1").await;
    assert_eq!(other_process.status, StatusCode::CREATED, "{}", other_process.body);
    assert_eq!(other_process.json()["process"], "prueba.dos");

    // A user who may not start the process gets a refusal, not ana's instance.
    let stranger = app.start_with_key("prueba.uno", &carla, "k-1").await;
    assert_eq!(stranger.status, StatusCode::FORBIDDEN, "{}", stranger.body);
    assert!(!stranger.body.contains(&id), "{}", stranger.body);

    // Each of them still gets their own instance back.
    let again = app.start_with_key("prueba.uno", &beto, "k-1").await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["id"], other_user.json()["id"]);
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Db::Postgres).await })*
        }
    };
}

on_both!(idempotency_keys_are_per_user_and_process);
