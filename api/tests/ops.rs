//! Running the server: the file watch (a change deployed once, a broken file reported once,
//! only versions that load stored, stored versions loaded with their calendars); metrics,
//! health and readiness, logs.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/in_process.rs"]
mod in_process;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::{Db, Server, database, eventually, repo, scratch};
use in_process::{Answer, App, addr};
use serde_json::{Value, json};
use tramite::clock::ManualClock;
use tramite::mail::Templates;
use tramite::runtime::Runtime;
use tramite::store::Store;

/// A process on `calendar` whose start fills `form` (when given), titled `title`.
fn process(id: &str, title: &str, calendar: &str, form: Option<&str>) -> String {
    let start = match form {
        Some(f) => format!("start:\n  roles: [operador]\n  form: {f}\n"),
        None => "start:\n  roles: [operador]\n".to_string(),
    };
    format!(
        "process: {id}\ntitle: {title}\ncalendar: {calendar}\nroles:\n  operador: Operador\n{start}steps:\n  hacer:\n    task: Hacer\n    role: operador\n    next: end\n"
    )
}

/// A definition tree under `dir/tree` with the shipped calendars and `files` (path → text).
fn tree(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("processes")).unwrap();
    std::fs::create_dir_all(tree.join("calendars")).unwrap();
    for e in std::fs::read_dir(repo().join("calendars")).unwrap().flatten() {
        std::fs::copy(e.path(), tree.join("calendars").join(e.file_name())).unwrap();
    }
    for (path, text) in files {
        let p = tree.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    tree
}

/// A runtime over the database at `url`, on a manual clock, with nothing deployed yet.
async fn runtime(url: &str) -> Arc<Runtime> {
    let clock = Arc::new(ManualClock::new("2026-03-02T15:00:00Z".parse().unwrap()));
    let rt = Arc::new(Runtime::new(Store::open(url).await.unwrap(), Templates::load(None).unwrap(), clock));
    rt.start_writer();
    rt
}

/// The server's own reads of the tree are no change: a broken file is reported once, however
/// many deployments follow, and each change of a process becomes one version.
#[test]
fn the_watch_deploys_each_change_once_and_reports_a_broken_file_once() {
    let dir = scratch("watch");
    let uno = dir.join("tree/processes/uno.yaml");
    let tree = tree(&dir, &[("processes/uno.yaml", &process("prueba.uno", "Uno", "mx", None))]);
    let db = database(&Db::Sqlite, &dir).unwrap();
    let server = Server::start_watching(&db, &dir, &tree.join("processes"), "info");
    assert!(server.log().contains("deployed process=prueba.uno version=1"), "{}", server.log());

    let roto = tree.join("processes/roto.yaml");
    std::fs::write(&roto, "process: prueba.roto\ntitle: [\n").unwrap();
    eventually(30, || server.log().contains("process `prueba.roto` not deployed").then_some(()));
    std::fs::write(&uno, process("prueba.uno", "Uno, segunda", "mx", None)).unwrap();
    eventually(30, || server.log().contains("deployed process=prueba.uno version=2").then_some(()));
    std::fs::remove_file(&roto).unwrap();
    eventually(30, || server.log().contains("no longer refused").then_some(()));
    std::fs::write(&uno, process("prueba.uno", "Uno, tercera", "mx", None)).unwrap();
    eventually(30, || server.log().contains("deployed process=prueba.uno version=3").then_some(()));

    let log = server.log();
    assert_eq!(log.matches("process `prueba.roto` not deployed").count(), 1, "{log}");
    assert_eq!(log.matches("no longer refused").count(), 1, "{log}");
    for v in 1..=3 {
        assert_eq!(log.matches(&format!("deployed process=prueba.uno version={v}")).count(), 1, "{log}");
    }
    assert!(!log.contains("version=4"), "{log}");
}

