//! Scoped and assigned tasks through the API, on SQLite and PostgreSQL: a task for a role
//! within the case's area reaches the inbox of that area's holders (and of the role's holders
//! in every area) only; a task for a person named in the case reaches that person only; the
//! others get 403 on it.

use crate::common;
use crate::web;

use common::*;
use serde_json::{Value, json};

const PROCESS: &str = r#"
process: prueba.areas
title: Solicitudes por área
calendar: mx
roles:
  operador: Operador
  area_responsable: Área responsable
steps:
  atender:
    task: Atender la solicitud del área
    role: area_responsable
    scope: data.area
    next: revisar
  revisar:
    task: Revisar con el especialista
    role: operador
    assignee: data.especialista
    next: end
"#;

fn inbox_ids(api: &Api) -> Vec<String> {
    let (status, body) = api.get("/api/inbox");
    assert_eq!(status, 200, "{body}");
    body["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
}

fn scoped_inboxes(db: Db) {
    let dir = scratch("scoped");
    let url = database(&db, &dir).unwrap();
    let admin = add_user(&url, "admin", &[], None, true);
    let ana = add_user(&url, "ana", &["area_responsable@Dirección A"], Some("ana@example.org"), false);
    let beto = add_user(&url, "beto", &["area_responsable@Dirección B"], Some("beto@example.org"), false);
    let carla = add_user(&url, "carla", &["area_responsable"], Some("carla@example.org"), false);
    let eva = add_user(&url, "eva", &["operador"], None, false);
    let esp = add_user(&url, "esp", &["operador"], Some("esp@example.org"), false);
    let server = Server::start(&url, &dir, None);
    let api = |t: &str| Api::new(&server.base, t);
    let (admin, ana, beto, carla, eva, esp) = (api(&admin), api(&ana), api(&beto), api(&carla), api(&eva), api(&esp));
    let (status, body) = admin.post_text("/api/processes", PROCESS);
    assert_eq!(status, 201, "{body}");

    let (status, inst) = eva.post(
        "/api/processes/prueba.areas/instances",
        json!({ "data": { "area": "Dirección A", "especialista": "esp" } }),
    );
    assert_eq!(status, 201, "{inst}");
    let task = inst["tasks"][0].clone();
    assert_eq!(
        (&task["role"], &task["role_scope"], &task["assignee"]),
        (&json!("area_responsable"), &json!("Dirección A"), &Value::Null)
    );
    let id = task["id"].as_str().unwrap().to_string();

    assert!(inbox_ids(&ana).contains(&id), "Dirección A sees its task");
    assert!(inbox_ids(&carla).contains(&id), "the role in every area sees it too");
    assert!(!inbox_ids(&beto).contains(&id), "Dirección B does not");
    let (status, body) = beto.post(&format!("/api/tasks/{id}/complete"), json!({ "data": {} }));
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");
    let (status, body) = beto.get(&format!("/api/tasks/{id}"));
    assert_eq!(status, 403, "{body}");
    // The messages of the assignment went to the area's people only.
    let (_, sent) = admin.get(&format!("/api/instances/{}/messages", inst["id"].as_str().unwrap()));
    let mut to: Vec<&str> =
        sent["messages"].as_array().unwrap().iter().map(|m| m["recipient"].as_str().unwrap()).collect();
    to.sort();
    assert_eq!(to, ["ana@example.org", "carla@example.org"], "{sent}");

    let (status, inst) = ana.post(&format!("/api/tasks/{id}/complete"), json!({ "data": {} }));
    assert_eq!(status, 200, "{inst}");
    let task = inst["tasks"][0].clone();
    assert_eq!((&task["step"], &task["assignee"]), (&json!("revisar"), &json!("esp")), "{inst}");
    let id = task["id"].as_str().unwrap().to_string();
    assert!(inbox_ids(&esp).contains(&id));
    assert!(!inbox_ids(&eva).contains(&id), "a task for a person is not the whole role's");
    let (status, _) = eva.post(&format!("/api/tasks/{id}/claim"), json!({}));
    assert_eq!(status, 403);
    let (status, inst) = esp.post(&format!("/api/tasks/{id}/complete"), json!({ "data": {} }));
    assert_eq!((status, inst["status"].as_str()), (200, Some("ended")), "{inst}");
}

/// An admin gives roles in a scope in the web: the users page lists them, refuses a role no
/// process has (422, with a hint), and is for admins only.
fn users_page(db: Db) {
    let dir = scratch("users-page");
    let url = database(&db, &dir).unwrap();
    web::add_user_with_password(&url, "admin", &[], true);
    web::add_user_with_password(&url, "eva", &["operador"], false);
    let server = Server::start(&url, &dir, None);
    let mut eva = web::WebClient::new(&server.base);
    assert_eq!(eva.sign_in("eva", web::PASSWORD).status, 303);
    assert_eq!(eva.get("/admin/users").status, 403);

    let mut admin = web::WebClient::new(&server.base);
    assert_eq!(admin.sign_in("admin", web::PASSWORD).status, 303);
    let page = admin.get("/admin/users");
    assert_eq!(page.status, 200);
    let csrf = web::csrf_of(&page.body);
    let roles = "area_solicitante@Dirección de Promoción\noperador";
    let form = [
        ("_csrf", csrf.as_str()),
        ("name", "maria"),
        ("email", "maria@example.org"),
        ("roles", roles),
        ("password", ""),
    ];
    let page = admin.post("/admin/users", &form);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"new-token\""), "the token is shown once: {}", page.body);
    assert!(page.body.contains("area_solicitante@Dirección de Promoción"), "{}", page.body);

    let form = [
        ("_csrf", csrf.as_str()),
        ("name", "pedro"),
        ("email", ""),
        ("roles", "area_solicitnte@Dirección X"),
        ("password", ""),
    ];
    let page = admin.post("/admin/users", &form);
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("¿Quiso decir «area_solicitante»?"), "{}", page.body);

    // Changed to another scope: the change is kept.
    let form = [
        ("_csrf", csrf.as_str()),
        ("email", "maria@example.org"),
        ("roles", "area_solicitante@Dirección de Certificación"),
    ];
    let page = admin.post("/admin/users/maria", &form);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("area_solicitante@Dirección de Certificación")
            && !page.body.contains(">area_solicitante@Dirección de Promoción<"),
        "{}",
        page.body
    );
}

mod sqlite {
    #[test]
    fn scoped_inboxes() {
        super::scoped_inboxes(super::Db::Sqlite)
    }

    #[test]
    fn users_page() {
        super::users_page(super::Db::Sqlite)
    }
}

mod postgres {
    #[test]
    fn scoped_inboxes() {
        super::scoped_inboxes(super::Db::Postgres)
    }

    #[test]
    fn users_page() {
        super::users_page(super::Db::Postgres)
    }
}
