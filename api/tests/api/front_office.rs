//! The front office through the real server, on SQLite and on PostgreSQL: folios given by the
//! server (unique under concurrent starts, none taken by a refused start), the case list (search
//! by folio and by words, every filter, pages without a cap, who sees what, CSV), the inbox in
//! pages, and registering a case from the browser's start form without JavaScript.

use crate::common;
use crate::web;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};
use web::{PASSWORD, WebClient, add_user_with_password, csrf_of};

const C45: &str = "/api/processes/conocer.c45-correos/instances";

struct World {
    _server: Server,
    base: String,
    ana: Api,
    rosa: Api,
    /// A user with a role in another process only.
    outsider: Api,
    admin: Api,
}

fn world(db: &Db, name: &str) -> World {
    let dir = scratch(name);
    let url = database(db, &dir).unwrap();
    let ana = add_user_with_password(&url, "ana", &["operador"], false);
    let rosa = add_user(&url, "rosa", &["responsable_canales"], None, false);
    let outsider = add_user(&url, "olga", &["jefe_mercadeo"], None, false);
    let admin = add_user(&url, "admin", &[], None, true);
    let server = Server::start(&url, &dir, None);
    let base = server.base.clone();
    World {
        ana: Api::new(&base, &ana),
        rosa: Api::new(&base, &rosa),
        outsider: Api::new(&base, &outsider),
        admin: Api::new(&base, &admin),
        base,
        _server: server,
    }
}

fn year() -> i16 {
    jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::get("America/Mexico_City").unwrap()).year()
}

fn correo_de(name: &str, question: &str) -> Value {
    let mut body = correo(&recent());
    body["data"]["nombre_contacto"] = json!(name);
    body["data"]["pregunta"] = json!(question);
    body
}

