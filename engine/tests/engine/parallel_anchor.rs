//! A parallel step is *completed* when its branches join: an SLA `until: <parallel>.completed`
//! keeps running while the branches work, and stops at the join.

use std::collections::BTreeMap;

use tramite_engine::calendar::{self, Calendar};
use tramite_engine::definition::{self, SourceFile};
use tramite_engine::scenario;

const PROCESS: &str = r#"
process: prueba.ramas
title: Ramas
calendar: mx
roles:
  operador: Operador
slas:
  revision:
    title: Revisión completa en 2 días hábiles
    from: revisar.entered
    until: revisar.completed
    within: 2 business days
steps:
  revisar:
    parallel: Revisar
    branches: [uno, dos]
    next: end
  uno:
    task: Uno
    role: operador
    next: join
  dos:
    task: Dos
    role: operador
    next: join
"#;

const SCENARIOS: &str = r#"
test: prueba.ramas
users: { ana: [operador] }
scenarios:
  - name: El SLA corre mientras las ramas trabajan
    start: { at: 2026-03-11T10:00:00-06:00 }
    steps:
      - expect: { sla: { revision: ok } }
      - complete: uno
        as: ana
      - advance_to: 2026-03-13T18:00:00-06:00
      - expect: { sla: { revision: breached } }
      - complete: dos
        as: ana
      - expect: { status: ended, sla: { revision: met-late } }
"#;

#[test]
fn a_parallel_step_completes_at_its_join() {
    let calendars: BTreeMap<String, Calendar> =
        calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect();
    let (catalog, diags) =
        definition::load(&[SourceFile { path: "ramas.yaml".into(), text: PROCESS.into() }], calendars);
    assert!(diags.is_empty(), "{diags:#?}");
    let failures: Vec<String> = scenario::run_file("ramas.test.yaml", SCENARIOS, &catalog)
        .into_iter()
        .flat_map(|r| r.failures.into_iter().map(move |d| format!("{}: {}", r.name, d.message)))
        .collect();
    assert_eq!(failures, Vec::<String>::new());
}
