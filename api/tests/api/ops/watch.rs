//! The file watch and what deploying stores: a change deployed once, a broken file reported
//! once, only versions that load stored, stored versions loaded with their calendars.

use super::common::{Db, Server, database, eventually, scratch};
use super::{process, runtime, tree};

/// The server's own reads of the tree are no change: a broken file is reported once, however
/// many deployments follow, and each change of a process becomes one version.
#[test]
fn the_watch_deploys_each_change_once_and_reports_a_broken_file_once() {
    let dir = scratch("watch");
    let uno = dir.join("tree/processes/uno.yaml");
    let tree = tree(&dir, &[("processes/uno.yaml", &process("prueba.uno", "Uno", "mx", None))]);
    let db = database(&Db::Sqlite, &dir).unwrap();
    let server = Server::start_watching(&db, &dir, &tree.join("processes"), "info");
    assert!(server.log().contains("deployed process=prueba.uno version=1"), "{}", server.log());

    let roto = tree.join("processes/roto.yaml");
    std::fs::write(&roto, "process: prueba.roto\ntitle: [\n").unwrap();
    eventually(30, || server.log().contains("process `prueba.roto` not deployed").then_some(()));
    std::fs::write(&uno, process("prueba.uno", "Uno, segunda", "mx", None)).unwrap();
    eventually(30, || server.log().contains("deployed process=prueba.uno version=2").then_some(()));
    std::fs::remove_file(&roto).unwrap();
    eventually(30, || server.log().contains("no longer refused").then_some(()));
    std::fs::write(&uno, process("prueba.uno", "Uno, tercera", "mx", None)).unwrap();
    eventually(30, || server.log().contains("deployed process=prueba.uno version=3").then_some(()));

    let log = server.log();
    assert_eq!(log.matches("process `prueba.roto` not deployed").count(), 1, "{log}");
    assert_eq!(log.matches("no longer refused").count(), 1, "{log}");
    for v in 1..=3 {
        assert_eq!(log.matches(&format!("deployed process=prueba.uno version={v}")).count(), 1, "{log}");
    }
    assert!(!log.contains("version=4"), "{log}");
}

/// A form file with problems still lends its form to the tree's catalog; a process that fills
/// it is held back (listed as not deployed), not stored as a version that would never load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_whose_form_does_not_load_is_not_stored() {
    let dir = scratch("form-broken");
    let form = "form: solicitud\ntitle: Solicitud\nfields:\n  monto:\n    type: integer\n    label: Monto\nrules:\n  - check: data.nada > 0\n    message: No.\n";
    let tree = tree(
        &dir,
        &[
            ("forms/solicitud.yaml", form),
            ("processes/uno.yaml", &process("prueba.uno", "Uno", "mx", Some("solicitud"))),
        ],
    );
    let rt = runtime(&database(&Db::Sqlite, &dir).unwrap()).await;
    for _ in 0..2 {
        let d = rt.deploy_paths(&[tree.join("processes")]).await.unwrap();
        assert!(d.deployed.is_empty(), "{:?}", d.deployed);
        let files: Vec<(&str, Option<i64>)> = d.not_deployed.iter().map(|n| (n.file.as_str(), n.version)).collect();
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(files.iter().all(|(_, v)| v.is_none()), "{files:?}");
        let held = d.not_deployed.iter().find(|n| n.file.ends_with("processes/uno.yaml")).unwrap();
        assert!(
            held.rendered.contains("solicitud.yaml`, a file this process uses, does not load"),
            "{}",
            held.rendered
        );
        assert!(rt.store.definitions().await.unwrap().is_empty());
    }
}

/// A version deployed with a calendar of the tree loads after a restart on a tree that no
/// longer defines that calendar: the calendar files are stored with the version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_versions_load_with_their_calendars() {
    let dir = scratch("calendars");
    let acme =
        "calendar: acme\ntitle: Acme\nextends: mx\nholidays:\n  - name: Nochebuena\n    month: 12\n    day: 24\n";
    let first = tree(
        &dir,
        &[("calendars/acme.yaml", acme), ("processes/uno.yaml", &process("prueba.uno", "Uno", "acme", None))],
    );
    let url = database(&Db::Sqlite, &dir).unwrap();
    let d = runtime(&url).await.deploy_paths(&[first.join("processes")]).await.unwrap();
    assert_eq!(d.deployed, vec![("prueba.uno".to_string(), 1)]);
    assert!(d.not_deployed.is_empty());

    std::fs::remove_dir_all(&first).unwrap();
    let second = tree(&dir, &[]);
    let rt = runtime(&url).await;
    let d = rt.deploy_paths(&[second.join("processes")]).await.unwrap();
    let refused: Vec<&str> = d.not_deployed.iter().map(|n| n.rendered.as_str()).collect();
    assert!(refused.is_empty(), "{refused:?}");
    let v1 = rt.deployed("prueba.uno", Some(1)).unwrap();
    assert_eq!(v1.calendar.name(), "acme");
    assert!(v1.calendar.holiday_on("2026-12-24".parse().unwrap()).is_some());
}
