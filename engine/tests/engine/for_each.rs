//! The constructs added for the ICETEX, CES and call-audit procedures, run the way process
//! owners run them (`tramite test`): `for_each` over a `list` field with a deadline per element
//! and the role read from the element, instants computed by date functions (the weekday
//! dissemination rule), dates in the data as the close of business, waits that continue when a
//! date begins, and SLAs that start a new round when a loop re-enters their `from` step. Loader
//! tests check the mistakes these constructs allow.

use std::collections::BTreeMap;

use tramite_engine::calendar::{self, Calendar};
use tramite_engine::definition::{self, Catalog, SourceFile};
use tramite_engine::diagnostic::Diagnostic;
use tramite_engine::scenario;

const FORMS: &str = r#"
form: plan-prueba
title: Plan de mejoramiento
fields:
  fecha_evento:
    type: date
    label: Fecha del evento
    required: true
  acciones:
    type: list
    label: Acciones
    fields:
      accion:
        type: text
        label: Acción
        required: true
      responsable:
        type: choice
        label: Responsable
        required: true
        options:
          jefe: Jefe de mercadeo
          analista: Analista de mercadeo
      fecha_compromiso:
        type: date
        label: Fecha de compromiso
        required: true
"#;

const AVANCE: &str = r#"
form: avance-prueba
title: Avance de la acción
fields:
  cumplida:
    type: boolean
    label: ¿Cumplida?
    required: true
  evidencia:
    type: text
    label: Evidencia
"#;

const PROCESS: &str = r#"
process: prueba.plan
title: Plan con acciones
calendar: co
roles:
  jefe: Jefe de mercadeo
  analista: Analista de mercadeo
start:
  form: plan-prueba
slas:
  revision:
    title: Cada revisión en dos días hábiles
    from: revisar.entered
    until: revisar.completed
    within: 2 business days
  urgente:
    title: Revisión de un evento cercano en un día hábil
    when: data.fecha_evento < '2026-06-17'
    from: revisar.entered
    until: revisar.completed
    within: 1 business day
steps:
  revisar:
    approval: ¿El plan está completo?
    role: jefe
    approve: acciones
    reject: corregir
  corregir:
    task: Corregir el plan
    role: analista
    next: revisar
  acciones:
    parallel: Ejecutar las acciones
    for_each: data.acciones
    branches:
      - start: ejecutar
        due: item.fecha_compromiso
        on_overdue: [notify: jefe]
    next: regla
  ejecutar:
    task: Ejecutar la acción
    role: item.responsable
    form: avance-prueba
    next:
      - when: item.cumplida
        goto: join
      - goto: ejecutar
  regla:
    decision: ¿Se divulga esta semana?
    next:
      - when: weekday(data.fecha_evento) <= 3
        goto: divulgar
      - goto: esperar_lunes
  esperar_lunes:
    wait: Hasta el lunes de la semana siguiente
    until: add_days(data.fecha_evento, 8 - weekday(data.fecha_evento))
    next: divulgar
  divulgar:
    task: Divulgar
    role: analista
    due: "add_days(data.fecha_evento, (weekday(data.fecha_evento) <= 3 ? 5 : 12) - weekday(data.fecha_evento))"
    next: cierre
  cierre:
    task: Cerrar
    role: jefe
    due: data.fecha_evento
    next: end
"#;

// Colombia, June 2026: 8 June (Corpus Christi) and 15 June (Sagrado Corazón) are holidays.
const SCENARIOS: &str = r#"
test: prueba.plan
users:
  jefa: [jefe]
  ana: [analista]
