//! Tasks for a role within a scope of the organisation (`scope: data.area`) or for a person
//! named in the case (`assignee: data.especialista`): who may work them, who is told, how
//! scenarios name them. Users hold roles in every scope (`area_responsable`) or in one
//! (`area_responsable@Dirección A`).

use std::collections::BTreeMap;

use tramite_engine::calendar::{self, Calendar};
use tramite_engine::definition::{self, SourceFile};
use tramite_engine::machine::Actor;
use tramite_engine::scenario;

const PROCESS: &str = r#"
process: prueba.areas
title: Solicitudes por área
calendar: mx
roles:
  operador: Operador
  area_responsable: Área responsable
steps:
  atender:
    task: Atender la solicitud del área
    role: area_responsable
    scope: data.area
    due: 1 business day
    on_overdue: [notify: area_responsable, notify: operador]
    next: revisar
  revisar:
    task: Revisar con el especialista
    role: operador
    assignee: data.especialista
    due: 2 business days
    on_overdue: [notify: operador]
    next: end
"#;

const SCENARIOS: &str = r#"
test: prueba.areas
users:
  ana: [area_responsable@Dirección A]
  beto: [area_responsable@Dirección B]
  carla: [area_responsable]
  eva: [operador]
  esp: [operador]
scenarios:
  - name: La tarea va al área de la solicitud y luego a la persona nombrada
    start:
      at: 2026-03-11T10:00:00-06:00
      as: eva
      data: { area: Dirección A, especialista: esp }
    steps:
      - expect:
          tasks: { atender: area_responsable@Dirección A }
          emails: [assigned -> ana, assigned -> carla]
      - complete: atender
        as: beto
        expect_error: forbidden
      - advance_to: 2026-03-12T18:00:00-06:00
      - expect:
          alerts: ["overdue:atender -> area_responsable@Dirección A", "overdue:atender -> operador"]
          emails: [overdue -> ana, overdue -> carla, overdue -> eva, overdue -> esp]
      - complete: atender
        as: ana
      - expect: { tasks: { revisar: "@esp" }, emails: [assigned -> esp] }
      - complete: revisar
        as: eva
        expect_error: forbidden
      - advance_to: 2026-03-17T18:00:00-06:00
      - expect: { alerts: ["overdue:atender -> area_responsable@Dirección A", "overdue:atender -> operador", "overdue:revisar -> @esp"], emails: [overdue -> esp] }
      - complete: revisar
        as: esp
      - expect: { status: ended }
  - name: Quien tiene el rol en todas las áreas atiende cualquiera
    start:
      at: 2026-03-11T10:00:00-06:00
      as: eva
      data: { area: Dirección B, especialista: esp }
    steps:
      - expect: { tasks: { atender: area_responsable@Dirección B }, emails: [assigned -> beto, assigned -> carla] }
      - complete: atender
        as: ana
        expect_error: forbidden
      - complete: atender
        as: carla
      - expect: { active: [revisar] }
"#;

#[test]
fn scoped_and_assigned_tasks_reach_their_people_only() {
    let calendars: BTreeMap<String, Calendar> =
        calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect();
    let (catalog, diags) =
        definition::load(&[SourceFile { path: "areas.yaml".into(), text: PROCESS.into() }], calendars);
    assert!(diags.is_empty(), "{diags:#?}");
    let failures: Vec<String> = scenario::run_file("areas.test.yaml", SCENARIOS, &catalog)
        .into_iter()
        .flat_map(|r| r.failures.into_iter().map(move |d| format!("{}: {}", r.name, d.message)))
        .collect();
    assert_eq!(failures, Vec::<String>::new());
}

#[test]
fn who_may_work_a_task() {
    let ana = Actor::new("ana", &["area_responsable@Dirección A"]);
    let carla = Actor::new("carla", &["area_responsable"]);
    assert!(ana.may_work("area_responsable", Some("Dirección A"), None));
    assert!(!ana.may_work("area_responsable", Some("Dirección B"), None));
    assert!(ana.may_work("area_responsable", None, None), "an unscoped task is for every holder");
    assert!(carla.may_work("area_responsable", Some("Dirección B"), None));
    assert!(!carla.may_work("area_responsable", None, Some("esp")), "an assigned task is the assignee's");
    assert!(Actor::new("esp", &[]).may_work("operador", None, Some("esp")));
    assert!(ana.has_role("area_responsable") && !ana.has_role("operador"));
}
