//! End-to-end for sub-processes (`call:` steps): the real binary over HTTP on loopback, on
//! SQLite and on PostgreSQL. UDG's personalised attention through its satisfaction survey, CES's
//! user attention through its improvement plan, every shipped process served and startable, a
//! broken definition file left undeployed with its location (and a caller whose callee is
//! missing from the tree), a call whose sub-process is gone waiting as an incident until an
//! admin retries it or a new version of the called process is deployed, and cancelling a parent.

use crate::common;
use crate::web;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Map, Value, json};

const UDG: &str = "/api/processes/udg.atencion-personalizada/instances";
const UDG_SURVEY: &str = "udg.encuesta-satisfaccion";
const CES: &str = "/api/processes/ces.atencion-usuario/instances";

// ---------------------------------------------------------------------------------------------
// Helpers

/// The open task of `inst` at `step` (for a `for_each` step, the one of element `item`).
fn task_id(inst: &Value, step: &str, item: Option<i64>) -> String {
    inst["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["step"] == step && item.is_none_or(|i| t["item"]["index"] == i))
        .unwrap_or_else(|| panic!("no task at {step} (item {item:?}): {inst}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Completes the task of `inst` at `step` (element `item`) with `data`; returns the instance after.
fn complete_item(api: &Api, inst: &Value, step: &str, item: Option<i64>, data: Value) -> Value {
    let task = task_id(inst, step, item);
    let (status, after) = api.post(&format!("/api/tasks/{task}/complete"), json!({ "data": data }));
    assert_eq!(status, 200, "completing {step}: {after}");
    after
}

fn complete(api: &Api, inst: &Value, step: &str, data: Value) -> Value {
    complete_item(api, inst, step, None, data)
}

fn id(inst: &Value) -> String {
    inst["id"].as_str().unwrap().to_string()
}

fn instance(api: &Api, id: &str) -> Value {
    let (status, inst) = api.get(&format!("/api/instances/{id}"));
    assert_eq!(status, 200, "{inst}");
    inst
}

fn events(api: &Api, id: &str) -> Vec<Value> {
    let (status, hist) = api.get(&format!("/api/instances/{id}/history"));
    assert_eq!(status, 200, "{hist}");
    hist["events"].as_array().unwrap().clone()
}

fn event<'a>(events: &'a [Value], kind: &str) -> &'a Value {
    events.iter().find(|e| e["type"] == kind).unwrap_or_else(|| panic!("no `{kind}` event: {events:?}"))
}

fn position(events: &[Value], kind: &str) -> usize {
    events.iter().position(|e| e["type"] == kind).unwrap_or_else(|| panic!("no `{kind}` event: {events:?}"))
}

/// The one call step `inst` waits on.
fn only_call(inst: &Value) -> &Value {
    let calls = inst["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{inst}");
    &calls[0]
}

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A copy of the shipped definitions (processes, forms, calendars) under `dir`; returns its
/// `processes/` folder.
fn copy_definitions(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    for sub in ["processes", "forms", "calendars"] {
        copy_tree(&repo().join(sub), &tree.join(sub));
    }
    tree.join("processes")
}

/// Every process definition file under `dir` (not the scenario files), in name order.
fn process_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(process_files(&p));
        } else if p.extension().is_some_and(|x| x == "yaml")
            && !p.to_string_lossy().ends_with(".test.yaml")
            && !p.to_string_lossy().ends_with(".indicators.yaml")
        {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ids(list: &Value) -> BTreeSet<String> {
    list["processes"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// UDG: personalised attention and its satisfaction survey

struct Udg {
    /// Runs while the world lives.
    _server: Server,
    /// Agente CAP.
    ana: Api,
    /// Responsable del SIGA.
    sofia: Api,
    admin: Api,
}

fn udg_world(db: &Db, name: &str, processes: Option<&Path>) -> Udg {
    let dir = scratch(name);
    let url = database(db, &dir).unwrap();
    let ana = add_user(&url, "ana", &["agente_cap"], Some("ana@example.org"), false);
    let sofia = add_user(&url, "sofia", &["responsable_siga"], Some("sofia@example.org"), false);
    let admin = add_user(&url, "admin", &[], None, true);
    let processes = processes.map(Path::to_path_buf).unwrap_or_else(|| repo().join("processes"));
    let server = Server::start_tree(&url, &dir, None, &processes, "warn");
    let base = server.base.clone();
    Udg { _server: server, ana: Api::new(&base, &ana), sofia: Api::new(&base, &sofia), admin: Api::new(&base, &admin) }
}

/// Registers an e-mail incident and works it, as the agent, up to the satisfaction survey (the
/// first scenario of `atencion-personalizada.test.yaml`); returns the parent at its call step.
fn udg_to_survey(ana: &Api, folio: &str) -> Value {
    let (status, inst) = ana.post(
        UDG,
        json!({ "data": {
            "canal": "correo", "nombre": "Laura Méndez", "correo": "laura@example.org",
            "descripcion": "¿Cuándo abre la convocatoria de la Licenciatura en Educación?"
        }}),
    );
    assert_eq!(status, 201, "{inst}");
    assert_eq!(inst["active_steps"], json!(["tipo_usuario"]));
    assert_eq!(inst["parent"], Value::Null);
    let inst = complete(ana, &inst, "tipo_usuario", json!({ "tipo_usuario": "interesado", "folio_crm": folio }));
    assert_eq!(inst["active_steps"], json!(["tipo_incidencia"]));
    assert_eq!(inst["data"]["educacion_continua"], false);
    let inst = complete(ana, &inst, "tipo_incidencia", json!({ "tipo_incidencia": "duda" }));
    let inst = complete(ana, &inst, "valorar", json!({ "asunto_critico": false, "cuenta_con_informacion": true }));
    assert_eq!(inst["active_steps"], json!(["atender"]));
    let inst = complete(ana, &inst, "atender", json!({ "respuesta": "La convocatoria abre el 4 de mayo." }));
    let inst = complete(
        ana,
        &inst,
        "registrar_pormenores",
        json!({ "pormenores": "Se informó la fecha de la convocatoria." }),
    );
    let inst = complete(ana, &inst, "cerrar_incidente", json!({}));
    assert_eq!(inst["active_steps"], json!(["encuesta"]), "{inst}");
    assert_eq!(inst["status"], "running");
    assert_eq!(inst["tasks"], json!([]), "the call step is no task of the parent: {inst}");
    inst
}

/// The sub-process a parent's only call waits on, on `version` of `process`, checked to be
/// linked both ways.
fn linked_child(api: &Api, parent: &Value, process: &str, step: &str, version: i64) -> Value {
    let call = only_call(parent);
    assert_eq!((&call["step"], &call["process"]), (&json!(step), &json!(process)), "{parent}");
    assert_eq!(call["incident"], Value::Null, "{parent}");
    assert_eq!(call["version"], version, "{parent}");
    let child_id = call["child"].as_str().unwrap_or_else(|| panic!("the call has no child: {parent}"));
    let child = instance(api, child_id);
    assert_eq!((&child["process"], &child["version"]), (&json!(process), &json!(version)), "{child}");
    assert_eq!(child["status"], "running");
    assert_eq!(
        child["parent"],
        json!({ "instance": parent["id"], "token": call["token"], "process": parent["process"], "step": step }),
        "{child}"
    );
    let row = parent["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == child_id)
        .unwrap_or_else(|| panic!("{child_id} is not among the children: {parent}"));
    assert_eq!((&row["process"], &row["version"]), (&json!(process), &json!(version)), "{row}");
    assert_eq!((&row["parent_id"], &row["parent_token"]), (&parent["id"], &call["token"]), "{row}");
    assert_eq!(row["status"], "running");
    child
}

/// Works the survey sub-process: the agent sends it, the SIGA records the answer.
fn answer_survey(w: &Udg, child: &Value, answer: Value) -> Value {
    // The user left an e-mail address: the invitation's link answers this task; the SIGA holds
    // it in its inbox too, for an answer that comes another way, and records it here.
    assert_eq!(child["active_steps"], json!(["contestar_encuesta"]), "{child}");
    assert_eq!(child["tasks"][0]["role"], "responsable_siga");
    let (status, body) = w.ana.post(
        &format!("/api/tasks/{}/complete", task_id(child, "contestar_encuesta", None)),
        json!({ "data": answer }),
    );
    assert_eq!(status, 403, "recording the answer is the SIGA's: {body}");
    let child = complete(&w.sofia, child, "contestar_encuesta", answer);
    assert_eq!(child["status"], "ended", "{child}");
    child
}

/// From the incident's registration through every human step and the survey to the end.
fn udg_survey(db: Db) {
    let w = udg_world(&db, "udg-survey", None);
    let parent = udg_to_survey(&w.ana, "CAP-1001");
    let parent_id = id(&parent);
    let child = linked_child(&w.ana, &parent, UDG_SURVEY, "encuesta", 1);
    assert_eq!(parent["children"].as_array().unwrap().len(), 1, "{parent}");
    let child_id = id(&child);
    // The call's input, computed from the parent's data.
    // (An empty phone number is no phone number: the survey's start form leaves it out.)
    let input = json!({
        "folio_crm": "CAP-1001", "nombre": "Laura Méndez", "canal": "correo",
        "correo": "laura@example.org"
    });
    for (k, v) in input.as_object().unwrap() {
        assert_eq!(&child["data"][k], v, "{k}: {child}");
    }

    let answer = json!({ "satisfaccion": 5, "comentarios": "Información clara y rápida." });
    let child = answer_survey(&w, &child, answer.clone());
    assert_eq!(child["outcome"], "respondida");
    let mut expected: Map<String, Value> = input.as_object().unwrap().clone();
    expected.extend(answer.as_object().unwrap().clone());
    assert_eq!(child["data"], json!(expected), "{child}");

    let parent = instance(&w.ana, &parent_id);
    assert_eq!((&parent["status"], &parent["outcome"]), (&json!("ended"), &json!("atendido")), "{parent}");
    assert_eq!(parent["data"]["encuesta"], json!({ "outcome": "respondida", "data": expected }), "{parent}");
    assert_eq!(parent["calls"], json!([]), "no call waits any more: {parent}");
    let row = &parent["children"][0];
    assert_eq!(
        (&row["id"], &row["status"], &row["outcome"]),
        (&json!(child_id), &json!("ended"), &json!("respondida"))
    );

    // The parent's history: the call asked for, linked to the child, ended by it.
    let hist = events(&w.ana, &parent_id);
    let started = event(&hist, "call_started");
    let mut asked = input.clone();
    asked["telefono"] = json!("");
    assert_eq!((&started["process"], &started["data"]), (&json!(UDG_SURVEY), &asked), "{started}");
    let linked = event(&hist, "call_linked");
    assert_eq!((&linked["child"], &linked["version"]), (&json!(child_id), &json!(1)), "{linked}");
    let ended = event(&hist, "call_ended");
    assert_eq!((&ended["child"], &ended["outcome"]), (&json!(child_id), &json!("respondida")), "{ended}");
    assert!(position(&hist, "call_started") < position(&hist, "call_linked"));
    assert!(position(&hist, "call_linked") < position(&hist, "call_ended"));
    assert_eq!(hist.last().unwrap()["type"], "ended", "{hist:?}");
    // The child's history starts with its parent.
    let hist = events(&w.sofia, &child_id);
    assert_eq!(hist[0]["type"], "started");
    assert_eq!(hist[0]["process"], UDG_SURVEY);
    assert_eq!(hist[0]["parent"]["instance"], parent_id.as_str());
    assert_eq!(hist[0]["parent"]["step"], "encuesta");
    assert_eq!(hist.last().unwrap()["type"], "ended", "{hist:?}");
    // Each told its own assignees.
    let (_, msgs) = w.sofia.get(&format!("/api/instances/{child_id}/messages"));
    let msgs = msgs["messages"].as_array().unwrap();
    assert!(msgs.iter().any(|m| m["kind"] == "assigned" && m["recipient"] == "sofia@example.org"), "{msgs:?}");
    assert!(msgs.iter().all(|m| m["instance_id"] == child_id.as_str()), "{msgs:?}");
    let (_, msgs) = w.ana.get(&format!("/api/instances/{parent_id}/messages"));
    let msgs = msgs["messages"].as_array().unwrap();
    assert!(!msgs.is_empty() && msgs.iter().all(|m| m["recipient"] == "ana@example.org"), "{msgs:?}");
}

// ---------------------------------------------------------------------------------------------
// CES: user attention and its improvement plan

/// A dissatisfied patient's e-mail through the reputational crisis and the evaluation to the
/// improvement plan, whose actions (one redone) end the parent.
fn ces_improvement_plan(db: Db) {
    let dir = scratch("ces-plan");
    let url = database(&db, &dir).unwrap();
    let ana = add_user(&url, "ana", &["agente"], None, false);
    // The dependency the request is escalated to, and another one.
    let adm = add_user(&url, "adm", &["area_responsable@Clínica odontológica"], None, false);
    let other = add_user(&url, "otra", &["area_responsable@Admisiones y Registro"], None, false);
    let ger = web::add_user_with_password(&url, "ger", &["gerente_centros"], false);
    let jm = add_user(&url, "jm", &["jefe_mercadeo"], None, false);
    let server = Server::start(&url, &dir, None);
    let api = |t: &str| Api::new(&server.base, t);
    let (ana, adm, other, ger, jm) = (api(&ana), api(&adm), api(&other), api(&ger), api(&jm));

    let (status, inst) = ana.post(
        CES,
        json!({ "data": {
            "canal": "correo", "tipo_servicio": "centro_servicios", "tipo_usuario": "paciente",
            "necesidad": "Queja por demora en la cita odontológica"
        }}),
    );
    assert_eq!(status, 201, "{inst}");
    assert_eq!(inst["active_steps"], json!(["atender_virtual"]));
    let inst = complete(
        &ana,
        &inst,
        "atender_virtual",
        json!({ "guion_estandarizado": true, "requiere_datos": true, "autoriza_datos": true }),
    );
    let inst = complete(
        &ana,
        &inst,
        "registrar_datos",
        json!({ "autorizacion_habeas_data": true, "nombre": "Mario Gómez", "telefono": "604 444 0555" }),
    );
    let inst = complete(
        &ana,
        &inst,
        "tramitar",
        json!({ "situacion_dificil": "reputacional", "resultado": "escalada", "area": "Clínica odontológica", "fecha_respuesta_area": "2026-06-03" }),
    );
    assert_eq!(inst["active_steps"], json!(["crisis_reputacional"]), "{inst}");
    // The reputational protocol is the implicated dependency's only.
    let (status, body) = other.post(
        &format!("/api/tasks/{}/complete", task_id(&inst, "crisis_reputacional", None)),
        json!({ "data": { "comunicacion_establecida": true, "situacion_aclarada": "X", "solucion": "Y" } }),
    );
    assert_eq!(status, 403, "another dependency's task: {body}");
    let inst = complete(
        &adm,
        &inst,
        "crisis_reputacional",
        json!({ "comunicacion_establecida": true, "situacion_aclarada": "La cita se reprogramó sin aviso.", "solucion": "Cita prioritaria." }),
    );
    // The evaluation waits for the user's answer (while its deadline runs).
    assert_eq!(inst["active_steps"], json!(["evaluar_centro", "plazo_evaluacion"]), "{inst}");
    let evaluated = complete(
        &ger,
        &inst,
        "evaluar_centro",
        json!({ "instrumento": "encuesta_telefonica", "amabilidad": 4, "calidad_informacion": 3, "oportunidad": 1, "comentarios": "Esperó tres semanas" }),
    );
    // A dissatisfied user (computed from the three scores): marketing analyses the results and
    // decides on a plan (activity 7).
    assert_eq!(evaluated["data"]["satisfecho"], false, "{evaluated}");
    assert_eq!(evaluated["active_steps"], json!(["analizar_resultados"]), "{evaluated}");
    let parent = complete(
        &jm,
        &evaluated,
        "analizar_resultados",
        json!({ "analisis_resultados": "La agenda no avisa las reprogramaciones.", "requiere_plan": true }),
    );
    assert_eq!(parent["active_steps"], json!(["plan_mejoramiento"]), "{parent}");
    let parent_id = id(&parent);

    let child = linked_child(&jm, &parent, "ces.plan-mejoramiento", "plan_mejoramiento", 1);
    let child_id = id(&child);
    assert_eq!(child["data"]["producto"], "Centros de servicios", "{child}");
    assert_eq!(
        child["data"]["resultados"],
        "Amabilidad 4, calidad de la información 3, oportunidad 1. Esperó tres semanas. Análisis: La agenda no avisa las reprogramaciones.",
        "{child}"
    );
    assert_eq!(child["active_steps"], json!(["formular_plan"]));
    assert_eq!(child["tasks"][0]["role"], "jefe_mercadeo");

    let child = complete(
        &jm,
        &child,
        "formular_plan",
        json!({
            "producto": "Agenda de citas de la clínica odontológica",
            "analisis_causas": "La cita se reprogramó sin avisar al paciente.",
            "acciones": [
                { "accion": "Protocolo de reprogramación con aviso al paciente", "responsable": "gerente_centros", "fecha_compromiso": "2026-06-19" },
                { "accion": "Indicador mensual de oportunidad de las citas", "responsable": "jefe_mercadeo", "fecha_compromiso": "2026-06-30" }
            ]
        }),
    );
    let tasks = child["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2, "{child}");
    let roles: Vec<(&Value, &Value)> = tasks.iter().map(|t| (&t["item"]["index"], &t["role"])).collect();
    assert!(roles.contains(&(&json!(0), &json!("gerente_centros"))), "{roles:?}");
    assert!(roles.contains(&(&json!(1), &json!("jefe_mercadeo"))), "{roles:?}");

    // In the browser, the manager's inbox and task page say which action the task is for, and
    // the sub-process's page links to the case that called it (and back).
    let mut browser = web::WebClient::new(&server.base);
    assert_eq!(browser.sign_in("ger", web::PASSWORD).status, 303);
    let inbox = browser.get("/inbox");
    assert!(
        inbox.body.contains("Elemento #1 · accion: Protocolo de reprogramación con aviso al paciente"),
        "{}",
        inbox.body
    );
    let page = browser.get(&format!("/tasks/{}", task_id(&child, "ejecutar_accion", Some(0))));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"task-item\">#1 · accion: Protocolo de reprogramación"), "{}", page.body);
    let page = browser.get(&format!("/instances/{child_id}"));
    assert!(page.body.contains(&format!("href=\"/instances/{parent_id}\" id=\"parent-link\"")), "{}", page.body);
    let page = browser.get(&format!("/instances/{parent_id}"));
    assert!(page.body.contains(&format!("<a href=\"/instances/{child_id}\">")), "{}", page.body);

    // The first action is reported unfinished, then done; the second done.
    let child = complete_item(
        &ger,
        &child,
        "ejecutar_accion",
        Some(0),
        json!({ "cumplida": false, "evidencia": "Borrador del protocolo en revisión." }),
    );
    assert_eq!(child["tasks"].as_array().unwrap().len(), 2, "the unfinished action is open again: {child}");
    let child = complete_item(
        &ger,
        &child,
        "ejecutar_accion",
        Some(0),
        json!({ "cumplida": true, "evidencia": "Protocolo aprobado y socializado con los agentes." }),
    );
    assert_eq!(instance(&ana, &parent_id)["status"], "running");
    let child = complete_item(
        &jm,
        &child,
        "ejecutar_accion",
        Some(1),
        json!({ "cumplida": true, "evidencia": "Indicador publicado en el tablero de mercadeo." }),
    );
    assert_eq!((&child["status"], &child["outcome"]), (&json!("ended"), &json!("plan_cumplido")), "{child}");

    let parent = instance(&ana, &parent_id);
    assert_eq!((&parent["status"], &parent["outcome"]), (&json!("ended"), &json!("mejora_implementada")), "{parent}");
    assert_eq!(parent["data"]["plan_mejoramiento"]["outcome"], "plan_cumplido", "{parent}");
    assert_eq!(
        parent["data"]["plan_mejoramiento"]["data"]["producto"], "Agenda de citas de la clínica odontológica",
        "{parent}"
    );
    let row = &parent["children"][0];
    assert_eq!((&row["id"], &row["status"]), (&json!(child_id), &json!("ended")), "{parent}");
    let hist = events(&ana, &parent_id);
    assert_eq!(event(&hist, "call_linked")["child"], child_id.as_str());
    assert_eq!(event(&hist, "call_ended")["child"], child_id.as_str());
}

// ---------------------------------------------------------------------------------------------
// Every shipped process is served and can be started

/// The data and starter roles of the first scenario of a `.test.yaml` that starts without
/// `expect_error`: a scheduled start takes the schedule's data, a start without `as:` (scheduled
/// or not) the process's start roles.
fn first_start(process: &Value, tests: &Value) -> (Value, Vec<String>) {
    let scenario = tests["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["start"].get("expect_error").is_none())
        .unwrap_or_else(|| panic!("no scenario starts without an error: {tests}"));
    let start = &scenario["start"];
    let roles = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().map(|r| r.as_str().unwrap().to_string()).collect()
    };
    let data = match start.get("schedule").and_then(Value::as_str) {
        Some(schedule) => process["schedules"][schedule].get("data").cloned(),
        None => start.get("data").cloned(),
    };
    let roles = match start.get("as").and_then(Value::as_str) {
        Some(user) => roles(&tests["users"][user]),
        None => roles(&process["start"]["roles"]),
    };
    (data.unwrap_or_else(|| json!({})), roles)
}

fn every_process_starts(db: Db) {
    let root = repo().join("processes");
    let out = std::process::Command::new(BIN).arg("check").current_dir(repo()).output().unwrap();
    assert!(out.status.success(), "tramite check: {}", String::from_utf8_lossy(&out.stdout));
    let shipped = process_files(&root).len();
    assert!(shipped >= 16, "{shipped} process files");
    let said = format!("ok: {shipped} processes");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&said), "check says {said}");

    let dir = scratch("every-process");
    let url = database(&db, &dir).unwrap();
    let admin = add_user(&url, "admin", &[], None, true);
    let mut starts = Vec::new();
    for (n, file) in process_files(&root).iter().enumerate() {
        let process = yaml(file);
        let pid = process["process"].as_str().unwrap().to_string();
        let tests = yaml(&file.with_extension("test.yaml"));
        assert_eq!(tests["test"], pid.as_str(), "{}", file.display());
        let (data, roles) = first_start(&process, &tests);
        // Anyone may start a process without start roles; a user needs some role.
        let mut roles: Vec<&str> = roles.iter().map(String::as_str).collect();
        if roles.is_empty() {
            roles.push("usuario");
        }
        let token = add_user(&url, &format!("u{n}"), &roles, None, false);
        starts.push((pid, data, token));
    }
    assert_eq!(starts.len(), shipped, "{starts:?}");
    let server = Server::start(&url, &dir, None);
    let admin = Api::new(&server.base, &admin);

    let (status, list) = admin.get("/api/processes");
    assert_eq!(status, 200, "{list}");
    let expected: BTreeSet<String> = starts.iter().map(|(p, _, _)| p.clone()).collect();
    assert_eq!(ids(&list), expected);
    assert_eq!(list["not_deployed"], json!([]), "{list}");

    for (pid, data, token) in &starts {
        let (status, inst) =
            Api::new(&server.base, token).post(&format!("/api/processes/{pid}/instances"), json!({ "data": data }));
        assert_eq!(status, 201, "starting {pid} with {data}: {inst}");
        assert_eq!(inst["process"], pid.as_str());
        assert_eq!(inst["status"], "running", "{inst}");
    }
}

// ---------------------------------------------------------------------------------------------
// A broken definition file

fn broken_file_not_deployed(db: Db) {
    let dir = scratch("broken");
    let processes = copy_definitions(&dir);
    let file = processes.join("conocer/c45-correos.yaml");
    let source = std::fs::read_to_string(&file).unwrap();
    let broken = source.replace("goto: solicitar_apoyo", "goto: solicitar_apoy");
    assert_ne!(broken, source);
    std::fs::write(&file, &broken).unwrap();
    let line = broken.lines().position(|l| l.contains("goto: solicitar_apoy")).unwrap() + 1;

    let url = database(&db, &dir).unwrap();
    let admin = web::add_user_with_password(&url, "admin", &[], true);
    let ana = add_user(&url, "ana", &["operador"], None, false);
    let server = Server::start_tree(&url, &dir, None, &processes, "info,sqlx=warn");
    let (admin, ana) = (Api::new(&server.base, &admin), Api::new(&server.base, &ana));

    let (status, list) = admin.get("/api/processes");
    assert_eq!(status, 200, "{list}");
    let served = ids(&list);
    let shipped = process_files(&repo().join("processes")).len();
    assert_eq!(served.len(), shipped - 1, "{served:?}");
    assert!(!served.contains("conocer.c45-correos"), "{served:?}");
    assert!(served.contains("conocer.c45-reporte-mensual") && served.contains("udg.atencion-personalizada"));
    let (not, indicators): (Vec<&Value>, Vec<&Value>) =
        list["not_deployed"].as_array().unwrap().iter().partition(|n| !n["process"].is_null());
    assert_eq!(not.len(), 1, "{list}");
    // Its indicators wait for it, without a second report of the same problem.
    assert_eq!(indicators.len(), 0, "{list}");
    let n = not[0];
    let shown = n["file"].as_str().unwrap();
    assert!(shown.ends_with("processes/conocer/c45-correos.yaml"), "{n}");
    assert_eq!(n["process"], "conocer.c45-correos");
    let d = &n["diagnostics"][0];
    assert_eq!(d["file"], shown);
    assert!(d["message"].as_str().unwrap().contains("solicitar_apoy"), "{d}");
    assert_eq!(d["line"], line, "{d}");
    let column = d["column"].as_u64().unwrap();
    assert!(column > 1, "{d}");
    let at = format!("{shown}:{line}:{column}");
    assert!(n["text"].as_str().unwrap().contains(&at), "{n}");

    // Users see what is served, not what failed; the broken process cannot be started.
    let (_, list) = ana.get("/api/processes");
    assert_eq!(list.get("not_deployed"), None, "{list}");
    let (status, _) = ana.post("/api/processes/conocer.c45-correos/instances", correo("2026-03-02T10:00:00-06:00"));
    assert_eq!(status, 404);

    // The admin dashboard lists it with the same diagnostics.
    let mut browser = web::WebClient::new(&server.base);
    assert_eq!(browser.sign_in("admin", web::PASSWORD).status, 303);
    let page = browser.get("/admin");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"not-deployed\"") && page.body.contains(&at), "{}", page.body);

    let log = server.log();
    assert!(log.contains(&at), "the log names {at}:\n{log}");
    let deployed: Vec<&str> = log.lines().filter(|l| l.contains(" deployed") && !l.contains("not deployed")).collect();
    assert!(deployed.iter().any(|l| l.contains("process=conocer.c45-reporte-mensual")), "{log}");
    assert!(deployed.iter().all(|l| !l.contains("process=conocer.c45-correos ")), "{log}");
    // Not deployed: the broken process (its indicators wait for it).
    assert!(log.contains(&format!("serving processes={} not_deployed=1", shipped - 1)), "{log}");
}

