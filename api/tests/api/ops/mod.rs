//! Running the server: the file watch (a change deployed once, a broken file reported once,
//! only versions that load stored, stored versions loaded with their calendars); metrics,
//! health and readiness, logs.

use crate::common;
use crate::in_process;

mod backup;
mod nodes;
mod observe;
mod outbox;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{Db, repo};
use tramite::clock::ManualClock;
use tramite::mail::Templates;
use tramite::runtime::Runtime;
use tramite::store::Store;

/// A process on `calendar` whose start fills `form` (when given), titled `title`.
pub(crate) fn process(id: &str, title: &str, calendar: &str, form: Option<&str>) -> String {
    let start = match form {
        Some(f) => format!("start:\n  roles: [operador]\n  form: {f}\n"),
        None => "start:\n  roles: [operador]\n".to_string(),
    };
    format!(
        "process: {id}\ntitle: {title}\ncalendar: {calendar}\nroles:\n  operador: Operador\n{start}steps:\n  hacer:\n    task: Hacer\n    role: operador\n    next: end\n"
    )
}

/// A definition tree under `dir/tree` with the shipped calendars and `files` (path → text).
pub(crate) fn tree(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("processes")).unwrap();
    std::fs::create_dir_all(tree.join("calendars")).unwrap();
    for e in std::fs::read_dir(repo().join("calendars")).unwrap().flatten() {
        std::fs::copy(e.path(), tree.join("calendars").join(e.file_name())).unwrap();
    }
    for (path, text) in files {
        let p = tree.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    tree
}

/// A runtime over the database at `url`, on a manual clock, with nothing deployed yet.
pub(crate) async fn runtime(url: &str) -> Arc<Runtime> {
    let clock = Arc::new(ManualClock::new("2026-03-02T15:00:00Z".parse().unwrap()));
    let rt = Arc::new(Runtime::new(Store::open(url).await.unwrap(), Templates::load(None).unwrap(), clock));
    rt.start_writer();
    rt
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::observe::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::observe::$name(super::Db::Postgres).await })*
        }
    };
}

on_both!(metrics_follow_transitions_timers_and_slas, readiness_follows_the_store);

mod outbox_smtp_down {
    use super::Db;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::outbox::smtp_down_ten_minutes_loses_and_repeats_nothing(Db::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::outbox::smtp_down_ten_minutes_loses_and_repeats_nothing(Db::Postgres).await
    }
}

mod outbox_nodes {
    use super::Db;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::outbox::three_nodes_send_each_message_once(Db::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::outbox::three_nodes_send_each_message_once(Db::Postgres).await
    }
}
