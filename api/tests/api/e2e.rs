//! End-to-end: the real binary over HTTP on loopback, on SQLite and on PostgreSQL, driving
//! C.4.5 (reply to an e-mail within two business days).

use crate::common;

use std::collections::BTreeMap;

use common::*;
use serde_json::json;
use tramite_engine::machine::{Event, Instance, Record};

const C45: &str = "/api/processes/conocer.c45-correos/instances";

struct World {
    server: Server,
    ana: Api,
    rosa: Api,
    admin: Api,
}

fn world(db: &Db, name: &str, smtp: Option<&str>) -> Option<World> {
    let dir = scratch(name);
    let url = database(db, &dir)?;
    let ana = add_user(&url, "ana", &["operador"], Some("ana@example.org"), false);
    let rosa = add_user(&url, "rosa", &["responsable_canales"], Some("rosa@example.org"), false);
    let admin = add_user(&url, "admin", &[], None, true);
    let server = Server::start(&url, &dir, smtp);
    let base = server.base.clone();
    Some(World { server, ana: Api::new(&base, &ana), rosa: Api::new(&base, &rosa), admin: Api::new(&base, &admin) })
}

fn c45_flow(db: Db) {
    let Some(w) = world(&db, "c45-flow", None) else { return };
    let (status, inst) = w.ana.post(C45, correo(&recent()));
    assert_eq!(status, 201, "{inst}");
    assert_eq!(inst["active_steps"], json!(["determinar_tipo"]));
    // The first e-mail of the year gets the first folio of the year.
    let folio = format!("COR-{}-00001", jiff::Zoned::now().year());
    assert_eq!(inst["folio"], folio.as_str(), "{inst}");
    let task = task_at(&inst, "determinar_tipo").to_string();

    // The operator's inbox has it; the channel manager's does not, and may not touch it.
    let (_, inbox) = w.ana.get("/api/inbox");
    assert!(
        inbox["tasks"].as_array().unwrap().iter().any(|t| t["id"] == task.as_str() && t["folio"] == folio.as_str()),
        "{inbox}"
    );
    let (_, other) = w.rosa.get("/api/inbox");
    assert!(other["tasks"].as_array().unwrap().iter().all(|t| t["id"] != task.as_str()));
    let (status, body) = w.rosa.post(&format!("/api/tasks/{task}/complete"), json!({ "data": {} }));
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");

    let (status, _) = w.ana.post(&format!("/api/tasks/{task}/claim"), json!({}));
    assert_eq!(status, 200);

    // A form error: 422 naming each field, nothing changes.
    let (status, body) =
        w.ana.post(&format!("/api/tasks/{task}/complete"), json!({ "data": { "tipo": "chisme", "tema": "x" } }));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_data");
    assert_eq!(body["error"]["details"]["fields"]["tipo"]["code"], "choice");
    assert_eq!(body["error"]["details"]["fields"]["atencion_inmediata"]["code"], "required");

    let (status, inst) = w.ana.post(
        &format!("/api/tasks/{task}/complete"),
        json!({ "data": { "tipo": "informacion", "tema": "Certificación", "atencion_inmediata": true } }),
    );
    assert_eq!(status, 200, "{inst}");
    assert_eq!(inst["active_steps"], json!(["responder"]));
    let reply = task_at(&inst, "responder").to_string();
    let (status, inst) =
        w.ana.post(&format!("/api/tasks/{reply}/complete"), json!({ "data": { "respuesta": "Consulte el RENEC." } }));
    assert_eq!(status, 200, "{inst}");
    assert_eq!(inst["status"], "ended");
    assert_eq!(inst["outcome"], "respondido");
    assert_eq!(inst["slas"][0]["id"], "respuesta");
    assert_eq!(inst["slas"][0]["state"], "met");

    // Completing it again: the task is done.
    let (status, _) = w.ana.post(&format!("/api/tasks/{reply}/complete"), json!({ "data": { "respuesta": "otra" } }));
    assert_eq!(status, 409);

    let id = inst["id"].as_str().unwrap();
    // A completion answers with the state it committed, as the instance's page shows it.
    let (status, shown) = w.ana.get(&format!("/api/instances/{id}"));
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown, inst);
    let (status, hist) = w.ana.get(&format!("/api/instances/{id}/history"));
    assert_eq!(status, 200);
    let kinds: Vec<&str> = hist["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"started"));
    assert_eq!(kinds.iter().filter(|k| **k == "completed").count(), 2, "{kinds:?}");
    assert!(kinds.contains(&"sla_stopped") && kinds.last() == Some(&"ended"), "{kinds:?}");
    assert!(hist["events"].as_array().unwrap().iter().any(|e| e["type"] == "claimed" && e["by"] == "ana"));

    let (status, _) = w.rosa.get("/api/sla?state=breached");
    assert_eq!(status, 403, "the SLA report is for admins");
    let (status, spec) = w.admin.get("/api/openapi.json");
    assert_eq!(status, 200);
    for (path, method) in [
        ("/api/tasks/{id}/complete", "post"),
        ("/api/instances", "get"),
        ("/api/files", "post"),
        ("/api/instances/{id}/files/{sha256}", "get"),
    ] {
        assert!(spec["paths"][path][method].is_object(), "{method} {path} is described");
    }
}

