//! What `tramite check` says of a broken indicators file.

use std::process::Command;

use crate::common::{BIN, repo};

/// `tramite check` on an indicators file names each problem at file:line:column: an unknown
/// process, an unknown field, a percentage target on a count, a duration that starts at a
/// step's completion.
#[test]
fn check_reports_a_broken_indicators_file_at_its_place() {
    let dir = repo().join("target").join("indicators-check");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("processes")).unwrap();
    std::fs::create_dir_all(dir.join("forms")).unwrap();
    let write = |path: &str, text: &str| std::fs::write(dir.join(path), text).unwrap();
    write(
        "processes/registro.yaml",
        "process: prueba.registro\ntitle: Registro\ncalendar: mx\nroles:\n  operador: Operador\nstart:\n  form: prueba-registro\n  roles: [operador]\nsteps:\n  revisar:\n    task: Revisar\n    role: operador\n    next: fin\n  fin:\n    end: revisado\n",
    );
    write(
        "forms/registro.yaml",
        "form: prueba-registro\ntitle: Registro\nfields:\n  tema:\n    type: text\n    label: Tema\n  cantidad:\n    type: integer\n    label: Cantidad\n",
    );
    write(
        "processes/otro.indicators.yaml",
        "indicators: prueba.registros\nitems:\n  total:\n    title: Total\n    measure: count\n",
    );
    write(
        "processes/registro.indicators.yaml",
        "indicators: prueba.registro\nitems:\n  por_tema:\n    title: Por tema\n    measure: count\n    group: data.temas\n  total:\n    title: Total\n    measure: count\n    target: 95%\n  revision:\n    title: Revisión\n    measure: average\n    value: business days from revisar.completed to completed\n  cantidad:\n    title: Cantidad\n    measure: sum\n    value: data.cantidad\n",
    );
    let out = Command::new(BIN).arg("check").arg(dir.join("processes")).current_dir(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "processes/otro.indicators.yaml:1:13: error: unknown process `prueba.registros`",
        "processes/registro.indicators.yaml:6:12: error: unknown data field `data.temas`",
        "processes/registro.indicators.yaml:10:13: error: a percentage target is for a share (`ratio`, `sla`)",
        "processes/registro.indicators.yaml:14:12: error: a duration starts at `started` or at a `data.<date field>`",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    assert!(err.contains("help: did you mean `prueba.registro`?"), "{err}");
    assert!(err.contains("help: known: cantidad, tema"), "{err}");
    assert!(err.contains("4 error(s) in 2 file(s)"), "{err}");
}
