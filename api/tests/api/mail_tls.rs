//! E-mail through an institution's mail server (`tests/smtp/server.py`, a real SMTP server on
//! loopback): STARTTLS required or TLS from the first byte, AUTH with a user and a password,
//! the server's certificate checked against the CA `--smtp-ca` names. A refused password, an
//! untrusted certificate, a server without STARTTLS or a server down for ten minutes keep the
//! message in the outbox until the server takes it, and nothing is sent twice. The outbox is
//! sent as the worker sends it (`mail::send_pending` on the manual clock) and, once, by a real
//! `tramite serve`.

use crate::common;
use crate::in_process;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::{
    Api, Db, SMTP_PASSWORD, SMTP_USER, Server, SmtpServer, SmtpSink, add_user, correo, database, eventually, recent,
    repo, scratch,
};
use in_process::{App, T0};
use serde_json::{Value, json};
use tramite::mail::{self, Password, SmtpAccess, Transport};
use tramite::metrics::Metrics;
use tramite::store::MessageRow;

const LEASE: Duration = Duration::from_secs(60);

/// A process whose new cases tell one operator with an e-mail address, and `cases` cases: as
/// many messages waiting in the outbox. Also the token of a user who may start more.
async fn queued(name: &str, cases: usize) -> (App, String) {
    let p = crate::ops::process("prueba.uno", "Uno", "mx", None);
    let app = App::new(&Db::Sqlite, name, &[("processes/uno.yaml", &p)]).await;
    add_user(&app.url, "op", &["operador"], Some("op@example.org"), false);
    let ana = app.user("ana", &["operador"], false, None).await;
    start(&app, &ana, cases).await;
    assert_eq!(app.rt.store.outbox_backlog().await.unwrap(), cases as i64);
    (app, ana)
}