// ---------------------------------------------------------------------------------------------
// Calls without a sub-process: incidents, retried

/// A tree holding a caller but not the process it calls: the loader (`tramite check`) refuses
/// the caller where it names the missing process, so neither is served.
fn caller_without_callee_not_deployed(db: Db) {
    let dir = scratch("no-callee");
    let processes = copy_definitions(&dir);
    for f in ["encuesta-satisfaccion.yaml", "encuesta-satisfaccion.test.yaml", "encuesta-satisfaccion.indicators.yaml"]
    {
        std::fs::remove_file(processes.join("udg").join(f)).unwrap();
    }
    let w = udg_world(&db, "no-callee", Some(&processes));
    let (_, list) = w.admin.get("/api/processes");
    let served = ids(&list);
    assert!(!served.contains(UDG_SURVEY) && !served.contains("udg.atencion-personalizada"), "{served:?}");
    assert_eq!(served.len(), process_files(&repo().join("processes")).len() - 2, "{served:?}");
    let (not, indicators): (Vec<&Value>, Vec<&Value>) =
        list["not_deployed"].as_array().unwrap().iter().partition(|n| !n["process"].is_null());
    assert_eq!(not.len(), 1, "{list}");
    // The caller's indicators wait for it, without a second report of the same problem.
    assert_eq!(indicators.len(), 0, "{list}");
    assert!(not[0]["file"].as_str().unwrap().ends_with("processes/udg/atencion-personalizada.yaml"), "{list}");
    let d = &not[0]["diagnostics"][0];
    let line = std::fs::read_to_string(processes.join("udg/atencion-personalizada.yaml"))
        .unwrap()
        .lines()
        .position(|l| l.contains("call: udg.encuesta-satisfaccion"))
        .unwrap()
        + 1;
    assert_eq!((&d["line"], &d["column"]), (&json!(line), &json!(11)), "{d}");
    assert!(d["message"].as_str().unwrap().contains(UDG_SURVEY), "{d}");
}

