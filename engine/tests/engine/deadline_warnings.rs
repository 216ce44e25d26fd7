//! Warnings before a step's or a branch's deadline (`warn:` beside `due:`), like an SLA's: the
//! task's role is told at the warning instant unless `on_warning` says otherwise; nothing is
//! said for a task done before it; a warning can be written in Spanish units. Checked as a
//! process owner checks them, with a scenario on the mx calendar (16 March 2026 is a holiday).

use std::collections::BTreeMap;

use tramite_engine::calendar::{self, Calendar};
use tramite_engine::definition::{self, SourceFile};
use tramite_engine::scenario;

const PROCESS: &str = r#"
process: prueba.plazos
title: Plazos con aviso
calendar: mx
roles:
  operador: Operador
  jefe: Jefe
steps:
  responder:
    task: Responder
    role: operador
    due: 3 días hábiles
    warn: 1 día hábil before
    next: apoyos
  apoyos:
    parallel: Apoyos
    branches:
      - start: logistica
        due: 8 business days
        warn: after 5 business days
        on_warning: [notify: jefe]
      - start: material
        due: 8 business days
        warn: 50%
    next: end
  logistica:
    task: Logística
    role: operador
    next: join
  material:
    task: Material
    role: operador
    next: join
"#;

const SCENARIOS: &str = r#"
test: prueba.plazos
users:
  ana: [operador]
  jefa: [jefe]
scenarios:
  - name: Avisos antes de cada plazo
    start: { at: 2026-03-12T10:00:00-06:00, as: ana }
    steps:
      # Three business days from Thursday 12 March: 13, 17, 18 (16 is a holiday) → due 18 March
      # at the close; warned one business day before, at the close of the 17th.
      - expect: { due: { responder: 2026-03-18T18:00:00-06:00 }, emails: ["assigned -> ana"] }
      - advance_to: 2026-03-17T17:59:00-06:00
      - expect: { alerts: [] }
      - advance_to: 2026-03-17T18:00:00-06:00
      - expect: { alerts: ["due-warning:responder -> operador"], emails: ["due-warning -> ana"] }
      - complete: responder
        as: ana
      - expect: { active: [logistica, material], emails: ["assigned -> ana", "assigned -> ana"] }
      # Branches forked Tuesday 17 March 18:00, due 8 business days later (27 March at the
      # close): `logistica` warns the boss after 5 business days (24 March at the close),
      # `material` its own role at half the working time.
      - advance_to: 2026-03-24T18:00:00-06:00
      - expect:
          alerts: ["due-warning:responder -> operador", "due-warning:material -> operador", "due-warning:logistica -> jefe"]
          emails: ["due-warning -> ana", "due-warning -> jefa"]
      - complete: logistica
        as: ana
      - complete: material
        as: ana
      - advance_to: 2026-04-30T18:00:00-06:00
      - expect: { status: ended, emails: [] }

  - name: Sin aviso si la tarea se hace antes
    start: { at: 2026-03-12T10:00:00-06:00, as: ana }
    steps:
      - complete: responder
        as: ana
      - advance_to: 2026-03-18T18:00:00-06:00
      - expect: { alerts: [], active: [logistica, material] }
"#;

fn run(scenarios: &str) -> Vec<String> {
    let calendars: BTreeMap<String, Calendar> =
        calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect();
    let files = [SourceFile { path: "plazos.yaml".into(), text: PROCESS.into() }];
    let (catalog, diags) = definition::load(&files, calendars);
    assert!(diags.is_empty(), "{diags:#?}");
    scenario::run_file("plazos.test.yaml", scenarios, &catalog)
        .into_iter()
        .flat_map(|r| r.failures.into_iter().map(move |d| format!("{}: {}", r.name, d.message)))
        .collect()
}

#[test]
fn warnings_come_before_the_deadlines_and_go_to_whom_they_should() {
    assert_eq!(run(SCENARIOS), Vec::<String>::new());
}

#[test]
fn the_warning_comes_at_its_instant_not_a_minute_later() {
    // Expecting silence at the warning instant itself fails: the warning is there.
    let sc = SCENARIOS.replace("advance_to: 2026-03-17T17:59:00-06:00", "advance_to: 2026-03-17T18:00:00-06:00");
    assert_eq!(
        run(&sc),
        ["Avisos antes de cada plazo: alerts: expected [], got [\"due-warning:responder -> operador\"]"]
    );
}

/// A deadline read from the data is that instant when the data holds a date-time, and the close
/// of business when it holds a date (`2026-03-12T12:00` is not the whole day of the 12th).
#[test]
fn a_deadline_from_a_date_time_is_that_instant() {
    let process = r#"
process: prueba.limite
title: Límite
calendar: mx
roles:
  operador: Operador
steps:
  atender:
    task: Atender
    role: operador
    due: data.limite
    next: end
"#;
    let scenarios = r#"
test: prueba.limite
users: { ana: [operador] }
scenarios:
  - name: Fecha y hora
    start: { at: 2026-03-11T10:00:00-06:00, data: { limite: "2026-03-12T12:00" } }
    steps:
      - expect: { due: { atender: 2026-03-12T12:00:00-06:00 } }
  - name: Fecha
    start: { at: 2026-03-11T10:00:00-06:00, data: { limite: "2026-03-12" } }
    steps:
      - expect: { due: { atender: 2026-03-12T18:00:00-06:00 } }
"#;
    let calendars: BTreeMap<String, Calendar> =
        calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect();
    let (catalog, diags) =
        definition::load(&[SourceFile { path: "limite.yaml".into(), text: process.into() }], calendars);
    assert!(diags.is_empty(), "{diags:#?}");
    let failures: Vec<String> = scenario::run_file("limite.test.yaml", scenarios, &catalog)
        .into_iter()
        .flat_map(|r| r.failures.into_iter().map(move |d| format!("{}: {}", r.name, d.message)))
        .collect();
    assert_eq!(failures, Vec::<String>::new());
    assert_eq!(calendar::parse_date("2026-03-12T12:00"), None);
    assert!(calendar::parse_date("2026-03-12").is_some());
}
