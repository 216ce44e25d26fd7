//! Inbound e-mail against a real IMAP server (Dovecot, started per test): each message starts
//! one case with its parts in the start form, is marked only once its case is committed, and is
//! taken once whatever happens — a second poll, a restart, a node dying between the commit and
//! the mark, the server down for ten minutes, a renumbered folder, two pollers at once; a
//! message the start form refuses stays unread and is tried again later.

use crate::common;
use crate::dovecot;
use crate::in_process;

mod cases;
mod failures;
mod serve;

use std::sync::Arc;

use common::Db;
use dovecot::{Dovecot, PASSWORD};
use in_process::App;
use tramite::blobs::Blobs;
use tramite::mail::Templates;
use tramite::mail::inbound::{MailboxConfig, config};
use tramite::runtime::Runtime;
use tramite::store::Store;
use tramite_engine::machine::Instance;

pub(crate) const PROCESS: &str = "process: prueba.buzon
title: Correos de prueba
calendar: mx
roles:
  operador: Operador
start:
  form: correo-prueba
  roles: [operador]
  mailbox:
    from: correo
    name: nombre
    subject: asunto
    body: texto
    date: fecha
    attachment: anexo
steps:
  atender:
    task: Atender
    role: operador
    next: end
";

pub(crate) const FORM: &str = "form: correo-prueba
title: Correo de prueba
fields:
  correo: { type: email, label: Correo, required: true }
  nombre: { type: text, label: Nombre }
  asunto: { type: text, label: Asunto, max_length: 20 }
  texto: { type: long_text, label: Texto, required: true, max_length: 60 }
  fecha: { type: datetime, label: Fecha, required: true }
  anexo: { type: file, label: Anexo }
";

/// The variable the tests' mailbox configurations read the password from.
pub(crate) const PASSWORD_ENV: &str = "TRAMITE_TEST_IMAP_PASSWORD";

/// An app with the test process deployed, and a Dovecot of its own.
pub(crate) async fn app(db: &Db, name: &str) -> (App, Dovecot) {
    let app = App::new(db, name, &[("processes/buzon.yaml", PROCESS), ("forms/correo-prueba.yaml", FORM)]).await;
    let imap = Dovecot::start(&app.dir);
    (app, imap)
}

/// The mailbox of `imap` for `process` over `scheme` (`imaps`, or `imap` for STARTTLS), with
/// more YAML keys in `extra`, read as `serve --mailboxes` reads it.
pub(crate) fn mailbox(imap: &Dovecot, process: &str, scheme: &str, extra: &str) -> MailboxConfig {
    let yaml = imap.mailbox_yaml(process, scheme, PASSWORD_ENV, extra);
    let env = |v: &str| (v == PASSWORD_ENV).then(|| PASSWORD.to_string());
    config::parse(&yaml, &imap.dir, env).unwrap().remove(0)
}

/// Another node: a runtime of its own over the app's database, files and clock, its files at
/// most `max_file_size` bytes when given.
pub(crate) async fn node(app: &App, max_file_size: Option<u64>) -> Arc<Runtime> {
    let rt = Runtime::new(Store::open(&app.url).await.unwrap(), Templates::load(None).unwrap(), app.clock.clone());
    let rt = Arc::new(rt);
    let files = Blobs::local(app.dir.join("files")).unwrap();
    rt.set_files(match max_file_size {
        Some(max) => files.with_max_size(max),
        None => files,
    });
    rt.start_writer();
    rt.deploy_paths(&[app.dir.join("tree/processes")]).await.unwrap();
    rt
}

/// Every case of `process`, oldest first.
pub(crate) async fn cases_of(app: &App, process: &str) -> Vec<Instance> {
    let all = app.rt.store.instances_between(process, jiff::Timestamp::MIN, jiff::Timestamp::MAX, 1_000).await.unwrap();
    all.into_iter().map(|(_, i)| i).collect()
}

macro_rules! on_both {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$module::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$module::$name(super::Db::Postgres).await })*
        }
    };
}

on_both!(
    cases::a_message_starts_one_case_with_its_parts,
    cases::the_shipped_c45_numbers_each_message,
    cases::a_refused_message_stays_unread_and_is_tried_later,
    cases::oversized_messages_are_refused_unread,
    failures::nothing_is_taken_twice,
    failures::the_server_down_ten_minutes_loses_nothing,
    failures::a_renumbered_folder_takes_nothing_twice,
    failures::two_pollers_start_one_case_per_message,
    failures::starttls_works_and_a_wrong_password_or_certificate_loses_nothing,
);