/// A call whose sub-process was cancelled on its own waits as an incident: an admin's retry
/// starts a new sub-process, and so does deploying a new version of the called process.
fn incident_then_retry(db: Db) {
    let w = udg_world(&db, "incident", None);
    let parent = udg_to_survey(&w.ana, "CAP-2001");
    let parent_id = id(&parent);
    let first = id(&linked_child(&w.ana, &parent, UDG_SURVEY, "encuesta", 1));

    // Cancelling the sub-process alone leaves the parent's call without one: an incident.
    let (status, body) =
        w.admin.post(&format!("/api/instances/{first}/cancel"), json!({ "reason": "Enviada por error" }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "cancelled");
    let parent = instance(&w.ana, &parent_id);
    assert_eq!((&parent["status"], &parent["active_steps"]), (&json!("running"), &json!(["encuesta"])), "{parent}");
    let call = only_call(&parent);
    assert_eq!(call["child"], Value::Null, "{parent}");
    let message = call["incident"]["message"].as_str().unwrap_or_else(|| panic!("no incident: {parent}"));
    assert!(message.contains(&first) && message.contains("Enviada por error"), "{message}");
    assert!(call["incident"]["since"].is_string(), "{call}");

    let (status, _) = w.ana.get("/api/incidents");
    assert_eq!(status, 403, "incidents are for admins");
    let (status, body) = w.admin.get("/api/incidents");
    assert_eq!(status, 200, "{body}");
    let incidents = body["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{body}");
    let i = &incidents[0];
    assert_eq!((&i["instance_id"], &i["token"]), (&json!(parent_id), &call["token"]), "{i}");
    assert_eq!(
        (&i["process"], &i["step"], &i["called"]),
        (&json!("udg.atencion-personalizada"), &json!("encuesta"), &json!(UDG_SURVEY)),
        "{i}"
    );
    assert_eq!(i["message"], message);

    // An admin retries: a second sub-process.
    let (status, body) = w.ana.post(&format!("/api/instances/{parent_id}/retry"), json!({}));
    assert_eq!(status, 403, "{body}");
    let (status, body) = w.admin.post(&format!("/api/instances/{parent_id}/retry"), json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["retried"], 1, "{body}");
    let second = id(&linked_child(&w.admin, &body["instance"], UDG_SURVEY, "encuesta", 1));
    assert_ne!(second, first);
    let (_, body) = w.admin.get("/api/incidents");
    assert_eq!(body["incidents"], json!([]), "{body}");

    // Cancelled too; then a new version of the survey is deployed, which retries the call.
    let (status, body) = w.admin.post(&format!("/api/instances/{second}/cancel"), json!({}));
    assert_eq!(status, 200, "{body}");
    let (_, body) = w.admin.get("/api/incidents");
    assert_eq!(body["incidents"].as_array().unwrap().len(), 1, "{body}");
    let text = std::fs::read_to_string(repo().join("processes/udg/encuesta-satisfaccion.yaml")).unwrap();
    let changed = text.replace("title: Encuesta de satisfacción del CAP (MMPR-03)", "title: Encuesta del CAP (v2)");
    assert_ne!(changed, text);
    let (status, body) = w.ana.post_text("/api/processes", &changed);
    assert_eq!(status, 403, "only admins deploy: {body}");
    let (status, body) = w.admin.post_text("/api/processes", &changed);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["deployed"], json!([{ "process": UDG_SURVEY, "version": 2 }]));

    let parent = instance(&w.ana, &parent_id);
    let third = linked_child(&w.ana, &parent, UDG_SURVEY, "encuesta", 2);
    let third_id = id(&third);
    assert!(third_id != first && third_id != second);
    let (_, body) = w.admin.get("/api/incidents");
    assert_eq!(body["incidents"], json!([]), "{body}");
    let statuses: Vec<(&Value, &Value)> =
        parent["children"].as_array().unwrap().iter().map(|c| (&c["id"], &c["status"])).collect();
    assert_eq!(statuses.len(), 3, "{parent}");
    for (child, status) in [(&first, "cancelled"), (&second, "cancelled"), (&third_id, "running")] {
        assert!(statuses.contains(&(&json!(child), &json!(status))), "{child} {status}: {statuses:?}");
    }

    let child = answer_survey(&w, &third, json!({ "satisfaccion": 3 }));
    assert_eq!(child["outcome"], "respondida");
    let parent = instance(&w.ana, &parent_id);
    assert_eq!((&parent["status"], &parent["outcome"]), (&json!("ended"), &json!("atendido")), "{parent}");
    assert_eq!(parent["data"]["encuesta"]["outcome"], "respondida");
    assert_eq!(parent["data"]["encuesta"]["data"]["folio_crm"], "CAP-2001");

    let hist = events(&w.ana, &parent_id);
    let of = |kind: &str| -> Vec<&Value> { hist.iter().filter(|e| e["type"] == kind).collect() };
    assert_eq!(of("call_failed").len(), 2, "{hist:?}");
    let linked: Vec<(&Value, &Value)> = of("call_linked").iter().map(|e| (&e["child"], &e["version"])).collect();
    assert_eq!(
        linked,
        [(&json!(first), &json!(1)), (&json!(second), &json!(1)), (&json!(third_id), &json!(2))],
        "{hist:?}"
    );
    assert_eq!(of("call_ended").len(), 1, "{hist:?}");
    assert_eq!(of("call_ended")[0]["child"], third_id.as_str());
}

