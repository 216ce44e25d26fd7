//! Metrics, health, readiness and logs.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use super::common::{self, Db, Server, database, scratch};
use super::in_process::{Answer, App, addr};
use super::tree;

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

pub(crate) async fn metrics_follow_transitions_timers_and_slas(db: Db) {
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
pub(crate) async fn readiness_follows_the_store(db: Db) {
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
    let server = Server::start_with(
        &db,
        &dir,
        None,
        &tree.join("processes"),
        "info",
        &["--no-watch".into(), "--log-format".into(), "json".into()],
        &[],
    );
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
        .arg("--files")
        .arg(dir.join("files"))
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
