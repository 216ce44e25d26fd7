//! Scenario files start scheduled processes the way the scheduler does (`start: { schedule, at }`
//! at an instant the cron line fires, with the schedule's data) and check SLA due instants
//! (`sla_due:`). The example is the CONOCER monthly report: analysis within 10 business days,
//! warned at the close of the 7th, on the mx calendar (16 March 2026 is a holiday).

use std::collections::BTreeMap;

use tramite_engine::calendar::{self, Calendar};
use tramite_engine::definition::{self, SourceFile};
use tramite_engine::scenario;

const PROCESS: &str = r#"
process: prueba.reporte
title: Reporte mensual
calendar: mx
roles:
  operador: Operador
  responsable: Responsable
schedules:
  mensual:
    cron: "0 9 1 * *"
    data: { periodo: mensual }
  semanal:
    cron: "0 9 * * mon"
    data: { periodo: semanal }
  habil:
    cron: "0 9 1 * *"
    non_business_day: next
    data: { periodo: mensual }
  previo:
    cron: "0 9 1 * *"
    non_business_day: previous
    data: { periodo: mensual }
slas:
  analisis:
    title: Análisis de 7 a 10 días hábiles
    from: analizar.entered
    until: analizar.completed
    within: 10 business days
    warn: after 7 business days
steps:
  generar:
    task: Generar el reporte
    role: operador
    next:
      - when: data.periodo == 'mensual'
        goto: analizar
      - goto: end
  analizar:
    task: Analizar el reporte
    role: responsable
    next: end
"#;

const SCENARIOS: &str = r#"
test: prueba.reporte
users:
  ana: [operador]
  rosa: [responsable]
scenarios:
  - name: Mensual
    start: { schedule: mensual, at: 2026-03-01T09:00:00-06:00 }
    steps:
      - expect: { active: [generar], data: { periodo: "mensual" }, sla: { analisis: (not started) } }
      - advance_to: 2026-03-02T10:00:00-06:00
      - complete: generar
        as: ana
      - expect: { sla_due: { analisis: 2026-03-17T18:00:00-06:00 } }
      - advance_to: 2026-03-11T17:59:00-06:00
      - expect: { sla: { analisis: ok } }
      - advance_to: 2026-03-11T18:00:00-06:00
      - expect: { sla: { analisis: warning } }
  - name: Semanal
    start: { schedule: semanal, at: 2026-03-16T09:00:00-06:00 }
    steps:
      - complete: generar
        as: ana
      - expect: { status: ended, data: { periodo: "semanal" } }
"#;

fn run(scenarios: &str) -> Vec<String> {
    let calendars: BTreeMap<String, Calendar> =
        calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect();
    let files = [SourceFile { path: "reporte.yaml".into(), text: PROCESS.into() }];
    let (catalog, diags) = definition::load(&files, calendars);
    assert!(diags.is_empty(), "{diags:#?}");
    scenario::run_file("reporte.test.yaml", scenarios, &catalog)
        .into_iter()
        .flat_map(|r| r.failures.into_iter().map(move |d| format!("{}: {}", r.name, d.message)))
        .collect()
}

#[test]
fn scheduled_starts_and_sla_due_instants_pass() {
    assert_eq!(run(SCENARIOS), Vec::<String>::new());
}

#[test]
fn a_start_at_an_instant_the_schedule_does_not_fire_fails() {
    let sc = SCENARIOS.replace(
        "schedule: mensual, at: 2026-03-01T09:00:00-06:00",
        "schedule: mensual, at: 2026-03-02T09:00:00-06:00",
    );
    assert_eq!(
        run(&sc),
        [
            "Mensual: schedule `mensual` (`0 9 1 * *`, America/Mexico_City) does not fire at 2026-03-02T09:00:00-06:00; it next fires at 2026-04-01T09:00:00-06:00"
        ]
    );
}

#[test]
fn an_unknown_schedule_or_a_user_on_a_scheduled_start_fails() {
    let sc = SCENARIOS.replace("schedule: semanal,", "schedule: semanl,");
    assert_eq!(run(&sc), ["Semanal: process `prueba.reporte` has no schedule `semanl`; did you mean `semanal`?"]);
    let sc = SCENARIOS.replace("schedule: semanal,", "schedule: semanal, as: ana,");
    assert_eq!(
        run(&sc),
        ["Semanal: a scheduled start has no user and takes its data from the schedule: remove `as` and `data`"]
    );
}

#[test]
fn a_wrong_sla_due_instant_fails() {
    let sc = SCENARIOS.replace("analisis: 2026-03-17T18:00:00-06:00", "analisis: 2026-03-16T18:00:00-06:00");
    assert_eq!(
        run(&sc),
        ["Mensual: due instant of SLA `analisis`: expected 2026-03-16T18:00:00-06:00, got 2026-03-17T18:00:00-06:00"]
    );
}

/// 1 March 2026 is a Sunday and 1 February too, with Monday 2 February a holiday (Constitution
/// Day, first Monday of February): the monthly firing moves to the next business day, or to the
/// one before; the cron line itself is kept where nothing is said.
#[test]
fn a_schedule_moves_off_non_business_days_as_it_says() {
    let calendars: BTreeMap<String, Calendar> =
        calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect();
    let files = [SourceFile { path: "reporte.yaml".into(), text: PROCESS.into() }];
    let (catalog, diags) = definition::load(&files, calendars);
    assert!(diags.is_empty(), "{diags:#?}");
    let p = &catalog.processes["prueba.reporte"];
    let cal = catalog.calendar_of(p).unwrap();
    let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    let next = |id: &str, after: &str| {
        let s = p.schedules.iter().find(|s| s.id == id).unwrap();
        s.next_after(at(after), cal).unwrap().to_string()
    };
    assert_eq!(next("mensual", "2026-02-15T00:00:00Z"), "2026-03-01T15:00:00Z");
    assert_eq!(next("habil", "2026-02-15T00:00:00Z"), "2026-03-02T15:00:00Z");
    // Asked after Sunday's cron instant, the moved firing is still to come.
    assert_eq!(next("habil", "2026-03-01T16:00:00Z"), "2026-03-02T15:00:00Z");
    assert_eq!(next("habil", "2026-03-02T15:00:00Z"), "2026-04-01T15:00:00Z");
    assert_eq!(next("habil", "2026-01-15T00:00:00Z"), "2026-02-03T15:00:00Z");
    assert_eq!(next("previo", "2026-02-15T00:00:00Z"), "2026-02-27T15:00:00Z");
    assert_eq!(next("previo", "2026-02-27T15:00:00Z"), "2026-04-01T15:00:00Z");

    let sc = SCENARIOS
        .replace("schedule: mensual, at: 2026-03-01T09:00:00-06:00", "schedule: habil, at: 2026-03-01T09:00:00-06:00");
    assert_eq!(
        run(&sc),
        [
            "Mensual: schedule `habil` (`0 9 1 * *`, America/Mexico_City) does not fire at 2026-03-01T09:00:00-06:00; it next fires at 2026-03-02T09:00:00-06:00"
        ]
    );
}