// ---------------------------------------------------------------------------------------------
// Cancelling a parent

fn cancel_parent_cancels_child(db: Db) {
    let w = udg_world(&db, "cancel", None);
    let parent = udg_to_survey(&w.ana, "CAP-3001");
    let parent_id = id(&parent);
    let child = linked_child(&w.ana, &parent, UDG_SURVEY, "encuesta", 1);
    let child_id = id(&child);
    let task = task_id(&child, "contestar_encuesta", None);

    let (status, body) = w.ana.post(&format!("/api/instances/{parent_id}/cancel"), json!({ "reason": "x" }));
    assert_eq!(status, 403, "{body}");
    let (status, parent) =
        w.admin.post(&format!("/api/instances/{parent_id}/cancel"), json!({ "reason": "Registrado por error" }));
    assert_eq!(status, 200, "{parent}");
    assert_eq!(parent["status"], "cancelled", "{parent}");
    assert_eq!(parent["children"][0]["status"], "cancelled", "{parent}");

    let child = instance(&w.ana, &child_id);
    assert_eq!(child["status"], "cancelled", "{child}");
    assert_eq!(child["tasks"], json!([]), "{child}");
    let (status, body) = w.sofia.post(&format!("/api/tasks/{task}/complete"), json!({}));
    assert_eq!(status, 409, "the child's task is gone: {body}");
    let (_, inbox) = w.ana.get("/api/inbox");
    assert!(inbox["tasks"].as_array().unwrap().iter().all(|t| t["instance_id"] != child_id.as_str()), "{inbox}");
    assert_eq!(events(&w.ana, &child_id).last().unwrap()["type"], "cancelled");
}

