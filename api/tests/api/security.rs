//! What the API lets a signed-in user reach that is not theirs, and how it refuses, on SQLite
//! and PostgreSQL: idempotency keys are the caller's own, per process; a process is read by
//! those who hold one of its roles (and admins); every refusal, axum's own included, is the one
//! JSON error body; a YAML alias bomb is refused.

use crate::common;
use crate::in_process;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::Db;
use in_process::{Answer, App};
use serde_json::{Value, json};

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

fn ids(list: &Value) -> Vec<&str> {
    list["processes"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect()
}

/// A process is read by admins and by whoever holds a role it names (starting, working a task,
/// approving; in every scope or in one); others get 403, and the list leaves it out.
async fn processes_are_read_by_their_roles(db: Db) {
    let app = App::new(&db, "sec-processes", TREE).await;
    let ana = app.user("ana", &["operador"], false, None).await;
    let carla = app.user("carla", &["archivista"], false, None).await;
    let diego = app.user("diego", &["revisor@Norte"], false, Some("clave-de-diego")).await;
    let admin = app.user("root", &[], true, None).await;

    let list = app.get("/api/processes", &ana).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(ids(&list.json()), ["prueba.dos", "prueba.uno"], "{}", list.body);
    let list = app.get("/api/processes", &diego).await;
    assert_eq!(ids(&list.json()), ["prueba.archivo"], "an approver's scoped role counts: {}", list.body);
    let list = app.get("/api/processes", &admin).await;
    assert_eq!(ids(&list.json()), ["prueba.archivo", "prueba.dos", "prueba.uno"]);

    let denied = app.get("/api/processes/prueba.uno", &carla).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    assert_eq!(denied.json()["error"]["code"], "forbidden");
    assert!(!denied.body.contains("hacer"), "no step leaks: {}", denied.body);
    assert_eq!(app.get("/api/processes/prueba.archivo", &carla).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/processes/prueba.archivo", &diego).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/processes/prueba.uno", &admin).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/processes/prueba.nada", &carla).await.status, StatusCode::NOT_FOUND);

    // The inbox's process filter offers the processes the user reads, scoped roles included.
    let cookie = app.session("diego", "clave-de-diego").await;
    let inbox = app.page("/inbox", &cookie, in_process::addr("192.0.2.1")).await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.body.contains("value=\"prueba.archivo\""), "{}", inbox.body);
    assert!(!inbox.body.contains("value=\"prueba.uno\""), "{}", inbox.body);
}

/// The one error body: `{"error": {"code", "message", "details"}}` as JSON.
fn json_error(a: &Answer, status: StatusCode, code: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert!(a.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{:?}: {}", a.headers, a.body);
    let body = a.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["error"].get("details").is_some(), "{body}");
}

fn raw(method: Method, path: &str, token: &str, content_type: Option<&str>, body: &str) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(c) = content_type {
        req = req.header(header::CONTENT_TYPE, c);
    }
    req.body(Body::from(body.to_string())).unwrap()
}

