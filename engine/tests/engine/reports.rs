//! Report tasks (`report:` on a task step): the host attaches the computed report once, to an
//! open report task only, and the case keeps it with its other files.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use tramite_engine::calendar::{self, Calendar};
use tramite_engine::definition::{self, Catalog, SourceFile};
use tramite_engine::machine::{self, Actor, Command, CommandError, Env, Event, Instance};

const PROCESS: &str = r#"
process: prueba.informe
title: Informe mensual
calendar: mx
roles:
  analista: Analista
steps:
  revisar:
    task: Revisar el informe
    role: analista
    report: prueba.informe
    next: archivar
  archivar:
    task: Archivar
    role: analista
    next: end
"#;

fn catalog() -> Catalog {
    let calendars: BTreeMap<String, Calendar> = [("mx".to_string(), calendar::builtin("mx").unwrap())].into();
    let (cat, diags) = definition::load(&[SourceFile { path: "informe.yaml".into(), text: PROCESS.into() }], calendars);
    assert!(diags.is_empty(), "{diags:#?}");
    cat
}

fn env(cat: &Catalog) -> Env<'_> {
    let process = &cat.processes["prueba.informe"];
    Env { process, calendar: cat.calendar_of(process).unwrap(), forms: &cat.forms }
}

fn t0() -> Timestamp {
    "2026-03-02T16:00:00Z".parse().unwrap()
}

fn file() -> Value {
    json!({ "name": "informe.xlsx", "sha256": "a".repeat(64), "size": 5120,
            "type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" })
}

fn task_at(inst: &Instance, step: &str) -> u64 {
    inst.tasks().find(|(t, _)| t.step == step).map(|(t, _)| t.id).unwrap()
}

#[test]
fn the_host_attaches_a_report_once_to_an_open_report_task() {
    let cat = catalog();
    let env = env(&cat);
    let (inst, _) = machine::start(env, "i1", Map::new(), None, t0()).unwrap();
    let task = task_at(&inst, "revisar");
    let attach = |inst: &Instance, actor: Option<&Actor>, task: u64, file: Value| {
        machine::execute(env, inst, actor, Command::AttachReport { task, file }, t0())
    };

    // No user attaches a computed report, not even an admin.
    let admin = Actor::admin("root");
    assert_eq!(attach(&inst, Some(&admin), task, file()).unwrap_err(), CommandError::AdminOnly);
    // A file reference that is not one is refused on `report`.
    let bad = attach(&inst, None, task, json!({ "name": "x" })).unwrap_err();
    assert!(matches!(&bad, CommandError::InvalidData(e) if e[0].field == "report"), "{bad:?}");

    let (with, records) = attach(&inst, None, task, file()).unwrap();
    assert_eq!(records.len(), 1);
    assert!(matches!(&records[0].event, Event::ReportAttached { token, .. } if *token == task));
    assert_eq!(records[0].by, None);
    assert_eq!(with.report_of(task).unwrap()["sha256"], file()["sha256"]);
    assert_eq!(inst.report_of(task), None);
    // Replaying the events gives the same state.
    let (_, mut log) = machine::start(env, "i1", Map::new(), None, t0()).unwrap();
    log.extend(records);
    assert_eq!(Instance::replay("i1", &log), with);

    // Once.
    assert_eq!(attach(&with, None, task, file()).unwrap_err(), CommandError::ReportAttached);

    // Not to a task without `report:`, nor to a closed one.
    let done = machine::execute(env, &with, None, Command::Complete { task, data: Map::new() }, t0()).unwrap().0;
    let next = task_at(&done, "archivar");
    assert!(matches!(attach(&done, None, next, file()).unwrap_err(), CommandError::WrongKind { .. }));
    assert_eq!(attach(&done, None, task, file()).unwrap_err(), CommandError::UnknownTask(task));
}