/// A called process whose file does not load is not served, but its caller is: the call stops
/// on an incident naming the missing process, and deploying a good version of it retries the
/// call, whose sub-process then runs to the end and ends the caller.
fn broken_callee_is_an_incident_until_deployed(db: Db) {
    let dir = scratch("broken-callee");
    let processes = copy_definitions(&dir);
    let file = processes.join("udg/encuesta-satisfaccion.yaml");
    let good = std::fs::read_to_string(&file).unwrap();
    let broken = good.replacen("next: sistematizar", "next: sistematisar", 1);
    assert_ne!(broken, good);
    std::fs::write(&file, &broken).unwrap();
    let w = udg_world(&db, "broken-callee", Some(&processes));

    let (_, list) = w.admin.get("/api/processes");
    let served = ids(&list);
    assert!(served.contains("udg.atencion-personalizada") && !served.contains(UDG_SURVEY), "{served:?}");
    let not = list["not_deployed"].as_array().unwrap();
    assert_eq!(not.len(), 1, "{list}");
    assert!(not[0]["file"].as_str().unwrap().ends_with("udg/encuesta-satisfaccion.yaml"), "{list}");
    assert_eq!(not[0]["process"], UDG_SURVEY);
    assert!(not[0]["diagnostics"][0]["message"].as_str().unwrap().contains("sistematisar"), "{list}");

    let parent = udg_to_survey(&w.ana, "CAP-3001");
    let parent_id = id(&parent);
    let call = only_call(&parent);
    assert_eq!(call["child"], Value::Null, "{parent}");
    let message = call["incident"]["message"].as_str().unwrap_or_else(|| panic!("no incident: {parent}"));
    assert!(message.contains(UDG_SURVEY) && message.contains("no está desplegado"), "{message}");
    assert_eq!(parent["children"], json!([]), "{parent}");
    let (_, body) = w.admin.get("/api/incidents");
    assert_eq!(body["incidents"].as_array().unwrap().len(), 1, "{body}");
    let history = events(&w.ana, &parent_id);
    assert!(history.iter().any(|e| e["type"] == "call_failed"), "{history:?}");

    // The good file, deployed: the call is retried at once.
    let (status, body) = w.admin.post_text("/api/processes", &good);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["deployed"], json!([{ "process": UDG_SURVEY, "version": 1 }]));
    let (_, body) = w.admin.get("/api/incidents");
    assert_eq!(body["incidents"], json!([]), "{body}");
    let parent = instance(&w.ana, &parent_id);
    let child = linked_child(&w.ana, &parent, UDG_SURVEY, "encuesta", 1);
    answer_survey(&w, &child, json!({ "satisfaccion": 4 }));
    let parent = instance(&w.ana, &parent_id);
    assert_eq!((&parent["status"], &parent["outcome"]), (&json!("ended"), &json!("atendido")), "{parent}");
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
    udg_survey,
    ces_improvement_plan,
    every_process_starts,
    broken_file_not_deployed,
    caller_without_callee_not_deployed,
    incident_then_retry,
    broken_callee_is_an_incident_until_deployed,
    cancel_parent_cancels_child
);
