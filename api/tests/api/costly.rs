//! Form checks whose work grows with the rows of the data, through the server on SQLite and
//! PostgreSQL: past the budget they are a 422 field error given before anything runs; within
//! it they run on a worker thread before the command reaches the instance writer, so other
//! users' starts do not wait behind them, and the writer takes their result up.

use std::time::{Duration, Instant};

use crate::common;
use crate::in_process;

use axum::http::StatusCode;
use common::Db;
use in_process::App;
use serde_json::{Value, json};

const TREE: &[(&str, &str)] = &[
    (
        "processes/pares.yaml",
        "process: prueba.pares\ntitle: Pares\ncalendar: mx\nroles:\n  operador: Operador\nstart:\n  roles: [operador]\n  form: pares\nsteps:\n  revisar:\n    task: Revisar\n    role: operador\n    form: pares\n    next: end\n",
    ),
    (
        "processes/uno.yaml",
        "process: prueba.uno\ntitle: Uno\ncalendar: mx\nroles:\n  operador: Operador\nstart:\n  roles: [operador]\nsteps:\n  hacer:\n    task: Hacer\n    role: operador\n    next: end\n",
    ),
    (
        "forms/pares.yaml",
        "form: pares\ntitle: Pares\nfields:\n  filas:\n    type: list\n    label: Filas\n    max_items: 1000\n    fields:\n      n:\n        type: integer\n        label: N\nrules:\n  - check: data.filas.all(a, data.filas.filter(b, b.n == a.n).size() == 1)\n    message: Cada número aparece una sola vez.\n    field: filas\n  - check: data.filas.all(a, data.filas.exists(b, b.n >= a.n))\n    message: Falta el mayor.\n    field: filas\n  - check: data.filas.all(a, data.filas.exists(b, b.n <= a.n))\n    message: Falta el menor.\n    field: filas\n  - check: data.filas.all(a, data.filas.filter(b, b.n < a.n).size() < 1000)\n    message: Demasiados menores.\n    field: filas\n",
    ),
];

fn rows(n: usize) -> Value {
    json!({ "data": { "filas": (0..n).map(|i| json!({ "n": i })).collect::<Vec<_>>() } })
}

/// 1,000 rows checked each against every other would take about 12 million steps: refused
/// with the figures, on starting and on completing a task, and nothing is stored.
async fn a_check_past_the_budget_is_a_field_error(db: Db) {
    let app = App::new(&db, "costly-refused", TREE).await;
    let ana = app.user("ana", &["operador"], false, None).await;
    let refused = app.post("/api/processes/prueba.pares/instances", &ana, rows(1000)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let field = &refused.json()["error"]["details"]["fields"]["filas"];
    assert_eq!(field["code"], "too_costly", "{}", refused.body);
    assert!(field["message"].as_str().unwrap().contains("listas de hasta 1000 filas"), "{field}");
    let listed = app.get("/api/instances?process=prueba.pares", &ana).await;
    assert_eq!(listed.json()["instances"], json!([]), "nothing stored");

    let started = app.post("/api/processes/prueba.pares/instances", &ana, rows(3)).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let task = started.json()["tasks"][0]["id"].as_str().unwrap().to_string();
    let refused = app.post(&format!("/api/tasks/{task}/complete"), &ana, rows(1000)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.json()["error"]["details"]["fields"]["filas"]["code"], "too_costly");
    let open = app.get(&format!("/api/tasks/{task}"), &ana).await;
    assert_eq!(open.json()["status"], "open", "{}", open.body);
}

/// A start whose checks take a while (four rules, each over 350 rows against each other,
/// within the budget) is checked off the writer: a start of another process sent while it is
/// being checked (the server's gauge says so) is answered before the check ends. Both are
/// stored, and the writer took the check's result up.
async fn a_long_check_does_not_hold_up_other_starts(db: Db) {
    let app = App::new(&db, "costly-ahead", TREE).await;
    let ana = app.user("ana", &["operador"], false, None).await;
    let beto = app.user("beto", &["operador"], false, None).await;
    let long = async {
        let answer = app.post("/api/processes/prueba.pares/instances", &ana, rows(350)).await;
        (answer, Instant::now())
    };
    let short = async {
        // Sent once the long one is being checked (a check that never starts fails the test).
        let checking = async {
            while app.rt.metrics.form_checks_running() == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), checking).await.expect("the long start was never checked ahead");
        let answer = app.post("/api/processes/prueba.uno/instances", &beto, json!({ "data": {} })).await;
        let still_checking = app.rt.metrics.form_checks_running() == 1;
        (answer, Instant::now(), still_checking)
    };
    let ((long, long_done), (short, short_done, still_checking)) = tokio::join!(long, short);
    assert_eq!(long.status, StatusCode::CREATED, "{}", long.body);
    assert_eq!(short.status, StatusCode::CREATED, "{}", short.body);
    assert!(short_done < long_done && still_checking, "the short start waited for the long check");
    assert_eq!(app.rt.metrics.form_checks_running(), 0);
    let form = &app.rt.deployed("prueba.pares", None).unwrap().forms["pares"];
    assert_eq!(form.kept_ahead(), 0, "the writer took the result checked ahead");
    assert_eq!(long.json()["data"]["filas"].as_array().unwrap().len(), 350);
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::Db::Postgres).await })*
        }
    };
}

on_both!(a_check_past_the_budget_is_a_field_error, a_long_check_does_not_hold_up_other_starts);