fn breach_mail(db: Db) {
    let dir = scratch("smtp");
    let sink = SmtpSink::start(&dir);
    let Some(w) = world(&db, "c45-breach", Some(&sink.url())) else { return };
    let (status, inst) = w.ana.post(C45, correo(&five_business_days_ago()));
    assert_eq!(status, 201, "{inst}");
    let id = inst["id"].as_str().unwrap().to_string();
    let folio = inst["folio"].as_str().unwrap().to_string();
    let mail = eventually(20, || {
        sink.messages().into_iter().find(|m| m.contains("rosa@example.org") && m.contains("Incumplimiento"))
    });
    assert!(mail.contains(&folio), "{mail}");
    let (_, inst) = w.admin.get(&format!("/api/instances/{id}"));
    assert_eq!(inst["slas"][0]["state"], "breached");
    let (_, report) = w.admin.get("/api/sla?state=breached");
    assert!(
        report["slas"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["instance_id"] == id.as_str() && s["folio"] == folio.as_str()),
        "{report}"
    );
    let (_, inbox) = w.ana.get("/api/inbox?sla=breached");
    assert!(inbox["tasks"].as_array().unwrap().iter().any(|t| t["folio"] == folio.as_str()), "{inbox}");
    let (_, inbox) = w.ana.get("/api/inbox?sla=ok");
    assert!(inbox["tasks"].as_array().unwrap().iter().all(|t| t["folio"] != folio.as_str()), "{inbox}");
}

fn concurrent_completions(db: Db) {
    let Some(w) = world(&db, "race", None) else { return };
    let (_, inst) = w.ana.post(C45, correo(&recent()));
    let task = task_at(&inst, "determinar_tipo").to_string();
    let body = json!({ "data": { "tipo": "queja", "tema": "Trato", "atencion_inmediata": false } });
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    Api::new(&w.ana.base, &w.ana.token).post(&format!("/api/tasks/{task}/complete"), body.clone()).0
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, vec![200, 409], "{statuses:?}");
    let id = inst["id"].as_str().unwrap();
    let (_, hist) = w.ana.get(&format!("/api/instances/{id}/history"));
    assert_eq!(hist["events"].as_array().unwrap().iter().filter(|e| e["type"] == "completed").count(), 1);
}

fn idempotent_start(db: Db) {
    let Some(w) = world(&db, "idem", None) else { return };
    let body = correo(&recent());
    let (s1, a) = w.ana.post_with(C45, body.clone(), Some("correo-COR-3"));
    let (s2, b) = w.ana.post_with(C45, body.clone(), Some("correo-COR-3"));
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(a["id"], b["id"]);
    assert_eq!(a["folio"], b["folio"], "a repeated start takes no second folio");
    let (_, inbox) = w.ana.get("/api/inbox");
    assert_eq!(inbox["tasks"].as_array().unwrap().iter().filter(|t| t["folio"] == a["folio"]).count(), 1);
    let (s3, c) = w.ana.post_with(C45, body, Some("correo-COR-3b"));
    assert_eq!(s3, 201);
    assert_ne!(a["id"], c["id"]);
}