/// Starts `n` cases as the user of `token`.
async fn start(app: &App, token: &str, n: usize) {
    for _ in 0..n {
        let a = app.post("/api/processes/prueba.uno/instances", token, json!({ "data": {} })).await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
}

/// The transport `serve --smtp URL` builds with this password and `--smtp-ca`.
fn transport(url: &str, password: &str, ca: Option<&Path>) -> Transport {
    let access =
        SmtpAccess { user: None, password: Some(Password::new(password.into())), ca: ca.map(Path::to_path_buf) };
    Transport::from_url(Some(url), access, Path::new("unused")).unwrap()
}

/// One pass of the outbox worker; how many messages it tried.
async fn pass(app: &App, transport: &Transport) -> usize {
    let metrics = Metrics::new();
    let store = &app.rt.store;
    mail::send_pending(
        store,
        app.clock.as_ref(),
        &mail::Mailer::new(transport.clone(), "tramite@example.org"),
        &metrics,
        "nodo",
        LEASE,
    )
    .await
    .unwrap()
}

/// Every message in the outbox, oldest last.
async fn outbox(app: &App) -> Vec<MessageRow> {
    let t0: jiff::Timestamp = T0.parse().unwrap();
    let day = jiff::SignedDuration::from_hours(24);
    app.rt.store.messages_between(t0.checked_sub(day).unwrap(), t0.checked_add(day).unwrap(), 100).await.unwrap()
}

/// The Message-IDs the server received, each once: a repeated one fails the test.
fn received_once(server: &SmtpServer) -> BTreeSet<String> {
    let ids: Vec<String> =
        server.received().iter().map(|m| m["message_id"].as_str().unwrap_or_default().to_string()).collect();
    let once: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(once.len(), ids.len(), "a message was sent twice: {ids:?}");
    assert!(once.iter().all(|id| id.starts_with("<outbox-")), "{once:?}");
    once
}

/// Whether the server saw this message over TLS from our user.
fn over_tls_as_our_user(m: &Value) {
    assert_eq!(m["user"], SMTP_USER, "{m}");
    assert!(m["tls"].as_str().is_some_and(|v| v.starts_with("TLSv1.")), "not over TLS: {m}");
    assert_eq!(m["to"], json!(["op@example.org"]), "{m}");
    assert_eq!(m["from"], "tramite@example.org", "{m}");
}

async fn delivers(smtps: bool) {
    let (app, _) = queued(if smtps { "smtps" } else { "smtp-starttls" }, 2).await;
    let server = SmtpServer::start(&app.dir.join("mail"), smtps);
    let t = transport(&server.url(), SMTP_PASSWORD, Some(&server.ca()));
    assert_eq!(pass(&app, &t).await, 2);
    assert_eq!(app.rt.store.outbox_backlog().await.unwrap(), 0);
    let got = server.received();
    assert_eq!(got.len(), 2, "{got:?}");
    got.iter().for_each(over_tls_as_our_user);
    assert_eq!(received_once(&server).len(), 2);
    let logins = server.logins();
    assert!(!logins.is_empty() && logins.iter().all(|l| l["ok"] == true && l["tls"].is_string()), "{logins:?}");
    assert!(outbox(&app).await.iter().all(|m| m.sent_at.is_some() && m.attempts == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_with_auth_delivers() {
    delivers(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtps_with_auth_delivers() {
    delivers(true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_keeps_the_message_until_the_right_one() {
    let (app, _) = queued("smtp-wrong-password", 1).await;
    let server = SmtpServer::start(&app.dir.join("mail"), false);
    let wrong = transport(&server.url(), "equivocada", Some(&server.ca()));
    assert_eq!(pass(&app, &wrong).await, 1);

    // Refused over TLS, recorded, kept; the error names the server's answer, not the password.
    let logins = server.logins();
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!((&logins[0]["user"], &logins[0]["ok"]), (&json!(SMTP_USER), &json!(false)));
    assert!(logins[0]["tls"].is_string(), "the password went over TLS only: {logins:?}");
    assert!(server.received().is_empty());
    let rows = outbox(&app).await;
    assert_eq!((rows.len(), rows[0].attempts, rows[0].sent_at), (1, 1, None));
    let error = rows[0].last_error.clone().unwrap();
    assert!(error.contains("535") && !error.contains("equivocada"), "{error}");

    // The right password: not before the retry is due, then once.
    let right = transport(&server.url(), SMTP_PASSWORD, Some(&server.ca()));
    assert_eq!(pass(&app, &right).await, 0, "the retry waits for its back-off");
    app.advance(2);
    assert_eq!(pass(&app, &right).await, 1);
    app.advance(3600);
    assert_eq!(pass(&app, &right).await, 0);
    assert_eq!(received_once(&server).len(), 1);
    server.received().iter().for_each(over_tls_as_our_user);
    let rows = outbox(&app).await;
    assert_eq!((rows[0].attempts, rows[0].sent_at.is_some(), rows[0].last_error.as_deref()), (2, true, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_keeps_the_message_and_gets_no_password() {
    let (app, _) = queued("smtp-untrusted", 1).await;
    let server = SmtpServer::start(&app.dir.join("mail"), true);
    let other_ca = SmtpServer::make_ca(&app.dir.join("other-ca"));
    // Without --smtp-ca (the system's CAs only), and with a CA that did not sign it.
    for (i, ca) in [None, Some(other_ca.as_path())].into_iter().enumerate() {
        assert_eq!(pass(&app, &transport(&server.url(), SMTP_PASSWORD, ca)).await, 1);
        let rows = outbox(&app).await;
        assert_eq!((rows[0].attempts, rows[0].sent_at), (i as i64 + 1, None));
        let error = rows[0].last_error.clone().unwrap();
        assert!(error.contains("invalid peer certificate: UnknownIssuer"), "{error}");
        assert_eq!(error.matches("Connection error").count(), 1, "said once: {error}");
        assert!(server.logins().is_empty(), "no password reaches a server we do not trust");
        assert!(server.received().is_empty());
        app.advance(600);
    }
    assert_eq!(pass(&app, &transport(&server.url(), SMTP_PASSWORD, Some(&server.ca()))).await, 1);
    assert_eq!(received_once(&server).len(), 1);
    assert_eq!(app.rt.store.outbox_backlog().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_refused() {
    let (app, _) = queued("smtp-other-name", 1).await;
    let server = SmtpServer::start_named(&app.dir.join("mail"), true, "localhost");
    let by_address = format!("smtps://{SMTP_USER}@127.0.0.1:{}", server.port);
    assert_eq!(pass(&app, &transport(&by_address, SMTP_PASSWORD, Some(&server.ca()))).await, 1);
    let error = outbox(&app).await[0].last_error.clone().unwrap();
    assert!(error.contains("not valid for name \"127.0.0.1\""), "{error}");
    assert_eq!(error.matches("Connection error").count(), 1, "said once: {error}");
    assert!(server.logins().is_empty() && server.received().is_empty());

    app.advance(600);
    let by_name = format!("smtps://{SMTP_USER}@localhost:{}", server.port);
    assert_eq!(pass(&app, &transport(&by_name, SMTP_PASSWORD, Some(&server.ca()))).await, 1);
    assert_eq!(received_once(&server).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_starttls_is_not_skipped_when_the_server_lacks_it() {
    let (app, _) = queued("smtp-no-starttls", 1).await;
    let sink = SmtpSink::start(&app.dir);
    let url = format!("smtp://{SMTP_USER}@127.0.0.1:{}?tls=required", sink.port);
    assert_eq!(pass(&app, &transport(&url, SMTP_PASSWORD, None)).await, 1);
    let rows = outbox(&app).await;
    assert!(rows[0].last_error.as_deref().unwrap().contains("STARTTLS"), "{:?}", rows[0].last_error);
    assert_eq!(rows[0].sent_at, None);
    assert!(sink.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_down_for_ten_minutes_loses_nothing_and_sends_nothing_twice() {
    let (app, ana) = queued("smtp-outage", 3).await;
    let dir = app.dir.join("mail");
    let mut server = SmtpServer::start(&dir, false);
    let (port, url, ca) = (server.port, server.url(), server.ca());
    let t = transport(&url, SMTP_PASSWORD, Some(&ca));
    server.stop();

    // Ten minutes down, a pass every ten seconds; two more cases start meanwhile.
    let mut tried = 0;
    for step in 0..60 {
        if step == 30 {
            start(&app, &ana, 2).await;
        }
        tried += pass(&app, &t).await;
        app.advance(10);
    }
    let rows = outbox(&app).await;
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|m| m.sent_at.is_none() && m.attempts >= 2), "{rows:?}");
    assert!(rows.iter().all(|m| m.last_error.as_deref().is_some_and(|e| e.contains("refused"))), "{rows:?}");
    assert!(tried < 5 * 20, "retries back off: {tried} attempts");

    // Back up on the same port: every message goes once, at its next retry (at most ten
    // minutes after the last).
    let server = SmtpServer::start_on(&dir, false, port);
    let mut steps = 0;
    while app.rt.store.outbox_backlog().await.unwrap() > 0 {
        assert!(steps < 62, "not sent within ten minutes of the server's return");
        pass(&app, &t).await;
        app.advance(10);
        steps += 1;
    }
    for _ in 0..10 {
        assert_eq!(pass(&app, &t).await, 0);
        app.advance(600);
    }
    assert_eq!(received_once(&server).len(), 5);
    server.received().iter().for_each(over_tls_as_our_user);
}

const C45: &str = "/api/processes/conocer.c45-correos/instances";

/// `tramite serve` with a wrong password in `--smtp-password-file`: one error line without the
/// password, the message kept; served again with the right password (from the environment),
/// the message goes once, over STARTTLS, as our user.
#[test]
fn serve_logs_a_refused_password_and_sends_once_it_is_right() {
    let dir = scratch("smtp-serve");
    let mail = SmtpServer::start(&dir.join("mail"), false);
    let url = database(&Db::Sqlite, &dir).unwrap();
    let ana = add_user(&url, "ana", &["operador"], Some("op@example.org"), false);
    let password_file = dir.join("smtp-password");
    std::fs::write(&password_file, "equivocada\n").unwrap();
    let processes = repo().join("processes");
    let ca = mail.ca().display().to_string();
    let args = |extra: &[&str]| -> Vec<String> {
        ["--no-watch", "--smtp-ca", &ca].iter().chain(extra).map(|s| s.to_string()).collect()
    };

    let mut server = Server::start_with(
        &url,
        &dir,
        Some(&mail.url()),
        &processes,
        "info",
        &args(&["--smtp-password-file", &password_file.display().to_string()]),
        &[],
    );
    let (status, inst) = Api::new(&server.base, &ana).post(C45, correo(&recent()));
    assert_eq!(status, 201, "{inst}");
    let id = inst["id"].as_str().unwrap().to_string();
    let line = eventually(20, || server.log().lines().find(|l| l.contains("e-mail not sent")).map(str::to_string));
    assert!(line.contains("ERROR") && line.contains("535") && line.contains("recipient=\"op@example.org\""), "{line}");
    let log = server.log();
    assert!(!log.contains("equivocada") && !log.contains(SMTP_PASSWORD), "{log}");
    assert!(log.contains(&format!("smtp://{SMTP_USER}@127.0.0.1:{}?tls=required", mail.port)), "{log}");
    server.kill();
    assert!(mail.received().is_empty());

    let env = [("TRAMITE_SMTP_PASSWORD".to_string(), SMTP_PASSWORD.to_string())];
    let server = Server::start_with(&url, &dir, Some(&mail.url()), &processes, "info", &args(&[]), &env);
    let api = Api::new(&server.base, &ana);
    let messages = eventually(30, || {
        let (_, m) = api.get(&format!("/api/instances/{id}/messages"));
        let all = m["messages"].as_array().cloned().unwrap_or_default();
        (!all.is_empty() && all.iter().all(|m| !m["sent_at"].is_null())).then_some(all)
    });
    assert!(messages.iter().all(|m| m["attempts"].as_i64().unwrap() >= 2), "{messages:?}");
    assert_eq!(received_once(&mail).len(), messages.len());
    mail.received().iter().for_each(|m| {
        assert_eq!(m["user"], SMTP_USER, "{m}");
        assert!(m["tls"].is_string(), "{m}");
    });
    assert!(!server.log().contains(SMTP_PASSWORD));
}
