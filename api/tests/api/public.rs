//! People without an account, through the real `tramite serve` on SQLite and PostgreSQL: a
//! process's public start form (the reception time set by the server, a folio, a hidden field
//! robots fill, a limit per address, a small body limit), a message of the process sent on
//! entering a task with a signed link, the link's page (that task's form and nothing else of
//! the case), and links altered, expired or used. Also `tramite check` on a template.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const PROCESS: &str = r#"process: prueba.encuesta
title: Encuesta a la ciudadania
description: Una opinion sobre el servicio.
calendar: mx
roles:
  agente: Agente
start:
  form: contacto
  folio: ENC-{year}-{seq:03}
  public:
    received: recibido
    thanks: Gracias por escribirnos.
steps:
  contestar:
    task: Contestar la encuesta
    role: agente
    form: respuesta
    link: 5 business days
    send:
      - template: invitacion
        to: data.correo
        link: contestar
        on: entered
      - template: gracias
        to: data.correo
        roles: [agente]
        if: data.satisfaccion >= 4
    next: fin
  fin:
    end: contestada
"#;

const CONTACTO: &str = r#"form: contacto
title: Contacto
fields:
  nombre: { type: text, label: Nombre, required: true }
  correo: { type: email, label: Correo, required: true }
  recibido: { type: datetime, label: Recibido }
  comentario: { type: long_text, label: Comentario, max_length: 2000 }
"#;

const RESPUESTA: &str = r#"form: respuesta
title: Respuesta
fields:
  satisfaccion: { type: integer, label: Satisfaccion, required: true, min: 1, max: 5 }
  opinion: { type: long_text, label: Opinion }
"#;

const INVITACION: &str =
    "Encuesta {{folio}}\n\nHola {{data.nombre}}:\nConteste aqui: {{link}}\nVence: {{link_expires}}\n";
const GRACIAS: &str = "Gracias {{folio}}\n\nCalifico con {{data.satisfaccion}}.\n";

/// A definition tree with the survey process, its forms and its templates.
fn tree(dir: &Path) -> PathBuf {
    let processes = dir.join("tree/processes");
    std::fs::create_dir_all(processes.join("messages")).unwrap();
    std::fs::create_dir_all(dir.join("tree/forms")).unwrap();
    std::fs::write(processes.join("encuesta.yaml"), PROCESS).unwrap();
    std::fs::write(processes.join("messages/invitacion.hbs"), INVITACION).unwrap();
    std::fs::write(processes.join("messages/gracias.hbs"), GRACIAS).unwrap();
    std::fs::write(dir.join("tree/forms/contacto.yaml"), CONTACTO).unwrap();
    std::fs::write(dir.join("tree/forms/respuesta.yaml"), RESPUESTA).unwrap();
    processes
}

/// The secret the test's server signs links with.
const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

struct World {
    server: Server,
    admin: Api,
    web: reqwest::blocking::Client,
    dir: PathBuf,
}

fn world(db: &Db, name: &str) -> Option<World> {
    let dir = scratch(name);
    let url = database(db, &dir)?;
    let admin = add_user(&url, "admin", &[], None, true);
    add_user(&url, "ana", &["agente"], Some("ana@example.org"), false);
    let processes = tree(&dir);
    let secret = dir.join("link-secret");
    std::fs::write(&secret, SECRET).unwrap();
    let args = ["--no-watch".to_string(), "--link-secret-file".to_string(), secret.display().to_string()];
    let server = Server::start_with(&url, &dir, None, &processes, "warn", &args, &[]);
    let admin = Api::new(&server.base, &admin);
    let web = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Some(World { server, admin, web, dir })
}