/// Checks an instance's stored history: contiguous, replaying to the state the API reports.
fn check_history(api: &Api, id: &str) -> Vec<Record> {
    let (status, hist) = api.get(&format!("/api/instances/{id}/history"));
    assert_eq!(status, 200);
    let records: Vec<Record> = serde_json::from_value(hist["events"].clone()).unwrap();
    let replayed = Instance::replay(id, &records);
    let (_, view) = api.get(&format!("/api/instances/{id}"));
    assert_eq!(json!(replayed.active_steps()), view["active_steps"], "{id}");
    let mut seen = BTreeMap::new();
    for r in &records {
        if let Event::Completed { token, .. } = &r.event {
            assert!(seen.insert(*token, ()).is_none(), "token {token} completed twice in {id}");
        }
    }
    records
}

fn kill_during_load(db: Db) {
    let Some(mut w) = world(&db, "kill9", None) else { return };
    let base = w.server.base.clone();
    let token = w.ana.token.clone();
    // Load: start instances and complete their first task until the server dies.
    let acknowledged: Vec<(String, u64)> = std::thread::scope(|s| {
        let load = s.spawn(|| {
            let api = Api::new(&base, &token);
            let mut acked = Vec::new();
            for _ in 0..10_000 {
                let Some((status, inst)) = api.try_post(C45, correo(&recent())) else { break };
                if status != 201 {
                    eprintln!("start refused: {status} {inst}");
                    break;
                }
                let task = task_at(&inst, "determinar_tipo").to_string();
                let body = json!({ "data": { "tipo": "informacion", "tema": "t", "atencion_inmediata": true } });
                let Some((status, _)) = api.try_post(&format!("/api/tasks/{task}/complete"), body) else { break };
                if status == 200 {
                    let (inst, tok) = task.rsplit_once('.').unwrap();
                    acked.push((inst.to_string(), tok.parse().unwrap()));
                }
            }
            acked
        });
        std::thread::sleep(std::time::Duration::from_millis(1500));
        w.server.kill(); // SIGKILL
        load.join().unwrap()
    });
    assert!(!acknowledged.is_empty(), "the load made no progress before the kill");
    let server = Server::start(&w.server.db, &w.server.dir, None);
    let admin = Api::new(&server.base, &w.admin.token);
    for (id, token) in &acknowledged {
        let records = check_history(&admin, id);
        assert!(
            records.iter().any(|r| matches!(r.event, Event::Completed { token: t, .. } if t == *token)),
            "acknowledged completion lost in {id}"
        );
    }
}

