//! The command line as process owners use it.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tramite");

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn committed_schema_is_what_tramite_schema_prints() {
    let out = Command::new(BIN).arg("schema").output().unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(repo().join("tramite.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        committed.trim(),
        "run `tramite schema > tramite.schema.json`"
    );
}

#[test]
fn check_is_clean_on_the_shipped_tree_and_exits_1_with_locations_otherwise() {
    let out =
        Command::new(BIN).args(["check", "processes", "forms", "calendars"]).current_dir(repo()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));

    let dir = repo().join("target").join("cli-check");
    std::fs::create_dir_all(&dir).unwrap();
    let source = std::fs::read_to_string(repo().join("processes/conocer/c45-correos.yaml")).unwrap();
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, source.replace("role: responsable_canales", "role: responsable_canal")).unwrap();
    let out = Command::new(BIN).arg("check").arg(&broken).arg(repo().join("forms")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = source.lines().position(|l| l.contains("role: responsable_canales")).unwrap() + 1;
    assert!(err.contains(&format!("broken.yaml:{line}:11: error: unknown role `responsable_canal`")), "{err}");
    assert!(err.contains("help: did you mean `responsable_canales`?"), "{err}");
}

#[test]
fn calendar_add_gives_the_c45_deadline() {
    let out = Command::new(BIN)
        .args(["calendar", "add", "mx", "2026-03-13T16:00:00-06:00", "2 business days"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "2026-03-18T18:00:00-06:00");
}
