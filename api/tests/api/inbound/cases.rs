//! What a message becomes: its case, its fields, its attachment; and what a refused message
//! does not become.

use serde_json::json;
use tramite::mail::inbound::{Pass, poll};

use super::common::{Db, repo};
use super::dovecot::{Dovecot, message};
use super::in_process::App;
use super::{app, cases_of, mailbox, node};

/// A message with text and two attachments, the first a small PDF.
fn with_attachments(subject: &str) -> String {
    format!(
        "Message-ID: <acta@example.org>\nDate: Mon, 2 Mar 2026 08:30:00 -0600\n\
         From: =?UTF-8?Q?Juana_P=C3=A9rez?= <juana@example.org>\nTo: contacto@example.org\nSubject: {subject}\n\
         MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"limite\"\n\n--limite\n\
         Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n¿Cómo me certifico?\n\
         --limite\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"acta.pdf\"\n\
         Content-Transfer-Encoding: base64\n\nJVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDw+PgplbmRvYmoKdHJhaWxlcgo8PD4+CiUlRU9GCg==\n\
         --limite\nContent-Type: text/plain\nContent-Disposition: attachment; filename=\"otro.txt\"\n\nsegundo\n--limite--\n"
    )
}

pub(crate) async fn a_message_starts_one_case_with_its_parts(db: Db) {
    let (app, imap) = app(&db, "buzon-partes").await;
    imap.deliver(&with_attachments("Solicitud de certificado de competencia"));
    // HTML only, no display name, a long text, dated after it arrived.
    let long = "Quiero saber cómo obtener un certificado. ".repeat(5);
    imap.deliver(&format!(
        "Message-ID: <html@example.org>\nDate: Tue, 1 Jun 2027 10:00:00 +0000\nFrom: pedro@example.org\nSubject: Informes\n\
         MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n<html><body><p>{long}</p></body></html>\n"
    ));
    let inbox = mailbox(&imap, "prueba.buzon", "imaps", "");
    let pass = poll(&app.rt, &inbox).await.unwrap();
    assert_eq!(pass, Pass { started: 2, ..Pass::default() });

    let cases = cases_of(&app, "prueba.buzon").await;
    assert_eq!(cases.len(), 2);
    let juana = cases.iter().find(|c| c.data["correo"] == "juana@example.org").unwrap();
    let d = &juana.data;
    assert_eq!(d["nombre"], "Juana Pérez");
    assert_eq!(d["asunto"], "Solicitud de certif…", "cut to the field's 20 characters");
    assert_eq!(d["texto"], "¿Cómo me certifico?");
    assert_eq!(d["fecha"], "2026-03-02T08:30:00-06:00", "the Date header, in the calendar's zone");
    let pdf = b"%PDF-1.4\n%\xc3\xa4\xc3\xbc\xc3\xb6\xc3\x9f\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
    assert_eq!(d["anexo"]["name"], "acta.pdf");
    assert_eq!(d["anexo"]["size"], pdf.len());
    assert_eq!(d["anexo"]["type"], "application/pdf");
    let sha = d["anexo"]["sha256"].as_str().unwrap();
    let stored = app.rt.files().unwrap().get(sha).await.unwrap();
    assert_eq!(stored.as_ref(), pdf.as_slice(), "the first attachment is in the blob store");

    let pedro = cases.iter().find(|c| c.data["correo"] == "pedro@example.org").unwrap();
    let d = &pedro.data;
    assert_eq!(d["nombre"], "pedro@example.org", "no display name: the address");
    let text = d["texto"].as_str().unwrap();
    assert!(text.starts_with("Quiero saber cómo") && !text.contains('<'), "{text}");
    assert_eq!(text.chars().count(), 60, "cut to the field's 60 characters: {text}");
    assert!(text.ends_with('…'), "{text}");
    assert_eq!(d["fecha"], "2026-03-02T10:00:00-06:00", "dated after it arrived: the arrival");
    assert!(d.get("anexo").is_none());

    // The history says the mailbox started it; both messages are marked read, and recorded.
    let history = app.rt.store.history(&juana.id).await.unwrap();
    assert_eq!(history[0].by.as_deref(), Some("correo"));
    assert!(imap.seen("").values().all(|s| *s), "{:?}", imap.seen(""));
    let rows = app.rt.store.mailbox_messages("contacto").await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.marked && r.instance_id.is_some() && r.attempts == 0), "{rows:?}");
    let metrics = app.rt.metrics.render(0);
    assert!(metrics.contains("tramite_mailbox_cases_total 2"), "{metrics}");
}