/// Two servers on one PostgreSQL database race for the same due timers: each fires once.
#[test]
fn two_postgres_nodes_fire_each_timer_once() {
    let dir = scratch("two-nodes");
    let Some(url) = database(&Db::Postgres, &dir) else { return };
    let ana = add_user(&url, "ana", &["operador"], Some("ana@example.org"), false);
    add_user(&url, "rosa", &["responsable_canales"], Some("rosa@example.org"), false);
    let a = Server::start(&url, &dir, None);
    let b = Server::start(&url, &dir.join("b"), None);
    let (api_a, api_b) = (Api::new(&a.base, &ana), Api::new(&b.base, &ana));
    // Already breached at start: both schedulers see the warning and breach timers at once.
    let old = five_business_days_ago();
    let mut folios = std::collections::BTreeSet::new();
    let ids: Vec<String> = (0..20)
        .map(|i| {
            let api = if i % 2 == 0 { &api_a } else { &api_b };
            let (status, inst) = api.post(C45, correo(&old));
            assert_eq!(status, 201, "{inst}");
            folios.insert(inst["folio"].as_str().unwrap().to_string());
            inst["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(folios.len(), 20, "each node gives the next folio of the one sequence: {folios:?}");
    for id in &ids {
        let records = eventually(20, || {
            let (_, hist) = api_a.get(&format!("/api/instances/{id}/history"));
            let records: Vec<Record> = serde_json::from_value(hist["events"].clone()).ok()?;
            records.iter().any(|r| matches!(r.event, Event::SlaBreached { .. })).then_some(records)
        });
        let count = |f: fn(&Event) -> bool| records.iter().filter(|r| f(&r.event)).count();
        assert_eq!(count(|e| matches!(e, Event::SlaBreached { .. })), 1, "{id}");
        assert_eq!(count(|e| matches!(e, Event::SlaWarned { .. })), 1, "{id}");
        assert_eq!(
            count(|e| matches!(e, Event::Alerted { kind: tramite_engine::machine::AlertKind::SlaBreach, .. })),
            1,
            "{id}"
        );
    }
    // And one breach e-mail per instance in the outbox, whichever node sent it.
    let out = std::process::Command::new("psql")
        .args([&url, "-tAc", "SELECT count(*) FROM outbox WHERE kind = 'sla-breach'"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), ids.len().to_string());
}

/// Deploying through the API: an invalid file is refused with file:line:column, a valid one
/// becomes a new version while running instances stay on theirs.
fn deploy_versions(db: Db) {
    let Some(w) = world(&db, "deploy", None) else { return };
    let (_, before) = w.ana.post(C45, correo(&recent()));
    let source = std::fs::read_to_string(repo().join("processes/conocer/c45-correos.yaml")).unwrap();
    let broken = source.replace("goto: solicitar_apoyo", "goto: solicitar_apoy");
    assert_ne!(broken, source);
    let (status, body) = w.admin.post_text("/api/processes", &broken);
    assert_eq!(status, 422, "{body}");
    let d = &body["error"]["details"]["diagnostics"][0];
    assert!(d["message"].as_str().unwrap().contains("unknown step `solicitar_apoy`"), "{body}");
    assert!(d["line"].as_u64().unwrap() > 1 && d["column"].as_u64().unwrap() > 1, "{body}");
    let (status, _) = w.ana.post_text("/api/processes", &source);
    assert_eq!(status, 403, "only admins deploy");
    let (status, body) = w.admin.post_text("/api/processes", &source);
    assert_eq!((status, &body["deployed"]), (200, &json!([])), "the same text is the same version");
    let changed =
        source.replace("title: Atender correos electrónicos de usuarios (C.4.5)", "title: Atender correos (C.4.5, v2)");
    let (status, body) = w.admin.post_text("/api/processes", &changed);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["deployed"][0]["version"], 2);
    let (_, after) = w.ana.post(C45, correo(&recent()));
    assert_eq!((before["version"].as_i64(), after["version"].as_i64()), (Some(1), Some(2)));
    let (_, p) = w.ana.get("/api/processes/conocer.c45-correos");
    assert_eq!(p["versions"], json!([1, 2]));
    // The first instance carries on under version 1.
    let task = task_at(&before, "determinar_tipo");
    let (status, inst) = w.ana.post(
        &format!("/api/tasks/{task}/complete"),
        json!({ "data": { "tipo": "otro", "tema": "t", "atencion_inmediata": true } }),
    );
    assert_eq!((status, inst["version"].as_i64()), (200, Some(1)), "{inst}");
}

/// An approval's result reaches whoever started the instance, with the reviewer's comment.
#[test]
fn approval_result_is_mailed_to_the_requester() {
    let dir = scratch("approval");
    let url = database(&Db::Sqlite, &dir).unwrap();
    let rosa = add_user(&url, "rosa", &["responsable_canales"], Some("rosa@example.org"), false);
    let dir_token = add_user(&url, "dir", &["direccion"], Some("dir@example.org"), false);
    let server = Server::start(&url, &dir, None);
    let (rosa, direccion) = (Api::new(&server.base, &rosa), Api::new(&server.base, &dir_token));
    let (status, inst) = rosa.post(
        "/api/processes/conocer.c42-campanas/instances",
        json!({ "data": { "area_solicitante": "Certificación", "necesidad": "Convocatoria" } }),
    );
    assert_eq!(status, 201, "{inst}");
    let t = task_at(&inst, "elaborar_plan").to_string();
    let (_, inst) = rosa.post(
        &format!("/api/tasks/{t}/complete"),
        json!({ "data": { "objetivos": "O", "estrategia": "E", "plan_accion": "P" } }),
    );
    let t = task_at(&inst, "preparar_presentacion").to_string();
    let (_, inst) = rosa.post(&format!("/api/tasks/{t}/complete"), json!({}));
    let t = task_at(&inst, "autorizar_plan").to_string();
    let (status, body) = direccion.post(&format!("/api/tasks/{t}/complete"), json!({ "decision": "reject" }));
    assert_eq!(status, 422, "a rejection needs a comment: {body}");
    let (status, inst) = direccion
        .post(&format!("/api/tasks/{t}/complete"), json!({ "decision": "reject", "comment": "Precisar metas" }));
    assert_eq!(status, 200, "{inst}");
    assert_eq!(inst["active_steps"], json!(["elaborar_plan"]));
    assert_eq!(inst["last_rejection"]["comment"], "Precisar metas");
    let mail = eventually(10, || {
        let files = std::fs::read_dir(dir.join("outbox")).ok()?;
        files.flatten().map(|f| std::fs::read_to_string(f.path()).unwrap_or_default()).find(|m| m.contains("Rechazado"))
    });
    assert!(mail.contains("rosa@example.org") && mail.contains("Precisar metas"), "{mail}");
}

/// The shipped monthly report of C.4.5 through the real server: its first task opens with the
/// report computed from C.4.5's cases (the month before), attached by the server as a workbook
/// the operator downloads, and recorded in the case's history.
fn monthly_report_is_attached(db: Db) {
    let Some(w) = world(&db, "monthly-report", None) else { return };
    let (status, inst) = w.admin.post("/api/processes/conocer.c45-reporte-mensual/instances", json!({ "data": {} }));
    assert_eq!(status, 201, "{inst}");
    let id = inst["id"].as_str().unwrap().to_string();
    let file = eventually(20, || {
        let (_, inst) = w.ana.get(&format!("/api/instances/{id}"));
        let file = inst["tasks"][0]["report"].clone();
        file.is_object().then_some(file)
    });
    // The month before, on the process's calendar (Mexico City).
    let here = jiff::Zoned::now().in_tz("America/Mexico_City").unwrap();
    let month = here.checked_sub(jiff::Span::new().months(1)).unwrap().strftime("%Y-%m").to_string();
    assert_eq!(file["name"], format!("informe-conocer.c45-correos-{month}.xlsx"), "{file}");
    let (_, history) = w.ana.get(&format!("/api/instances/{id}/history"));
    let attached: Vec<&serde_json::Value> =
        history["events"].as_array().unwrap().iter().filter(|e| e["type"] == "report_attached").collect();
    assert_eq!(attached.len(), 1, "{history}");
    let url = format!("{}/api/instances/{id}/files/{}", w.server.base, file["sha256"].as_str().unwrap());
    let bytes = reqwest::blocking::Client::new().get(url).bearer_auth(&w.ana.token).send().unwrap().bytes().unwrap();
    assert_eq!(bytes.len() as u64, file["size"].as_u64().unwrap());
    use calamine::Reader;
    let book = calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(std::io::Cursor::new(bytes.to_vec())).unwrap();
    // The summary sheet and one sheet per indicator of C.4.5.
    let sheets = book.sheet_names();
    assert_eq!(sheets[0], "Indicadores");
    let declared = std::fs::read_to_string(repo().join("processes/conocer/c45-correos.indicators.yaml")).unwrap();
    assert_eq!(sheets.len() - 1, declared.lines().filter(|l| l.starts_with("    title:")).count(), "{sheets:?}");
}

macro_rules! on_both {
    ($($name:ident),*) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::Db::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(super::Db::Postgres) })*
        }
    };
}

on_both!(
    c45_flow,
    breach_mail,
    concurrent_completions,
    idempotent_start,
    kill_during_load,
    deploy_versions,
    monthly_report_is_attached
);