/// A form file with problems still lends its form to the tree's catalog; a process that fills
/// it is held back (listed as not deployed), not stored as a version that would never load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_whose_form_does_not_load_is_not_stored() {
    let dir = scratch("form-broken");
    let form = "form: solicitud\ntitle: Solicitud\nfields:\n  monto:\n    type: integer\n    label: Monto\nrules:\n  - check: data.nada > 0\n    message: No.\n";
    let tree = tree(
        &dir,
        &[
            ("forms/solicitud.yaml", form),
            ("processes/uno.yaml", &process("prueba.uno", "Uno", "mx", Some("solicitud"))),
        ],
    );
    let rt = runtime(&database(&Db::Sqlite, &dir).unwrap()).await;
    for _ in 0..2 {
        let d = rt.deploy_paths(&[tree.join("processes")]).await.unwrap();
        assert!(d.deployed.is_empty(), "{:?}", d.deployed);
        let files: Vec<(&str, Option<i64>)> = d.not_deployed.iter().map(|n| (n.file.as_str(), n.version)).collect();
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(files.iter().all(|(_, v)| v.is_none()), "{files:?}");
        let held = d.not_deployed.iter().find(|n| n.file.ends_with("processes/uno.yaml")).unwrap();
        assert!(
            held.rendered.contains("solicitud.yaml`, a file this process uses, does not load"),
            "{}",
            held.rendered
        );
        assert!(rt.store.definitions().await.unwrap().is_empty());
    }
}

/// A version deployed with a calendar of the tree loads after a restart on a tree that no
/// longer defines that calendar: the calendar files are stored with the version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_versions_load_with_their_calendars() {
    let dir = scratch("calendars");
    let acme =
        "calendar: acme\ntitle: Acme\nextends: mx\nholidays:\n  - name: Nochebuena\n    month: 12\n    day: 24\n";
    let first = tree(
        &dir,
        &[("calendars/acme.yaml", acme), ("processes/uno.yaml", &process("prueba.uno", "Uno", "acme", None))],
    );
    let url = database(&Db::Sqlite, &dir).unwrap();
    let d = runtime(&url).await.deploy_paths(&[first.join("processes")]).await.unwrap();
    assert_eq!(d.deployed, vec![("prueba.uno".to_string(), 1)]);
    assert!(d.not_deployed.is_empty());

    std::fs::remove_dir_all(&first).unwrap();
    let second = tree(&dir, &[]);
    let rt = runtime(&url).await;
    let d = rt.deploy_paths(&[second.join("processes")]).await.unwrap();
    let refused: Vec<&str> = d.not_deployed.iter().map(|n| n.rendered.as_str()).collect();
    assert!(refused.is_empty(), "{refused:?}");
    let v1 = rt.deployed("prueba.uno", Some(1)).unwrap();
    assert_eq!(v1.calendar.name(), "acme");
    assert!(v1.calendar.holiday_on("2026-12-24".parse().unwrap()).is_some());
}

// ---------------------------------------------------------------------------------------------
// Metrics, health, readiness, logs

/// A task under an SLA of 2 business hours that warns an hour before.
const PLAZO: &str = "process: prueba.plazo\ntitle: Plazo\ncalendar: mx\nroles:\n  operador: Operador\nstart:\n  roles: [operador]\nslas:\n  respuesta:\n    title: Respuesta\n    from: started\n    until: hacer.completed\n    within: 2 business hours\n    warn: 1 business hour before\nsteps:\n  hacer:\n    task: Hacer\n    role: operador\n    next: end\n";

/// `GET /metrics` from `from`, with a token when given, through the router.
async fn scrape(app: &App, token: Option<&str>, from: &str, forwarded: bool) -> Answer {
    let mut req = Request::builder().uri("/metrics");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if forwarded {
        req = req.header("x-forwarded-for", "198.51.100.7");
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut().insert(ConnectInfo(addr(from)));
    app.send(req).await
}

/// The value of the sample named exactly `series` (name and labels as printed).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no `{series}` in:\n{text}"))
        .parse()
        .unwrap()
}