scenarios:
  - name: Una ronda nueva del SLA por revisión, una tarea por acción y la regla del jueves
    start:
      at: 2026-06-01T09:00:00-05:00
      data:
        fecha_evento: 2026-06-18
        acciones:
          - { accion: Capacitar, responsable: analista, fecha_compromiso: 2026-06-10 }
          - { accion: Ajustar guion, responsable: jefe, fecha_compromiso: 2026-06-05 }
    steps:
      - expect: { sla: { revision: ok, urgente: (not started) } }
      - advance_to: 2026-06-03T17:00:00-05:00
      - expect: { sla: { revision: breached } }
      - reject: revisar
        as: jefa
        comment: Falta el análisis de causas.
      - complete: corregir
        as: ana
      - expect: { active: [revisar], sla: { revision: ok } }
      - advance_to: 2026-06-05T16:59:00-05:00
      - expect: { sla: { revision: ok } }
      - approve: revisar
        as: jefa
      - expect:
          sla: { revision: met }
          active: [ejecutar, ejecutar]
          tasks: { "ejecutar#1": analista, "ejecutar#2": jefe }
          due: { "ejecutar#1": 2026-06-10T17:00:00-05:00, "ejecutar#2": 2026-06-05T17:00:00-05:00 }
      - complete: ejecutar
        item: 1
        as: jefa
        data: { cumplida: true }
        expect_error: forbidden
      - complete: ejecutar
        item: 1
        as: ana
        data: { cumplida: false }
      - expect: { tasks: { "ejecutar#1": analista } }
      - advance_to: 2026-06-10T17:00:00-05:00
      - expect:
          alerts: ["overdue:ejecutar -> jefe", "overdue:ejecutar -> jefe"]
      - complete: ejecutar
        item: 2
        as: jefa
        data: { cumplida: true, evidencia: Guion v2 }
      - complete: ejecutar
        item: 1
        as: ana
        data: { cumplida: true }
      - expect:
          active: [esperar_lunes]
          data:
            acciones:
              - { accion: Capacitar, responsable: analista, fecha_compromiso: 2026-06-10, cumplida: true }
              - { accion: Ajustar guion, responsable: jefe, fecha_compromiso: 2026-06-05, cumplida: true, evidencia: Guion v2 }
      - advance_to: 2026-06-22T07:59:00-05:00
      - expect: { active: [esperar_lunes] }
      - advance_to: 2026-06-22T08:00:00-05:00
      - expect:
          active: [divulgar]
          due: { divulgar: 2026-06-26T17:00:00-05:00 }
      - complete: divulgar
        as: ana
      - expect: { due: { cierre: 2026-06-18T17:00:00-05:00 } }

  - name: Evento en martes y plan sin acciones
    start:
      at: 2026-06-01T09:00:00-05:00
      data: { fecha_evento: 2026-06-16, acciones: [] }
    steps:
      - advance_to: 2026-06-02T16:59:00-05:00
      - expect: { sla: { urgente: ok } }
      - approve: revisar
        as: jefa
      - expect:
          active: [divulgar]
          due: { divulgar: 2026-06-19T17:00:00-05:00 }
          data: { acciones: [] }
"#;

fn calendars() -> BTreeMap<String, Calendar> {
    calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect()
}

fn load(process: &str) -> (Catalog, Vec<Diagnostic>) {
    let files = [("plan.yaml", process), ("plan-form.yaml", FORMS), ("avance.yaml", AVANCE)]
        .map(|(path, text)| SourceFile { path: path.into(), text: text.into() });
    definition::load(&files, calendars())
}

fn run(scenarios: &str) -> Vec<String> {
    let (catalog, diags) = load(PROCESS);
    assert!(diags.is_empty(), "{diags:#?}");
    scenario::run_file("plan.test.yaml", scenarios, &catalog)
        .into_iter()
        .flat_map(|r| r.failures.into_iter().map(move |d| format!("{}: {}", r.name, d.message)))
        .collect()
}

#[test]
fn for_each_date_functions_and_sla_rounds_run() {
    assert_eq!(run(SCENARIOS), Vec::<String>::new());
}