pub(crate) async fn the_shipped_c45_numbers_each_message(db: Db) {
    let mut files = vec![(
        "processes/c45-correos.yaml".to_string(),
        std::fs::read_to_string(repo().join("processes/conocer/c45-correos.yaml")).unwrap(),
    )];
    for e in std::fs::read_dir(repo().join("forms/conocer")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        files.push((format!("forms/conocer/{name}"), std::fs::read_to_string(e.path()).unwrap()));
    }
    // The messages the process sends, beside it as in the shipped tree.
    for e in std::fs::read_dir(repo().join("processes/conocer/messages")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        files.push((format!("processes/messages/{name}"), std::fs::read_to_string(e.path()).unwrap()));
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let app = App::new(&db, "buzon-c45", &refs).await;
    let imap = Dovecot::start(&app.dir);
    imap.deliver(&message("Juana Pérez <juana@example.org>", "Certificación", "¿Cómo me certifico?"));
    imap.deliver(&message("pedro@example.org", "Estándares", "¿Dónde veo los estándares?"));
    let inbox = mailbox(&imap, "conocer.c45-correos", "imaps", "  poll_seconds: 30\n");
    assert_eq!(poll(&app.rt, &inbox).await.unwrap().started, 2);

    let cases = cases_of(&app, "conocer.c45-correos").await;
    let mut folios: Vec<_> = cases.iter().map(|c| c.folio.clone().unwrap()).collect();
    folios.sort();
    assert_eq!(folios, ["COR-2026-00001", "COR-2026-00002"]);
    let juana = cases.iter().find(|c| c.data["correo"] == "juana@example.org").unwrap();
    let expected = json!({
        "correo": "juana@example.org", "nombre_contacto": "Juana Pérez", "asunto": "Certificación",
        "pregunta": "¿Cómo me certifico?", "fecha_recepcion": "2026-03-02T08:30:00-06:00",
    });
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&juana.data[k], v, "{k}: {:?}", juana.data);
    }
    // Its reply SLA runs from when the e-mail was received.
    assert_eq!(juana.slas["respuesta"].clock.started.to_string(), "2026-03-02T14:30:00Z");
    let pedro = cases.iter().find(|c| c.data["correo"] == "pedro@example.org").unwrap();
    assert_eq!(pedro.data["nombre_contacto"], "pedro@example.org");
}

pub(crate) async fn a_refused_message_stays_unread_and_is_tried_later(db: Db) {
    let (app, imap) = app(&db, "buzon-rechazo").await;
    // No text: the form's `texto` is required.
    imap.deliver(&message("ana@example.org", "Sin texto", ""));
    imap.deliver(&message("luis@example.org", "Con texto", "Hola."));
    let inbox = mailbox(&imap, "prueba.buzon", "imaps", "");
    let pass = poll(&app.rt, &inbox).await.unwrap();
    assert_eq!(pass, Pass { started: 1, refused: 1, ..Pass::default() }, "the next message is taken all the same");
    let seen = imap.seen("");
    assert_eq!((seen["Sin texto"], seen["Con texto"]), (false, true));
    let rows = app.rt.store.mailbox_messages("contacto").await.unwrap();
    let refused = rows.iter().find(|r| r.instance_id.is_none()).unwrap();
    assert_eq!(refused.attempts, 1);
    assert_eq!(refused.message_id.as_deref(), Some("sin-texto@example.org"));
    assert!(refused.error.as_deref().unwrap().starts_with("texto: "), "{refused:?}");
    assert_eq!(refused.retry_at, Some(app.rt.now().checked_add(jiff::SignedDuration::from_mins(1)).unwrap()));

    // Not tried again before its time: no tight loop.
    assert_eq!(poll(&app.rt, &inbox).await.unwrap(), Pass::default());
    app.advance(61);
    assert_eq!(poll(&app.rt, &inbox).await.unwrap(), Pass { refused: 1, ..Pass::default() });
    let rows = app.rt.store.mailbox_messages("contacto").await.unwrap();
    assert_eq!(rows.iter().find(|r| r.instance_id.is_none()).unwrap().attempts, 2);
    assert!(app.rt.metrics.render(0).contains("tramite_mailbox_refusals_total 2"));
    assert!(!imap.seen("")["Sin texto"], "still unread");

    // The process owner makes the text optional: the message is taken at its next try.
    let optional = super::FORM.replace("label: Texto, required: true,", "label: Texto,");
    std::fs::write(app.dir.join("tree/forms/correo-prueba.yaml"), optional).unwrap();
    let d = app.rt.deploy_paths(&[app.dir.join("tree/processes")]).await.unwrap();
    assert!(d.not_deployed.is_empty());
    app.advance(121);
    assert_eq!(poll(&app.rt, &inbox).await.unwrap(), Pass { started: 1, ..Pass::default() });
    assert!(imap.seen("")["Sin texto"]);
    assert_eq!(cases_of(&app, "prueba.buzon").await.len(), 2);
    let rows = app.rt.store.mailbox_messages("contacto").await.unwrap();
    assert!(rows.iter().all(|r| r.instance_id.is_some() && r.marked && r.error.is_none()), "{rows:?}");
}

