//! `tramite serve --mailboxes`: the real binary reads the mailbox, logs and counts a refused
//! message, never logs the password, refuses a wrong configuration at start, and two servers on
//! one PostgreSQL database start one case per message.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::PASSWORD_ENV;
use super::common::{Api, BIN, Db, Server, add_user, database, eventually, repo, scratch};
use super::dovecot::{Dovecot, PASSWORD, message};

const C45: &str = "conocer.c45-correos";

fn serve(url: &str, dir: &Path, file: &Path) -> Server {
    let args = ["--no-watch".to_string(), "--mailboxes".to_string(), file.display().to_string()];
    let env = [(PASSWORD_ENV.to_string(), PASSWORD.to_string())];
    Server::start_with(url, dir, None, &repo().join("processes"), "info", &args, &env)
}

/// The folios of the C.4.5 cases as an admin sees them.
fn folios(api: &Api) -> Vec<String> {
    let (status, body) = api.get(&format!("/api/instances?process={C45}"));
    assert_eq!(status, 200, "{body}");
    body["instances"].as_array().unwrap().iter().map(|i| i["folio"].as_str().unwrap_or_default().to_string()).collect()
}

#[test]
fn serve_reads_its_mailbox() {
    let dir = scratch("buzon-serve");
    let url = database(&Db::Sqlite, &dir).unwrap();
    let admin = add_user(&url, "admin", &[], None, true);
    let imap = Dovecot::start(&dir);
    let file = dir.join("buzones.yaml");
    std::fs::write(&file, imap.mailbox_yaml(C45, "imaps", PASSWORD_ENV, "  poll_seconds: 1\n")).unwrap();
    imap.deliver(&message("Juana Pérez <juana@example.org>", "Certificación", "¿Cómo me certifico?"));
    imap.deliver(&message("pedro@example.org", "Sin pregunta", ""));
    let server = serve(&url, &dir, &file);
    let api = Api::new(&server.base, &admin);
    let found = eventually(30, || Some(folios(&api)).filter(|f| !f.is_empty()));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("COR-"), "{found:?}");
    eventually(30, || imap.seen("").get("Certificación").copied().filter(|s| *s));
    let log = eventually(30, || Some(server.log()).filter(|l| l.contains("the start form refused a message")));
    assert!(log.contains("pregunta: "), "the refusal names the field: {log}");
    assert!(!imap.seen("")["Sin pregunta"], "the refused message stays unread");
    let metrics = reqwest::blocking::get(format!("{}/metrics", server.base)).unwrap().text().unwrap();
    assert!(metrics.contains("tramite_mailbox_cases_total 1"), "{metrics}");
    assert!(metrics.contains("tramite_mailbox_refusals_total 1"), "{metrics}");
    assert!(!server.log().contains(PASSWORD), "the password is never logged");
}

#[test]
fn serve_refuses_a_wrong_mailboxes_file() {
    let dir = scratch("buzon-mal");
    let url = database(&Db::Sqlite, &dir).unwrap();
    let imap_entry = |process: &str, extra: &str| {
        format!("- process: {process}\n  url: imaps://127.0.0.1:993\n  user: buzon\n{extra}")
    };
    let cases = [
        (imap_entry("no.existe", &format!("  password_env: {PASSWORD_ENV}\n")), "no process `no.existe` is deployed"),
        (
            imap_entry("conocer.c41-centro-contacto", &format!("  password_env: {PASSWORD_ENV}\n")),
            "does not say how a message starts a case",
        ),
        (imap_entry(C45, "  password: secreto\n"), "never write the password here"),
        (imap_entry(C45, "  password_env: TRAMITE_TEST_NO_SUCH_VARIABLE\n"), "is not set"),
    ];
    for (yaml, wanted) in cases {
        let file = dir.join("buzones.yaml");
        std::fs::write(&file, &yaml).unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--database", &url, "--no-watch", "--listen", "127.0.0.1:0", "--processes"])
            .arg(repo().join("processes"))
            .arg("--files")
            .arg(dir.join("files"))
            .arg("--mailboxes")
            .arg(&file)
            .env(PASSWORD_ENV, PASSWORD)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let end = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > end {
                let _ = child.kill();
                panic!("serve started with {yaml:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(wanted), "{yaml:?}: {stderr}");
        assert!(stderr.contains("--mailboxes"), "{stderr}");
    }
}

#[test]
fn two_servers_on_postgres_start_one_case_per_message() {
    let dir = scratch("buzon-dos-servidores");
    let url = database(&Db::Postgres, &dir).unwrap();
    let admin = add_user(&url, "admin", &[], None, true);
    let imap = Dovecot::start(&dir);
    let file = dir.join("buzones.yaml");
    std::fs::write(&file, imap.mailbox_yaml(C45, "imaps", PASSWORD_ENV, "  poll_seconds: 1\n")).unwrap();
    let one = serve(&url, &dir.join("uno"), &file);
    let two = serve(&url, &dir.join("dos"), &file);
    for i in 0..8 {
        imap.deliver(&message("ana@example.org", &format!("Pregunta {i}"), "¿Cuándo abre la convocatoria?"));
        std::thread::sleep(Duration::from_millis(150));
    }
    eventually(60, || Some(imap.seen("")).filter(|s| s.len() == 8 && s.values().all(|v| *v)));
    let mut found = folios(&Api::new(&one.base, &admin));
    found.sort();
    found.dedup();
    assert_eq!(found.len(), 8, "one case, one folio per message: {found:?}");
    assert_eq!(folios(&Api::new(&two.base, &admin)).len(), 8);
}
