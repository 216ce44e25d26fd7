//! Nothing lost, nothing taken twice: a second poll, a restart, a node dying between the commit
//! and the mark, the server down for ten minutes, a renumbered folder, two pollers at once, a
//! wrong password or an untrusted certificate.

use std::collections::BTreeSet;

use serde_json::{Map, json};
use tramite::mail::inbound::{ImapError, InboundError, Pass, config, message as mail_message, poll};

use super::common::Db;
use super::dovecot::{crlf, message};
use super::{PASSWORD_ENV, app, cases_of, mailbox, node};

pub(crate) async fn nothing_is_taken_twice(db: Db) {
    let (app, imap) = app(&db, "buzon-una-vez").await;
    let raws: Vec<String> =
        ["Uno", "Dos", "Tres"].iter().map(|s| message("ana@example.org", s, &format!("Mensaje {s}."))).collect();
    for r in &raws {
        imap.deliver(r);
    }
    // A node started the first message's case and died before recording it.
    let first = mail_message::read(crlf(&raws[0]).as_bytes()).unwrap();
    let data: Map<_, _> =
        json!({ "correo": "ana@example.org", "texto": "Mensaje Uno.", "fecha": "2026-03-02T08:30:00-06:00" })
            .as_object()
            .unwrap()
            .clone();
    app.rt.start_outside("prueba.buzon", data, "correo", Some(&first.key)).await.unwrap();

    let inbox = mailbox(&imap, "prueba.buzon", "imaps", "");
    assert_eq!(poll(&app.rt, &inbox).await.unwrap(), Pass { started: 2, found: 1, ..Pass::default() });
    assert_eq!(cases_of(&app, "prueba.buzon").await.len(), 3);
    assert!(imap.seen("").values().all(|s| *s));
    assert_eq!(poll(&app.rt, &inbox).await.unwrap(), Pass::default(), "a second poll takes nothing");
    // A restart: another runtime over the same database.
    let restarted = node(&app, None).await;
    assert_eq!(poll(&restarted, &inbox).await.unwrap(), Pass::default(), "nor does a restart");

    // A case committed and recorded whose message could not be marked (the folder it is moved
    // to is missing): the message stays for the next pass to mark, and starts nothing more.
    imap.deliver(&message("ana@example.org", "Cuatro", "Mensaje Cuatro."));
    let moving = mailbox(&imap, "prueba.buzon", "imaps", "  move_to: Procesados\n");
    let e = poll(&app.rt, &moving).await.unwrap_err();
    assert!(matches!(&e, InboundError::Imap(ImapError::Folder(f, _)) if f == "Procesados"), "{e}");
    assert_eq!(cases_of(&app, "prueba.buzon").await.len(), 4);
    assert!(!imap.seen("")["Cuatro"]);
    let rows = app.rt.store.mailbox_messages("contacto").await.unwrap();
    let cuatro = rows.iter().find(|r| r.message_id.as_deref() == Some("cuatro@example.org")).unwrap();
    assert!(cuatro.instance_id.is_some() && !cuatro.marked, "{cuatro:?}");
    imap.create_folder("Procesados");
    assert_eq!(poll(&app.rt, &moving).await.unwrap(), Pass { marked_late: 1, ..Pass::default() });
    assert!(imap.seen("Procesados").contains_key("Cuatro"), "moved: {:?}", imap.seen("Procesados"));
    assert!(!imap.seen("").contains_key("Cuatro"));
    assert_eq!(cases_of(&app, "prueba.buzon").await.len(), 4);
}

pub(crate) async fn the_server_down_ten_minutes_loses_nothing(db: Db) {
    let (app, mut imap) = app(&db, "buzon-caido").await;
    imap.deliver(&message("ana@example.org", "Antes", "Llegó antes."));
    let inbox = mailbox(&imap, "prueba.buzon", "imaps", "");
    imap.stop();
    for _ in 0..10 {
        let e = poll(&app.rt, &inbox).await.unwrap_err();
        assert!(matches!(e, InboundError::Imap(ImapError::Connect(..))), "{e}");
        app.advance(60);
    }
    // Mail keeps arriving meanwhile.
    imap.deliver(&message("luis@example.org", "Durante", "Llegó con el servidor caído."));
    imap.restart();
    assert_eq!(poll(&app.rt, &inbox).await.unwrap(), Pass { started: 2, ..Pass::default() });
    assert_eq!(poll(&app.rt, &inbox).await.unwrap(), Pass::default());
    assert_eq!(cases_of(&app, "prueba.buzon").await.len(), 2);
    assert!(imap.seen("").values().all(|s| *s));
    let metrics = app.rt.metrics.render(0);
    assert!(metrics.contains("tramite_mailbox_poll_failures_total 10"), "{metrics}");
}