fn ids(list: &Value) -> Vec<String> {
    list["instances"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

mod sqlite {
    use super::*;

    #[test]
    fn folios() {
        super::folios(Db::Sqlite)
    }
    #[test]
    fn case_list() {
        super::case_list(Db::Sqlite)
    }
    #[test]
    fn inbox_pages() {
        super::inbox_pages(Db::Sqlite)
    }
    #[test]
    fn start_form() {
        super::start_form(Db::Sqlite)
    }
}

mod postgres {
    use super::*;

    #[test]
    fn folios() {
        super::folios(Db::Postgres)
    }
    #[test]
    fn case_list() {
        super::case_list(Db::Postgres)
    }
    #[test]
    fn inbox_pages() {
        super::inbox_pages(Db::Postgres)
    }
    #[test]
    fn start_form() {
        super::start_form(Db::Postgres)
    }
}

/// 30 e-mails registered at once by 6 clients get 30 distinct folios, numbered 1 to 30 of the
/// year; a refused start takes no number.
fn folios(db: Db) {
    let w = world(&db, "folios");
    let refused = w.ana.post(C45, json!({ "data": { "nombre_contacto": "Sin correo" } }));
    assert_eq!(refused.0, 422, "{}", refused.1);
    let folios: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    let api = Api::new(&w.base, &w.ana.token);
                    (0..5)
                        .map(|_| {
                            let (status, inst) = api.post(C45, correo(&recent()));
                            assert_eq!(status, 201, "{inst}");
                            inst["folio"].as_str().unwrap().to_string()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let got: BTreeSet<String> = folios.iter().cloned().collect();
    let want: BTreeSet<String> = (1..=30).map(|n| format!("COR-{}-{n:05}", year())).collect();
    assert_eq!(got, want, "{folios:?}");
}

fn case_list(db: Db) {
    let w = world(&db, "cases");
    let (_, juana) = w.ana.post(C45, correo_de("Juana Pérez", "¿Cómo me certifico en un estándar?"));
    let (_, pedro) = w.ana.post(C45, correo_de("Pedro Gómez", "Tengo un problema con mi certificado"));
    let mut late = correo_de("Luisa Martínez", "Solicito una constancia");
    late["data"]["fecha_recepcion"] = json!(five_business_days_ago());
    let (_, luisa) = w.ana.post(C45, late);
    for extra in 0..4 {
        let (status, _) = w.ana.post(C45, correo_de(&format!("Persona {extra}"), "Otra pregunta"));
        assert_eq!(status, 201);
    }
    let id = |v: &Value| v["id"].as_str().unwrap().to_string();

    // By folio: that case alone.
    let folio = pedro["folio"].as_str().unwrap();
    let (status, found) = w.ana.get(&format!("/api/instances?q={folio}"));
    assert_eq!(status, 200, "{found}");
    assert_eq!(ids(&found), vec![id(&pedro)]);
    assert_eq!(found["instances"][0]["process_title"], "Atender correos electrónicos de usuarios (C.4.5)");

    // By words of the case's text, without accents or case; a final `*` makes the last word
    // a prefix.
    let (_, found) = w.ana.get("/api/instances?q=PEREZ%20certif*");
    assert_eq!(ids(&found), vec![id(&juana)], "{found}");
    let (_, found) = w.ana.get("/api/instances?q=perez%20certif");
    assert!(ids(&found).is_empty(), "whole words without `*`: {found}");
    let (_, found) = w.ana.get("/api/instances?q=GÓMEZ%20certificado");
    assert_eq!(ids(&found), vec![id(&pedro)], "{found}");
    let (_, found) = w.ana.get("/api/instances?q=certif*");
    assert_eq!(ids(&found).into_iter().collect::<BTreeSet<_>>(), [id(&juana), id(&pedro)].into(), "{found}");
    let (_, found) = w.ana.get("/api/instances?q=nadie%20zzz");
    assert!(ids(&found).is_empty(), "{found}");
    let (_, found) = w.ana.get("/api/instances?q=%22%27%3B--");
    assert!(ids(&found).is_empty(), "punctuation only: {found}");

    // Pages of 2, newest first, with no case twice and none left out.
    let mut seen = Vec::new();
    let mut path = "/api/instances?limit=2".to_string();
    loop {
        let (status, page) = w.ana.get(&path);
        assert_eq!(status, 200, "{page}");
        assert!(ids(&page).len() <= 2);
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(c) => path = format!("/api/instances?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 7);
    assert_eq!(seen.last().unwrap(), &id(&juana), "the oldest last");
    let (status, body) = w.ana.get("/api/instances?cursor=garbage");
    assert_eq!(status, 422, "{body}");
    let (status, body) = w.ana.get("/api/instances?status=sleeping");
    assert_eq!(status, 422, "{body}");
    let (status, body) = w.ana.get("/api/instances?from=2026-13-01");
    assert_eq!(status, 422, "{body}");

    // SLA standing, status, the role holding the case, start dates, "my requests".
    let (_, breached) = w.ana.get("/api/instances?sla=breached");
    assert_eq!(ids(&breached), vec![id(&luisa)], "{breached}");
    let (_, ok) = w.ana.get("/api/instances?sla=ok&limit=100");
    assert_eq!(ids(&ok).len(), 6, "{ok}");
    let (_, running) = w.ana.get("/api/instances?status=running&process=conocer.c45-correos&limit=100");
    assert_eq!(ids(&running).len(), 7);
    let (_, ended) = w.ana.get("/api/instances?status=ended");
    assert!(ids(&ended).is_empty());
    let (_, held) = w.ana.get("/api/instances?role=operador&limit=100");
    assert_eq!(ids(&held).len(), 7);
    let (_, held) = w.ana.get("/api/instances?role=responsable_canales");
    assert!(ids(&held).is_empty());
    let (_, future) = w.ana.get(&format!("/api/instances?from={}-12-31", year() + 1));
    assert!(ids(&future).is_empty());
    let (_, mine) = w.ana.get("/api/instances?mine=true&limit=100");
    assert_eq!(ids(&mine).len(), 7);
    let (_, mine) = w.rosa.get("/api/instances?mine=true");
    assert!(ids(&mine).is_empty());

    // Who sees what: a role in the process, or admin; a role elsewhere sees none.
    let (_, theirs) = w.rosa.get("/api/instances?limit=100");
    assert_eq!(ids(&theirs).len(), 7);
    let (_, all) = w.admin.get("/api/instances?limit=100");
    assert_eq!(ids(&all).len(), 7);
    let (_, none) = w.outsider.get("/api/instances?limit=100");
    assert!(ids(&none).is_empty(), "{none}");
    let (_, none) = w.outsider.get(&format!("/api/instances?q={folio}"));
    assert!(ids(&none).is_empty(), "a folio does not open another process's case: {none}");

    // The whole result as CSV, folio first.
    let csv = reqwest::blocking::Client::new()
        .get(format!("{}/api/instances?format=csv&q=certif*", w.base))
        .bearer_auth(&w.ana.token)
        .send()
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "folio,process,status,outcome,started_at,ended_at,started_by,id");
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines.iter().any(|l| l.starts_with(folio)), "{text}");

    // Words as each reader may see them: through a role in the process, their own cases, one
    // process; a role elsewhere finds nothing.
    let set = |v: &Value| ids(v).into_iter().collect::<BTreeSet<_>>();
    let both: BTreeSet<String> = [id(&juana), id(&pedro)].into();
    let (_, found) = w.rosa.get("/api/instances?q=certif*");
    assert_eq!(set(&found), both, "a role in the process: {found}");
    let (_, found) = w.rosa.get("/api/instances?q=certificado");
    assert_eq!(ids(&found), vec![id(&pedro)], "{found}");
    let (_, found) = w.outsider.get("/api/instances?q=certif*");
    assert!(ids(&found).is_empty(), "a role elsewhere: {found}");
    let (_, found) = w.ana.get("/api/instances?q=certif*&mine=true");
    assert_eq!(set(&found), both, "{found}");
    let (_, found) = w.rosa.get("/api/instances?q=certif*&mine=true");
    assert!(ids(&found).is_empty(), "{found}");
    let (_, found) = w.ana.get("/api/instances?q=certif*&process=conocer.c45-correos");
    assert_eq!(set(&found), both, "{found}");
    let (_, found) = w.ana.get("/api/instances?q=certif*&process=conocer.c41-reportes");
    assert!(ids(&found).is_empty(), "{found}");

    // Clocks stopped in time and late, and words a case gets after its start.
    let complete = |inst: &Value, step: &str, data: Value| {
        let task = task_at(inst, step);
        let (status, body) = w.ana.post(&format!("/api/tasks/{task}/claim"), json!({}));
        assert_eq!(status, 200, "{body}");
        let (status, inst) = w.ana.post(&format!("/api/tasks/{task}/complete"), json!({ "data": data }));
        assert_eq!(status, 200, "{inst}");
        inst
    };
    let at_once = json!({ "tipo": "informacion", "tema": "Homologación extranjera", "atencion_inmediata": true });
    let reply = json!({ "respuesta": "Consulte el RENEC." });
    let (_, found) = w.ana.get("/api/instances?q=homologacion");
    assert!(ids(&found).is_empty(), "{found}");
    let juana = complete(&juana, "determinar_tipo", at_once.clone());
    let (_, found) = w.rosa.get("/api/instances?q=HOMOLOGACI%C3%93N%20extranj*");
    assert_eq!(ids(&found), vec![id(&juana)], "words written by a later step: {found}");
    let juana = complete(&juana, "responder", reply.clone());
    assert_eq!(juana["slas"][0]["state"], "met", "{juana}");
    let luisa = complete(&luisa, "determinar_tipo", at_once);
    let (_, late) = w.ana.get("/api/instances?sla=met-late");
    assert!(ids(&late).is_empty(), "still running: {late}");
    let luisa = complete(&luisa, "responder", reply);
    assert_eq!(luisa["slas"][0]["state"], "met-late", "{luisa}");
    let (_, met) = w.ana.get("/api/instances?sla=met");
    assert_eq!(ids(&met), vec![id(&juana)], "{met}");
    let (_, late) = w.rosa.get("/api/instances?sla=met-late");
    assert_eq!(ids(&late), vec![id(&luisa)], "{late}");
    let (_, late) = w.ana.get("/api/instances?sla=met-late&mine=true&q=constancia");
    assert_eq!(ids(&late), vec![id(&luisa)], "{late}");
    let (_, late) = w.outsider.get("/api/instances?sla=met-late");
    assert!(ids(&late).is_empty(), "{late}");
    let (_, breached) = w.ana.get("/api/instances?sla=breached");
    assert!(ids(&breached).is_empty(), "a stopped clock is not breached: {breached}");
    let (_, ok) = w.ana.get("/api/instances?sla=ok&limit=100");
    assert_eq!(ids(&ok).len(), 5, "{ok}");
}

/// The inbox, a page at a time, soonest due first, every task once.
fn inbox_pages(db: Db) {
    let w = world(&db, "inbox-pages");
    for _ in 0..5 {
        let (status, _) = w.ana.post(C45, correo(&recent()));
        assert_eq!(status, 201);
    }
    let (_, late) = w.ana.post(C45, correo(&five_business_days_ago()));
    let mut seen: Vec<Value> = Vec::new();
    let mut path = "/api/inbox?limit=2".to_string();
    loop {
        let (status, page) = w.ana.get(&path);
        assert_eq!(status, 200, "{page}");
        seen.extend(page["tasks"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(c) => path = format!("/api/inbox?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.iter().map(|t| t["id"].as_str().unwrap()).collect::<BTreeSet<_>>().len(), 6);
    assert_eq!(seen[0]["instance_id"], late["id"], "the most urgent first");
    let due: Vec<&str> = seen.iter().map(|t| t["sla_due_at"].as_str().unwrap()).collect();
    let mut sorted = due.clone();
    sorted.sort_by_key(|d| d.parse::<jiff::Timestamp>().unwrap());
    assert_eq!(due, sorted);
}

/// An operator registers an e-mail from the start form: errors in place with the values kept,
/// one case however often the form is sent, then the case's page; it is found by folio.
fn start_form(db: Db) {
    let w = world(&db, "start-form");
    let mut web = WebClient::new(&w.base);
    assert_eq!(web.sign_in("ana", PASSWORD).status, 303);
    let list = web.get("/new");
    assert_eq!(list.status, 200);
    assert!(list.body.contains("href=\"/new/conocer.c45-correos\""), "{}", list.body);
    assert!(!list.body.contains("/new/conocer.c42-campanas"), "only what her roles may start");
    let inbox = web.get("/inbox");
    assert!(inbox.body.contains("href=\"/new\""), "the inbox's entry point");

    let form = web.get("/new/conocer.c45-correos");
    assert_eq!(form.status, 200);
    let csrf = csrf_of(&form.body);
    let key = {
        let at = form.body.find("name=\"_key\" value=\"").unwrap() + 19;
        form.body[at..at + 64].to_string()
    };
    for name in ["fecha_recepcion", "nombre_contacto", "correo", "pregunta"] {
        assert!(form.body.contains(&format!("name=\"{name}\"")), "{name}");
    }
    let received = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("America/Mexico_City").unwrap())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    let mut fields = vec![
        ("_csrf", csrf.as_str()),
        ("_key", key.as_str()),
        ("fecha_recepcion", received.as_str()),
        ("nombre_contacto", "Marta Ruiz"),
        ("correo", "no-es-correo"),
        ("pregunta", "¿Dónde consulto los estándares?"),
    ];
    let refused = web.post("/new/conocer.c45-correos", &fields);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("id=\"f-correo-error\""), "the error beside its field");
    assert!(refused.body.contains("value=\"Marta Ruiz\""), "values kept");
    fields[4] = ("correo", "marta@example.org");
    let first = web.post("/new/conocer.c45-correos", &fields);
    assert_eq!(first.status, 303, "{}", first.body);
    let again = web.post("/new/conocer.c45-correos", &fields);
    assert_eq!((again.status, &again.location), (303, &first.location), "a resend makes no second case");
    let location = first.location.unwrap();
    assert!(location.starts_with("/instances/") && location.ends_with("?started=1"), "{location}");
    let case = web.get(&location);
    assert_eq!(case.status, 200);
    assert!(case.body.contains(&format!("COR-{}-00001", year())), "{}", case.body);
    let (_, list) = w.ana.get("/api/instances");
    assert_eq!(ids(&list).len(), 1, "{list}");

    let found = web.get(&format!("/cases?q=COR-{}-00001", year()));
    assert_eq!(found.status, 200);
    assert!(found.body.contains("Atender correos electrónicos"), "{}", found.body);
    let csv = web.get("/cases.csv?q=marta");
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("Folio,"), "{}", csv.body);
    assert_eq!(csv.body.lines().count(), 2);

    // Process pages: for those who work the process (and admins) only.
    let page = web.get("/processes/conocer.c45-correos");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("COR-{year}-{seq:05}") && page.body.contains("V-CANA-MP-02"), "{}", page.body);
    assert_eq!(web.get("/processes/ces.oferta-servicios").status, 403);
    assert_eq!(web.get("/new/conocer.c42-campanas").status, 404);
}