/// Query, path and body mistakes, and routes or methods that do not exist, answer with the
/// API's JSON error, never axum's plain text; an empty `due_before` is a mistake too.
async fn refusals_are_json(db: Db) {
    let app = App::new(&db, "sec-json", TREE).await;
    let ana = app.user("ana", &["operador"], false, None).await;
    let start = "/api/processes/prueba.uno/instances";

    json_error(&app.get("/api/inbox?due_before=", &ana).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query");
    json_error(&app.get("/api/inbox?due_before=ayer", &ana).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query");
    json_error(&app.get("/api/inbox?limit=muchos", &ana).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query");
    // Closed-set values are taken as written: a blank around one (here a no-break space) is
    // not the value, as the API document's enums and patterns say.
    for q in [
        "/api/inbox?sla=%C2%A0",
        "/api/inbox?sla=%20ok",
        "/api/inbox?due_before=%202026-01-01T00:00:00Z",
        "/api/inbox?cursor=%20",
        "/api/instances?status=running%20",
        "/api/instances?sla=%C2%A0",
        "/api/instances?from=%202026-01-01",
        "/api/instances?mine=%20",
        "/api/instances?limit=3934&format=csv",
    ] {
        json_error(&app.get(q, &ana).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query");
    }
    assert_eq!(app.get("/api/inbox?sla=ok", &ana).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/instances?sla=&status=&mine=", &ana).await.status, StatusCode::OK);
    let a = app.send(raw(Method::POST, start, &ana, Some("application/json"), "{\"data\": ")).await;
    json_error(&a, StatusCode::BAD_REQUEST, "malformed_json");
    let a = app.send(raw(Method::POST, start, &ana, Some("application/json"), "{\"data\": 5}")).await;
    json_error(&a, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    // The message says where the body went wrong.
    let message = a.json()["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("at `data`") && message.contains("expected a map"), "{message}");
    // An array is no body the API reads, though serde would make a struct of its fields.
    let a = app.send(raw(Method::POST, start, &ana, Some("application/json"), "[]")).await;
    json_error(&a, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let a = app.send(raw(Method::POST, start, &ana, None, "{}")).await;
    json_error(&a, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let a = app.send(raw(Method::GET, "/api/instances/%FF%FE", &ana, None, "")).await;
    json_error(&a, StatusCode::BAD_REQUEST, "invalid_path");
    json_error(&app.get("/api/no-such-thing", &ana).await, StatusCode::NOT_FOUND, "not_found");
    let a = app.send(raw(Method::DELETE, "/api/inbox", &ana, None, "")).await;
    json_error(&a, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let big = format!("{{\"data\": {{\"x\": \"{}\"}}}}", "a".repeat(2 * 1024 * 1024));
    let a = app.send(raw(Method::POST, start, &ana, Some("application/json"), &big)).await;
    json_error(&a, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    json_error(&app.get("/api/inbox", "not-a-token").await, StatusCode::UNAUTHORIZED, "unauthorized");
    // Well-formed requests still work.
    assert_eq!(app.post(start, &ana, json!({ "data": {} })).await.status, StatusCode::CREATED);
}

/// A "billion laughs" file (each level ten aliases of the one before) posted as a process is
/// refused as an invalid definition at once (the typed loader stops at the first alias of a
/// list where text belongs), and so is a file of 60,000 aliases where the shape allows them
/// (the YAML parser's budget); the server keeps serving.
async fn alias_bombs_are_refused(db: Db) {
    let app = App::new(&db, "sec-bomb", TREE).await;
    let admin = app.user("root", &[], true, None).await;
    let mut bomb = String::from(
        "process: prueba.bomba\ntitle: Bomba\ncalendar: mx\nroles:\n  l0: &l0 [ja, ja, ja, ja, ja, ja, ja, ja, ja, ja]\n",
    );
    for i in 1..10 {
        let prev = format!("*l{}", i - 1);
        bomb.push_str(&format!("  l{i}: &l{i} [{}]\n", [prev.as_str(); 10].join(", ")));
    }
    bomb.push_str("steps:\n  hacer:\n    task: *l9\n    role: l0\n    next: end\n");
    let req = raw(Method::POST, "/api/processes", &admin, Some("application/yaml"), &bomb);
    let a = app.send(req).await;
    json_error(&a, StatusCode::UNPROCESSABLE_ENTITY, "invalid_definition");
    // Where the shape allows aliases, the YAML parser's budget counts them (50,000 at most).
    let roles = vec!["*r"; 60_000].join(", ");
    let many = format!(
        "process: prueba.alias\ntitle: Alias\ncalendar: mx\nroles:\n  operador: &r operador\nstart:\n  roles: [{roles}]\nsteps:\n  hacer:\n    task: Hacer\n    role: operador\n    next: end\n"
    );
    let a = app.send(raw(Method::POST, "/api/processes", &admin, Some("application/yaml"), &many)).await;
    json_error(&a, StatusCode::UNPROCESSABLE_ENTITY, "invalid_definition");
    assert!(a.json()["error"]["message"].as_str().unwrap().contains("budget breached"), "{}", &a.body[..300]);
    assert_eq!(app.get("/api/processes", &admin).await.status, StatusCode::OK);
}

/// A process of 8,000 tasks (about 1.3 MB of YAML) is posted and served; a definition over
/// 8 MiB is refused with 413 before it is read, and so is any other body over 1 MiB. A caller
/// who may not deploy is refused 403 without the server reading the body.
async fn large_definitions_deploy_within_their_own_limit(db: Db) {
    let app = App::new(&db, "sec-large", TREE).await;
    let admin = app.user("root", &[], true, None).await;
    let ana = app.user("ana", &["operador"], false, None).await;
    let steps = 8_000;
    let mut yaml = String::from(
        "process: prueba.enorme\ntitle: Enorme\ncalendar: mx\nroles:\n  operador: Operador\nstart:\n  roles: [operador]\nsteps:\n",
    );
    for i in 0..steps {
        let next = if i + 1 == steps { "end".to_string() } else { format!("paso_{:05}", i + 1) };
        yaml.push_str(&format!(
            "  paso_{i:05}:\n    task: Paso número {i} del trámite enorme\n    role: operador\n    description: Revisar y anotar lo que corresponda en este paso.\n    next: {next}\n"
        ));
    }
    assert!(yaml.len() > 1024 * 1024, "{} bytes", yaml.len());
    let a = app.send(raw(Method::POST, "/api/processes", &ana, Some("application/yaml"), &yaml)).await;
    json_error(&a, StatusCode::FORBIDDEN, "admin_only");
    let a = app.send(raw(Method::POST, "/api/processes", &admin, Some("application/yaml"), &yaml)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", &a.body[..a.body.len().min(500)]);
    let detail = app.get("/api/processes/prueba.enorme", &admin).await;
    assert_eq!(detail.json()["steps"].as_array().map(Vec::len), Some(steps), "served with every step");
    let started = app.post("/api/processes/prueba.enorme/instances", &ana, json!({ "data": {} })).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);

    let huge = format!("{yaml}# {}\n", "x".repeat(8 * 1024 * 1024));
    let a = app.send(raw(Method::POST, "/api/processes", &admin, Some("application/yaml"), &huge)).await;
    json_error(&a, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
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

on_both!(
    idempotency_keys_are_per_user_and_process,
    processes_are_read_by_their_roles,
    refusals_are_json,
    alias_bombs_are_refused,
    large_definitions_deploy_within_their_own_limit
);
