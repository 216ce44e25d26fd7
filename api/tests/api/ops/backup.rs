//! `tramite backup` while the server writes.

use std::sync::Arc;

use serde_json::json;
use tramite::store::Store;

use super::common::{self, Db, Server, database, scratch};
use super::{process, tree};

/// A backup taken while the server writes is a consistent database: opened as the store, every
/// instance in it replays from its events to the state stored beside them, and every instance
/// started before the backup began is in it. The target is never overwritten.
#[test]
fn a_backup_taken_while_serving_replays_to_the_same_states() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Mutex, mpsc};

    let dir = scratch("backup");
    let tree = tree(&dir, &[("processes/uno.yaml", &process("prueba.uno", "Uno", "mx", None))]);
    let db = database(&Db::Sqlite, &dir).unwrap();
    let token = common::add_user(&db, "ana", &["operador"], None, false);
    let server = Server::start_tree(&db, &dir, None, &tree.join("processes"), "warn");
    let api = common::Api::new(&server.base, &token);
    let ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let writer = {
        let (ids, stop) = (ids.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let (status, inst) = api.post("/api/processes/prueba.uno/instances", json!({ "data": {} }));
                assert_eq!(status, 201, "{inst}");
                let id = inst["id"].as_str().unwrap().to_string();
                let task = inst["tasks"][0]["id"].as_str().unwrap().to_string();
                ids.lock().unwrap().push(id);
                let (status, body) = api.post(&format!("/api/tasks/{task}/complete"), json!({ "data": {} }));
                assert_eq!(status, 200, "{body}");
                let _ = started_tx.send(());
            }
        })
    };
    for _ in 0..20 {
        started_rx.recv().unwrap();
    }
    let before: Vec<String> = ids.lock().unwrap().clone();
    let target = dir.join("copia.db");
    let backup = || {
        std::process::Command::new(common::BIN).arg("backup").arg(&target).args(["--database", &db]).output().unwrap()
    };
    let out = backup();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Writing went on through the backup and after it.
    for _ in 0..10 {
        started_rx.recv().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let all: Vec<String> = ids.lock().unwrap().clone();

    let again = backup();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"), "{}", String::from_utf8_lossy(&again.stderr));

    let url = format!("sqlite://{}", target.display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = Store::open(&url).await.unwrap();
        let mut found = 0;
        for id in &all {
            let Some(stored) = store.instance(id).await.unwrap() else {
                assert!(!before.contains(id), "{id} was started before the backup and is not in it");
                continue;
            };
            let history = store.history(id).await.unwrap();
            assert!(!history.is_empty());
            let replayed = tramite_engine::machine::Instance::replay(id, &history);
            assert_eq!(replayed, stored.state, "{id}");
            found += 1;
        }
        assert!(found >= before.len(), "{found} of {} instances", before.len());
    });
}