pub(crate) async fn oversized_messages_are_refused_unread(db: Db) {
    let (app, imap) = app(&db, "buzon-grandes").await;
    // A node whose files may have 1,000 bytes: messages of up to 1 MiB more are read.
    let small = node(&app, Some(1_000)).await;
    let attachment = "QUJD".repeat(1_000); // 3,000 bytes once decoded
    imap.deliver(&format!(
        "Message-ID: <anexo@example.org>\nFrom: ana@example.org\nSubject: Anexo grande\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nVer anexo.\n--b\n\
         Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"datos.bin\"\n\
         Content-Transfer-Encoding: base64\n\n{attachment}\n--b--\n"
    ));
    imap.deliver(&message("luis@example.org", "Mensaje enorme", &"x".repeat(1_100_000)));
    imap.deliver(&message("eva@example.org", "Normal", "Hola."));
    let inbox = mailbox(&imap, "prueba.buzon", "imaps", "");
    assert_eq!(poll(&small, &inbox).await.unwrap(), Pass { started: 1, refused: 2, ..Pass::default() });
    let seen = imap.seen("");
    assert_eq!((seen["Anexo grande"], seen["Mensaje enorme"], seen["Normal"]), (false, false, true));
    let rows = app.rt.store.mailbox_messages("contacto").await.unwrap();
    let error = |id: &str| rows.iter().find(|r| r.message_id.as_deref() == Some(id)).unwrap().error.clone().unwrap();
    assert!(error("anexo@example.org").contains("attachment is larger"), "{rows:?}");
    assert!(error("mensaje-enorme@example.org").contains("more than the 1049576"), "{rows:?}");
    let sha = tramite_engine::files::sha256_hex("ABC".repeat(1_000).as_bytes());
    assert!(!app.rt.files().unwrap().exists(&sha).await.unwrap(), "the large attachment is not kept");

    // Someone answers the large attachment by hand and takes it out of the folder: it is no
    // longer tried; the other is tried again.
    let file = std::fs::read_dir(imap.maildir.join("cur"))
        .unwrap()
        .flatten()
        .find(|e| std::fs::read_to_string(e.path()).unwrap().contains("Subject: Anexo grande"))
        .unwrap();
    std::fs::remove_file(file.path()).unwrap();
    app.advance(61);
    assert_eq!(poll(&small, &inbox).await.unwrap(), Pass { refused: 1, ..Pass::default() });
    let rows = app.rt.store.mailbox_messages("contacto").await.unwrap();
    let anexo = rows.iter().find(|r| r.message_id.as_deref() == Some("anexo@example.org")).unwrap();
    assert_eq!((anexo.error.as_deref(), anexo.retry_at, anexo.attempts), (Some("no longer in the folder"), None, 1));
    let enorme = rows.iter().find(|r| r.message_id.as_deref() == Some("mensaje-enorme@example.org")).unwrap();
    assert_eq!(enorme.attempts, 2);
    app.advance(600);
    assert_eq!(
        poll(&small, &inbox).await.unwrap(),
        Pass { refused: 1, ..Pass::default() },
        "the removed one is not tried"
    );
}