#[test]
fn wrong_expectations_fail() {
    for (right, wrong) in [
        ("divulgar: 2026-06-26T17:00:00-05:00", "divulgar: 2026-06-25T17:00:00-05:00"),
        ("cierre: 2026-06-18T17:00:00-05:00", "cierre: 2026-06-18T00:00:00-05:00"),
        (r#""ejecutar#2": jefe"#, r#""ejecutar#2": analista"#),
        (r#""ejecutar#2": 2026-06-05T17:00"#, r#""ejecutar#2": 2026-06-10T17:00"#),
        (
            "advance_to: 2026-06-05T16:59:00-05:00\n      - expect: { sla: { revision: ok } }",
            "advance_to: 2026-06-05T17:00:00-05:00\n      - expect: { sla: { revision: ok } }",
        ),
        ("active: [esperar_lunes] }", "active: [divulgar] }"),
        ("urgente: (not started)", "urgente: ok"),
        ("urgente: ok", "urgente: (not started)"),
    ] {
        assert!(SCENARIOS.contains(right), "{right}");
        let failures = run(&SCENARIOS.replacen(right, wrong, 1));
        assert!(!failures.is_empty(), "changing `{right}` to `{wrong}` went unnoticed");
    }
}

fn diagnostics(process: &str) -> Vec<String> {
    let (_, diags) = load(process);
    diags.iter().map(|d| format!("{}:{}: {}", d.loc.line, d.loc.column, d.message)).collect()
}

#[test]
fn item_outside_for_each_is_refused() {
    let p =
        PROCESS.replace("    role: analista\n    due: \"add_days", "    role: item.responsable\n    due: \"add_days");
    let d = diagnostics(&p);
    assert_eq!(d, vec!["60:11: step `divulgar` reads `item` but is not inside a `for_each` branch"], "{d:#?}");
}

#[test]
fn unknown_element_fields_are_refused() {
    let p = PROCESS.replace("due: item.fecha_compromiso", "due: item.fecha_compromis");
    let d = diagnostics(&p);
    assert_eq!(d, vec!["37:14: `item.fecha_compromis` is not a column of list `data.acciones` (step `acciones`)"]);
    let p = PROCESS.replace("due: item.fecha_compromiso", "due: item.accion");
    assert_eq!(diagnostics(&p), vec!["37:14: `item.accion` is a `text` column, not a date"]);
}

#[test]
fn roles_from_the_data_must_be_roles() {
    let p = PROCESS
        .replace("  analista: Analista de mercadeo\nstart", "  analistas: Analistas\nstart")
        .replace("role: analista\n    next: revisar", "role: analistas\n    next: revisar");
    let p = p.replace("role: analista\n    due:", "role: analistas\n    due:");
    let d = diagnostics(&p);
    assert_eq!(d, vec!["42:11: the options of `item.responsable` are not all roles: analista"], "{d:#?}");
    let p = PROCESS.replace("role: item.responsable", "role: item.accion");
    assert_eq!(diagnostics(&p), vec!["42:11: `item.accion` is not a `choice` field, so it cannot name a role"]);
}

#[test]
fn for_each_needs_a_list_and_one_branch() {
    let p = PROCESS.replace("for_each: data.acciones", "for_each: data.fecha_evento");
    assert_eq!(diagnostics(&p)[0], "34:15: `data.fecha_evento` is a `date` field, not a list");
    let p =
        PROCESS.replace("        on_overdue: [notify: jefe]\n", "        on_overdue: [notify: jefe]\n      - regla\n");
    assert_eq!(diagnostics(&p)[0], "33:15: parallel `acciones` runs `for_each` element but has 2 branches");
}

#[test]
fn instants_from_expressions_are_checked() {
    let p = PROCESS.replace("due: data.fecha_evento", "due: add_days(data.fecha_event, 1)");
    assert_eq!(diagnostics(&p), vec!["66:19: `data.fecha_event` is not a field of any form of this process"]);
    let p = PROCESS.replace("due: data.fecha_evento", "due: 2 days before add_days(data.fecha_evento, ");
    let d = diagnostics(&p);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(d[0].starts_with("66:"), "{d:#?}");
}

#[test]
fn list_fields_need_columns() {
    let forms = FORMS.replace(
        "    type: list\n    label: Acciones\n    fields:",
        "    type: list\n    label: Acciones\n    min_items: 1\n    fieldz:",
    );
    let (_, diags) = definition::load(&[SourceFile { path: "f.yaml".into(), text: forms }], calendars());
    assert_eq!(diags[0].message, "unknown key `fieldz`", "{diags:#?}");
    let forms =
        FORMS.replace("  fecha_evento:\n    type: date\n", "  fecha_evento:\n    type: date\n    min_items: 2\n");
    let (_, diags) = definition::load(&[SourceFile { path: "f.yaml".into(), text: forms }], calendars());
    assert_eq!(diags[0].message, "`min_items` does not apply to a `date` field", "{diags:#?}");
}

const NESTED: &str = r#"
process: prueba.anidado
title: Paralelo dentro de una rama
calendar: co
roles:
  r: Rol
start:
  form: plan-prueba
steps:
  fuera:
    parallel: Formación y estrategia
    branches:
      - formar
      - alcance
    next: fin
  formar:
    task: Formar
    role: r
    next: join
  alcance:
    decision: ¿Hay estrategia?
    next:
      - when: data.fecha_evento < '2026-07-01'
        goto: dentro
      - goto: join
  dentro:
    parallel: Estrategia
    branches:
      - start: a
        due: 1 business day
      - b
    next: join
  a:
    task: A
    role: r
    next: join
  b:
    task: B
    role: r
    next: join
  fin:
    end: hecho
"#;

#[test]
fn nested_parallel_joins_its_outer_branch() {
    let files = [("anidado.yaml", NESTED), ("plan-form.yaml", FORMS)]
        .map(|(path, text)| SourceFile { path: path.into(), text: text.into() });
    let (catalog, diags) = definition::load(&files, calendars());
    assert!(diags.is_empty(), "{diags:#?}");
    let scenarios = r#"
test: prueba.anidado
users: { u: [r] }
scenarios:
  - name: Con estrategia anidada
    start: { at: 2026-06-01T09:00:00-05:00, data: { fecha_evento: 2026-06-18 } }
    steps:
      - expect: { active: [a, b, formar], due: { a: 2026-06-02T17:00:00-05:00 } }
      - complete: a
        as: u
      - complete: formar
        as: u
      - expect: { active: [b] }
      - complete: b
        as: u
      - expect: { status: ended, outcome: hecho }
  - name: Sin estrategia
    start: { at: 2026-06-01T09:00:00-05:00, data: { fecha_evento: 2026-07-18 } }
    steps:
      - expect: { active: [formar] }
      - complete: formar
        as: u
      - expect: { status: ended, outcome: hecho }
"#;
    let failures: Vec<String> = scenario::run_file("anidado.test.yaml", scenarios, &catalog)
        .into_iter()
        .flat_map(|r| r.failures.into_iter().map(move |d| format!("{}: {}", r.name, d.message)))
        .collect();
    assert_eq!(failures, Vec::<String>::new());
}