impl World {
    fn get(&self, path: &str) -> (u16, String) {
        let r = self.web.get(format!("{}{path}", self.server.base)).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self.web.post(format!("{}{path}", self.server.base)).form(form).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn cases(&self) -> Vec<Value> {
        let (status, list) = self.admin.get("/api/instances?process=prueba.encuesta");
        assert_eq!(status, 200, "{list}");
        list["instances"].as_array().cloned().unwrap_or_default()
    }

    /// The messages written to the outbox folder so far (the server sends no SMTP here).
    fn mails(&self) -> Vec<String> {
        let Ok(files) = std::fs::read_dir(self.dir.join("outbox")) else { return Vec::new() };
        let mut out: Vec<String> =
            files.flatten().map(|f| std::fs::read_to_string(f.path()).unwrap_or_default()).collect();
        out.sort();
        out
    }
}

/// The link in a message's body (soft line breaks taken out).
fn link_in(mail: &str) -> String {
    let start = mail.find("/p/t/").unwrap_or_else(|| panic!("no link in {mail}"));
    let tail = &mail[start + "/p/t/".len()..];
    tail.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.').collect()
}

fn key(n: u32) -> String {
    format!("{n:064x}")
}

fn public_case_and_link(db: Db) {
    let Some(w) = world(&db, "public") else { return };

    // The public form: no sign-in, no field for the time of reception (the server sets it).
    let (status, page) = w.get("/p/prueba.encuesta");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"correo\"") && page.contains("name=\"_key\""), "{page}");
    assert!(!page.contains("name=\"recibido\""), "the server sets the reception time: {page}");
    assert!(page.contains("method=\"post\" action=\"/p/prueba.encuesta\""), "a plain form, no script needed: {page}");
    let (status, _) = w.get("/p/no.existe");
    assert_eq!(status, 404);

    // A refused form: 422, each field's problem on the page, no case.
    let k1 = key(1);
    let (status, page) =
        w.post("/p/prueba.encuesta", &[("_key", &k1), ("nombre", "Juana"), ("correo", "no-es-correo")]);
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("error-summary") && page.contains("value=\"Juana\""), "{page}");
    assert!(w.cases().is_empty());

    // Sent: a case with its folio, and only its folio on the page; a resend makes no second.
    let form =
        [("_key", k1.as_str()), ("nombre", "Juana Perez"), ("correo", "juana@example.org"), ("comentario", "Muy bien")];
    let (status, page) = w.post("/p/prueba.encuesta", &form);
    assert_eq!(status, 200, "{page}");
    let folio = format!("ENC-{}-001", jiff::Zoned::now().year());
    assert!(page.contains("Gracias por escribirnos.") && page.contains(&folio), "{page}");
    let (status, again) = w.post("/p/prueba.encuesta", &form);
    assert_eq!(status, 200);
    assert!(again.contains(&folio), "{again}");
    let cases = w.cases();
    assert_eq!(cases.len(), 1, "{cases:?}");
    let id = cases[0]["id"].as_str().unwrap().to_string();
    let (_, inst) = w.admin.get(&format!("/api/instances/{id}"));
    assert!(inst["data"]["recibido"].as_str().is_some_and(|r| r.parse::<jiff::Timestamp>().is_ok()), "{inst}");
    let (_, hist) = w.admin.get(&format!("/api/instances/{id}/history"));
    let events = hist["events"].as_array().unwrap();
    assert_eq!(events[0]["type"], "started");
    assert_eq!(events[0]["by"], "formulario público");

    // The invitation went out in the start's transaction, with the link, recorded in history.
    assert!(events.iter().any(|e| e["type"] == "sent" && e["template"] == "invitacion"), "{hist}");
    let mail = eventually(10, || w.mails().into_iter().find(|m| m.contains("Encuesta ENC-")));
    let mail = mail.replace("=\r\n", "").replace("=\n", "");
    assert!(mail.contains("juana@example.org") && mail.contains("Hola Juana Perez"), "{mail}");
    let link = link_in(&mail);
    assert!(mail.contains(&format!("{}/p/t/", w.server.base)), "{mail}");

    // The link's page: that task's form and nothing else of the case.
    let (status, page) = w.get(&format!("/p/t/{link}"));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Contestar la encuesta") && page.contains("name=\"satisfaccion\""), "{page}");
    for private in ["Juana", "juana@example.org", "Muy bien", &folio] {
        assert!(!page.contains(private), "the link's page shows `{private}`: {page}");
    }

    // Altered, and signed with another secret: not a link of this server.
    let mut altered = link.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == '0' { '1' } else { '0' });
    let (status, page) = w.get(&format!("/p/t/{altered}"));
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("no es válido"), "{page}");
    let token: u64 = link.split('.').nth(1).unwrap().parse().unwrap();
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let other = tramite::links::Links::new(&[9u8; 32], "http://x").unwrap().sign(&id, token, later);
    assert_eq!(w.get(&format!("/p/t/{other}")).0, 404);
    // Expired: signed by this server, past its time.
    let ours = tramite::links::Links::new(SECRET.as_bytes(), "http://x").unwrap();
    let past = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let (status, page) = w.get(&format!("/p/t/{}", ours.sign(&id, token, past)));
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("venció"), "{page}");
    // A valid signature for a task that is not one of the case's: nothing opens.
    assert_eq!(w.get(&format!("/p/t/{}", ours.sign(&id, token + 100, later))).0, 410);

    // A wrong answer: 422, the task stays open.
    let (status, page) = w.post(&format!("/p/t/{link}"), &[("satisfaccion", "9")]);
    assert_eq!(status, 422, "{page}");
    let (_, inst) = w.admin.get(&format!("/api/instances/{id}"));
    assert_eq!(inst["status"], "running");

    // Answered: the task completes (by `enlace`), the case ends, the thanks go out.
    let (status, page) = w.post(&format!("/p/t/{link}"), &[("satisfaccion", "5"), ("opinion", "Excelente")]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Recibimos su respuesta"), "{page}");
    let (_, inst) = w.admin.get(&format!("/api/instances/{id}"));
    assert_eq!(inst["status"], "ended", "{inst}");
    assert_eq!(inst["data"]["satisfaccion"], 5);
    let (_, hist) = w.admin.get(&format!("/api/instances/{id}/history"));
    let events = hist["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["type"] == "completed" && e["by"] == "enlace"), "{hist}");
    let thanks = eventually(10, || {
        let m: Vec<String> = w.mails().into_iter().filter(|m| m.contains("Gracias ENC-")).collect();
        (m.len() == 2).then_some(m)
    });
    assert!(
        thanks.iter().any(|m| m.contains("juana@example.org")) && thanks.iter().any(|m| m.contains("ana@example.org"))
    );

    // Used: the same link again, to read or to answer.
    let (status, page) = w.get(&format!("/p/t/{link}"));
    assert_eq!(status, 410);
    assert!(page.contains("Ya se respondió"), "{page}");
    assert_eq!(w.post(&format!("/p/t/{link}"), &[("satisfaccion", "1")]).0, 410);
    let (_, inst) = w.admin.get(&format!("/api/instances/{id}"));
    assert_eq!(inst["data"]["satisfaccion"], 5, "a used link changes nothing");
}

fn public_abuse(db: Db) {
    let Some(w) = world(&db, "public-abuse") else { return };
    // A robot fills the hidden field: it reads what a person reads, and nothing starts.
    let bot = [
        ("_key", key(7)),
        ("nombre", "x".into()),
        ("correo", "bot@example.org".into()),
        ("sitio_web", "http://spam".into()),
    ];
    let bot: Vec<(&str, &str)> = bot.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, page) = w.post("/p/prueba.encuesta", &bot);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Gracias por escribirnos."), "{page}");
    assert!(w.cases().is_empty(), "the hidden field filled in starts nothing");

    // A body over the public limit: 413, nothing starts.
    let big = "a".repeat(100 * 1024);
    let (status, _) = w.post(
        "/p/prueba.encuesta",
        &[("_key", &key(8)), ("nombre", "x"), ("correo", "a@example.org"), ("comentario", &big)],
    );
    assert_eq!(status, 413);
    assert!(w.cases().is_empty());

    // One address: ten sends per ten minutes, then 429 and nothing starts.
    let mut statuses = Vec::new();
    for n in 0..12 {
        let k = key(100 + n);
        let correo = format!("p{n}@example.org");
        statuses.push(w.post("/p/prueba.encuesta", &[("_key", &k), ("nombre", "Pablo"), ("correo", &correo)]).0);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10, "{statuses:?}");
    assert_eq!(&statuses[10..], &[429, 429], "{statuses:?}");
    assert_eq!(w.cases().len(), 10);
}