async fn metrics_follow_transitions_timers_and_slas(db: Db) {
    let app = App::new(&db, "metrics", &[("processes/plazo.yaml", PLAZO)]).await;
    let admin = app.user("admin", &[], true, None).await;
    let ana = app.user("ana", &["operador"], false, None).await;

    // Who may read them: admins anywhere, anyone straight from loopback, nobody through a proxy.
    assert_eq!(scrape(&app, None, "192.0.2.1", false).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(scrape(&app, Some(&ana), "192.0.2.1", false).await.status, StatusCode::FORBIDDEN);
    assert_eq!(scrape(&app, None, "127.0.0.1", true).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(scrape(&app, None, "127.0.0.1", false).await.status, StatusCode::OK);
    let before = scrape(&app, Some(&admin), "192.0.2.1", false).await;
    assert_eq!(before.status, StatusCode::OK);
    assert_eq!(before.header("content-type"), Some(tramite::metrics::CONTENT_TYPE));
    let before = before.body;
    assert_eq!(sample(&before, "tramite_transitions_total"), 0.0);
    assert_eq!(sample(&before, "tramite_outbox_backlog"), 0.0);

    let started = app.post("/api/processes/prueba.plazo/instances", &ana, json!({ "data": {} })).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let task = started.json()["tasks"][0]["id"].as_str().unwrap().to_string();
    let done = app.post(&format!("/api/tasks/{task}/complete"), &ana, json!({ "data": {} })).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let after = scrape(&app, Some(&admin), "192.0.2.1", false).await.body;
    assert_eq!(sample(&after, "tramite_transitions_total"), 2.0);
    assert_eq!(sample(&after, "tramite_sla_breaches_total"), 0.0);
    let completions =
        r#"tramite_http_request_duration_seconds_count{method="POST",route="/api/tasks/{id}/complete",status="200"}"#;
    assert_eq!(sample(&after, completions), 1.0);
    assert!(!after.contains(&task), "a route is its template, not the path");

    // A second case is left alone past its SLA: the warning and the breach fire, late.
    let late = app.post("/api/processes/prueba.plazo/instances", &ana, json!({ "data": {} })).await;
    assert_eq!(late.status, StatusCode::CREATED, "{}", late.body);
    app.advance(3 * 3600);
    tramite::scheduler::tick(&app.rt).await.unwrap();
    let breached = scrape(&app, Some(&admin), "192.0.2.1", false).await.body;
    assert_eq!(sample(&breached, "tramite_sla_warnings_total"), 1.0);
    assert_eq!(sample(&breached, "tramite_sla_breaches_total"), 1.0);
    assert_eq!(sample(&breached, "tramite_transitions_total"), 5.0);
    assert_eq!(sample(&breached, "tramite_timer_lag_seconds_count"), 2.0);
    // The warning fell due two hours before the clock reached it, the breach one hour before.
    assert_eq!(sample(&breached, "tramite_timer_lag_seconds_sum"), 3.0 * 3600.0);
}

/// `/readyz` is 503 once the store stops answering (PostgreSQL refusing every connection).
async fn readiness_follows_the_store(db: Db) {
    let app = App::new(&db, "ready", &[("processes/plazo.yaml", PLAZO)]).await;
    let get = |path: &'static str| {
        let req = Request::builder().uri(path).body(Body::empty()).unwrap();
        app.send(req)
    };
    let ready = get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert_eq!(ready.json(), json!({ "status": "ready", "checks": { "store": "ok", "definitions": "ok" } }));
    let health = get("/healthz").await;
    assert_eq!((health.status, health.json()), (StatusCode::OK, json!({ "status": "ok" })));
    if !matches!(db, Db::Postgres) {
        return;
    }
    let admin = std::env::var("TRAMITE_TEST_POSTGRES").unwrap();
    let name = app.url.rsplit('/').next().unwrap().to_string();
    let psql = |sql: String| {
        let out =
            std::process::Command::new("psql").args([&admin, "-v", "ON_ERROR_STOP=1", "-qc", &sql]).output().unwrap();
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    };
    psql(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
    psql(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"));
    let down = get("/readyz").await;
    psql(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE, "{}", down.body);
    let body: Value = down.json();
    assert_eq!(body["status"], "not_ready");
    assert_ne!(body["checks"]["store"], "ok", "{body}");
    assert_eq!(body["checks"]["definitions"], "ok");
}

/// The real binary: health and readiness as JSON, metrics from loopback, JSON log lines with
/// `--log-format json`, and text logs without terminal colours when stderr is a file.
#[test]
fn the_server_answers_health_readiness_and_metrics_and_logs_plainly() {
    let dir = scratch("observe");
    let tree = tree(&dir, &[("processes/plazo.yaml", PLAZO)]);
    let db = database(&Db::Sqlite, &dir).unwrap();
    let server =
        Server::start_with(&db, &dir, None, &tree.join("processes"), "info", &["--no-watch", "--log-format", "json"]);
    let http = reqwest::blocking::Client::new();
    let get = |path: &str| {
        let r = http.get(format!("{}{path}", server.base)).send().unwrap();
        let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
        (r.status().as_u16(), ct, r.text().unwrap())
    };
    let (status, _, body) = get("/healthz");
    assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()), (200, json!({ "status": "ok" })));
    let (status, _, body) = get("/readyz");
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["status"], "ready");
    let (status, ct, body) = get("/metrics");
    assert_eq!(status, 200, "{body}");
    assert_eq!(ct.as_deref(), Some(tramite::metrics::CONTENT_TYPE));
    assert!(body.contains(r#"route="/readyz""#), "{body}");
    let log = server.log();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() >= 2, "{log}");
    for l in lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{l}");
    }
    drop(server);

    // Text, to a file, without NO_COLOR set: no escape codes.
    let err = dir.join("plain.log");
    let mut child = std::process::Command::new(common::BIN)
        .args(["serve", "--no-watch", "--listen", "127.0.0.1:0", "--database", &db])
        .arg("--processes")
        .arg(tree.join("processes"))
        .arg("--outbox")
        .arg(dir.join("outbox"))
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&err).unwrap();
    assert!(text.contains("serving"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
}

// ---------------------------------------------------------------------------------------------
// Backups

/// A backup taken while the server writes is a consistent database: opened as the store, every
/// instance in it replays from its events to the state stored beside them, and every instance
/// started before the backup began is in it. The target is never overwritten.
#[test]
fn a_backup_taken_while_serving_replays_to_the_same_states() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Mutex, mpsc};

    let dir = scratch("backup");
    let tree = tree(&dir, &[("processes/uno.yaml", &process("prueba.uno", "Uno", "mx", None))]);
    let db = database(&Db::Sqlite, &dir).unwrap();
    let token = common::add_user(&db, "ana", &["operador"], None, false);
    let server = Server::start_tree(&db, &dir, None, &tree.join("processes"), "warn");
    let api = common::Api::new(&server.base, &token);
    let ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let writer = {
        let (ids, stop) = (ids.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let (status, inst) = api.post("/api/processes/prueba.uno/instances", json!({ "data": {} }));
                assert_eq!(status, 201, "{inst}");
                let id = inst["id"].as_str().unwrap().to_string();
                let task = inst["tasks"][0]["id"].as_str().unwrap().to_string();
                ids.lock().unwrap().push(id);
                let (status, body) = api.post(&format!("/api/tasks/{task}/complete"), json!({ "data": {} }));
                assert_eq!(status, 200, "{body}");
                let _ = started_tx.send(());
            }
        })
    };
    for _ in 0..20 {
        started_rx.recv().unwrap();
    }
    let before: Vec<String> = ids.lock().unwrap().clone();
    let target = dir.join("copia.db");
    let backup = || {
        std::process::Command::new(common::BIN).arg("backup").arg(&target).args(["--database", &db]).output().unwrap()
    };
    let out = backup();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Writing went on through the backup and after it.
    for _ in 0..10 {
        started_rx.recv().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let all: Vec<String> = ids.lock().unwrap().clone();

    let again = backup();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"), "{}", String::from_utf8_lossy(&again.stderr));

    let url = format!("sqlite://{}", target.display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = Store::open(&url).await.unwrap();
        let mut found = 0;
        for id in &all {
            let Some(stored) = store.instance(id).await.unwrap() else {
                assert!(!before.contains(id), "{id} was started before the backup and is not in it");
                continue;
            };
            let history = store.history(id).await.unwrap();
            assert!(!history.is_empty());
            let replayed = tramite_engine::machine::Instance::replay(id, &history);
            assert_eq!(replayed, stored.state, "{id}");
            found += 1;
        }
        assert!(found >= before.len(), "{found} of {} instances", before.len());
    });
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

on_both!(metrics_follow_transitions_timers_and_slas, readiness_follows_the_store);