pub(crate) async fn a_renumbered_folder_takes_nothing_twice(db: Db) {
    let (app, mut imap) = app(&db, "buzon-renumerado").await;
    imap.deliver(&message("ana@example.org", "Uno", "Primero."));
    imap.deliver(&message("ana@example.org", "Dos", "Segundo."));
    let inbox = mailbox(&imap, "prueba.buzon", "imaps", "");
    assert_eq!(poll(&app.rt, &inbox).await.unwrap().started, 2);
    imap.deliver(&message("ana@example.org", "Tres", "Tercero."));
    let before = app.rt.store.mailbox_messages("contacto").await.unwrap()[0].uidvalidity;
    // The server is rebuilt: a new UIDVALIDITY, the messages numbered from 50.
    imap.renumber(before as u32 + 1_000, 50);
    assert_eq!(poll(&app.rt, &inbox).await.unwrap(), Pass { started: 1, found: 2, ..Pass::default() });
    assert_eq!(cases_of(&app, "prueba.buzon").await.len(), 3);
    let rows = app.rt.store.mailbox_messages("contacto").await.unwrap();
    let renumbered: Vec<_> = rows.iter().filter(|r| r.uidvalidity == before + 1_000).collect();
    assert_eq!(renumbered.len(), 3);
    assert!(renumbered.iter().all(|r| r.uid >= 50 && r.marked), "{renumbered:?}");
    assert_eq!(poll(&app.rt, &inbox).await.unwrap(), Pass::default());
}

pub(crate) async fn two_pollers_start_one_case_per_message(db: Db) {
    let (app, imap) = app(&db, "buzon-dos-nodos").await;
    let other = node(&app, None).await;
    let inbox = mailbox(&imap, "prueba.buzon", "imaps", "");
    let mut started = 0;
    for round in 0..3 {
        for i in 0..4 {
            imap.deliver(&message("ana@example.org", &format!("Ronda {round} mensaje {i}"), "Hola."));
        }
        let (a, b) = tokio::join!(poll(&app.rt, &inbox), poll(&other, &inbox));
        let (a, b) = (a.unwrap(), b.unwrap());
        started += a.started + b.started;
    }
    let cases = cases_of(&app, "prueba.buzon").await;
    assert_eq!((started, cases.len()), (12, 12), "one case per message");
    let subjects: BTreeSet<_> = cases.iter().map(|c| c.data["asunto"].as_str().unwrap().to_string()).collect();
    assert_eq!(subjects.len(), 12);
    assert!(imap.seen("").values().all(|s| *s));
    let rows = app.rt.store.mailbox_messages("contacto").await.unwrap();
    assert_eq!(rows.len(), 12);
    let ids: BTreeSet<_> = rows.iter().map(|r| r.instance_id.clone().unwrap()).collect();
    assert_eq!(ids.len(), 12);
}

pub(crate) async fn starttls_works_and_a_wrong_password_or_certificate_loses_nothing(db: Db) {
    let (app, imap) = app(&db, "buzon-tls").await;
    imap.deliver(&message("ana@example.org", "Uno", "Por STARTTLS."));
    let starttls = mailbox(&imap, "prueba.buzon", "imap", "");
    assert_eq!(poll(&app.rt, &starttls).await.unwrap().started, 1);

    imap.deliver(&message("ana@example.org", "Dos", "Tras una clave equivocada."));
    let wrong = starttls.clone().with_password("no-es-la-clave");
    let e = poll(&app.rt, &wrong).await.unwrap_err();
    assert!(matches!(e, InboundError::Imap(ImapError::Login(_))), "{e}");
    assert!(!e.to_string().contains("no-es-la-clave"), "{e}");
    // Without `ca_file` the server's own certificate is not trusted: nothing is read.
    let yaml = format!(
        "- name: contacto\n  process: prueba.buzon\n  url: imaps://127.0.0.1:{}\n  user: buzon\n  password_env: {PASSWORD_ENV}\n",
        imap.imaps_port
    );
    match config::parse(&yaml, &imap.dir, |_| Some("x".into())) {
        Ok(mut untrusted) => {
            let e = poll(&app.rt, &untrusted.remove(0)).await.unwrap_err();
            assert!(matches!(e, InboundError::Imap(ImapError::Tls(..))), "{e}");
        }
        Err(e) => assert!(e.contains("no certificate authority"), "{e}"),
    }
    assert!(!imap.seen("")["Dos"]);
    assert_eq!(app.rt.store.mailbox_messages("contacto").await.unwrap().len(), 1);
    let imaps = mailbox(&imap, "prueba.buzon", "imaps", "");
    assert_eq!(poll(&app.rt, &imaps).await.unwrap(), Pass { started: 1, ..Pass::default() });
    assert!(imap.seen("")["Dos"]);
}