const REPLY: &str = r#"process: prueba.respuesta
title: Respuesta con archivo
calendar: mx
roles:
  agente: Agente
start:
  form: contacto
steps:
  responder:
    task: Responder
    role: agente
    form: archivo
    send:
      - template: respuesta
        to: data.correo
        attach: [adjunto]
    next: end
"#;

const ARCHIVO: &str = "form: archivo\ntitle: Archivo\nfields:\n  texto: { type: long_text, label: Texto, required: true }\n  adjunto: { type: file, label: Adjunto }\n";

/// A step's message carries the case's file: the reply leaves with the PDF attached, read from
/// the blob store when it is sent.
fn reply_with_attachment(db: Db) {
    let dir = scratch("reply-file");
    let url = database(&db, &dir).unwrap();
    let ana = add_user(&url, "ana", &["agente"], Some("ana@example.org"), false);
    let processes = dir.join("tree/processes");
    std::fs::create_dir_all(processes.join("messages")).unwrap();
    std::fs::create_dir_all(dir.join("tree/forms")).unwrap();
    std::fs::write(processes.join("respuesta.yaml"), REPLY).unwrap();
    std::fs::write(processes.join("messages/respuesta.hbs"), "Respuesta\n\n{{data.texto}}\n").unwrap();
    std::fs::write(dir.join("tree/forms/contacto.yaml"), CONTACTO).unwrap();
    std::fs::write(dir.join("tree/forms/archivo.yaml"), ARCHIVO).unwrap();
    let server = Server::start_with(&url, &dir, None, &processes, "warn", &["--no-watch".to_string()], &[]);
    let api = Api::new(&server.base, &ana);
    let (status, inst) = api.post(
        "/api/processes/prueba.respuesta/instances",
        serde_json::json!({ "data": { "nombre": "Juana", "correo": "juana@example.org" } }),
    );
    assert_eq!(status, 201, "{inst}");
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
    let (status, file) = crate::files::upload(&server.base, &ana, "respuesta.pdf", pdf);
    assert_eq!(status, 201, "{file}");
    let task = task_at(&inst, "responder");
    let (status, done) = api.post(
        &format!("/api/tasks/{task}/complete"),
        serde_json::json!({ "data": { "texto": "Va el documento.", "adjunto": file } }),
    );
    assert_eq!(status, 200, "{done}");
    let mail = eventually(10, || {
        let files = std::fs::read_dir(dir.join("outbox")).ok()?;
        files
            .flatten()
            .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
            .find(|m| m.contains("Subject: Respuesta"))
    });
    assert!(mail.contains("To: juana@example.org") && mail.contains("multipart/mixed"), "{mail}");
    assert!(mail.contains("filename=\"respuesta.pdf\"") && mail.contains("Content-Type: application/pdf"), "{mail}");
    // The file's bytes follow its header (text as they are: lettre sends them 7-bit).
    let part = &mail[mail.find("filename=\"respuesta.pdf\"").unwrap()..];
    assert!(part.contains("%PDF-1.4") && part.contains("%%EOF"), "{mail}");
}

/// `tramite check` locates a template's unknown variable and a missing template.
#[test]
fn check_reports_template_problems() {
    let dir = scratch("template-check");
    let processes = tree(&dir);
    std::fs::write(processes.join("messages/invitacion.hbs"), "Encuesta\n\nHola {{data.nombr}}: {{link}}\n").unwrap();
    std::fs::write(processes.join("encuesta.yaml"), PROCESS.replace("template: gracias", "template: grazias")).unwrap();
    let out = std::process::Command::new(BIN).arg("check").arg(&processes).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("messages/invitacion.hbs:3:6: error: `data.nombr` is not a field"), "{text}");
    assert!(text.contains("did you mean `data.nombre`?"), "{text}");
    assert!(text.contains("encuesta.yaml:24:19") && text.contains("unknown template `grazias`"), "{text}");
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

on_both!(public_case_and_link, public_abuse, reply_with_attachment);
