//! Every submitted value is held to a bound, whatever its form says: rows of a list, length of
//! a text, the years of a date. Past it, the field gets an error (422 in the server), never a
//! long wait.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tramite_engine::definition::{self, Form, SourceFile};

const FORM: &str = r#"
form: limites
title: Límites
fields:
  nombre:
    type: text
    label: Nombre
  resumen:
    type: text
    label: Resumen
    max_length: 4000
  detalle:
    type: long_text
    label: Detalle
  correo:
    type: email
    label: Correo
  telefono:
    type: phone
    label: Teléfono
  fecha:
    type: date
    label: Fecha
  momento:
    type: datetime
    label: Momento
  temas:
    type: multi_choice
    label: Temas
    options:
      a: A
      b: B
  filas:
    type: list
    label: Filas
    fields:
      n:
        type: integer
        label: N
  muchas:
    type: list
    label: Muchas filas
    max_items: 800
    fields:
      n:
        type: integer
        label: N
rules:
  - check: "!has(data.filas) || data.filas.all(a, data.filas.all(b, a.n + b.n >= 0))"
    message: Los números no cuadran.
"#;

/// A uniqueness check, as the shipped reports write them: each row against every other.
const PAIRS: &str = r#"
form: pares
title: Pares
fields:
  filas:
    type: list
    label: Filas
    max_items: 1000
    fields:
      n:
        type: integer
        label: N
rules:
  - check: data.filas.all(a, data.filas.filter(b, b.n == a.n).size() == 1)
    message: Cada número aparece una sola vez.
    field: filas
"#;

fn load(text: &str) -> (BTreeMap<String, Form>, Vec<String>) {
    let files = [SourceFile { path: "forms/limites.yaml".into(), text: text.into() }];
    let (catalog, diags) = definition::load(&files, BTreeMap::new());
    let shown = diags.iter().map(|d| format!("{}:{}: {}", d.loc.line, d.loc.column, d.message)).collect();
    (catalog.forms, shown)
}

fn form() -> Form {
    let (forms, diags) = load(FORM);
    assert!(diags.is_empty(), "{diags:?}");
    forms["limites"].clone()
}

/// The (field, code) of each error for `data`, or nothing when it is valid.
fn errors(data: Value) -> Vec<(String, &'static str)> {
    match form().validate(data.as_object().unwrap()) {
        Ok(_) => Vec::new(),
        Err(errs) => errs.into_iter().map(|e| (e.field, e.code)).collect(),
    }
}

fn one(field: &str, code: &'static str) -> Vec<(String, &'static str)> {
    vec![(field.to_string(), code)]
}

fn rows(n: usize) -> Value {
    Value::Array((0..n).map(|i| json!({ "n": i })).collect())
}

#[test]
fn a_list_takes_500_rows_unless_it_says_otherwise() {
    assert_eq!(errors(json!({ "filas": rows(300) })), vec![]);
    assert_eq!(errors(json!({ "filas": rows(500) })), one("", "too_costly"), "the rule's budget, not the rows");
    assert_eq!(errors(json!({ "filas": rows(501) })), one("filas", "max_items"));
    assert_eq!(errors(json!({ "muchas": rows(800) })), vec![]);
    assert_eq!(errors(json!({ "muchas": rows(801) })), one("muchas", "max_items"));
}

/// The rule loops over the rows twice over: 100,000 rows would be 10^10 runs. They are refused
/// before the rule runs.
#[test]
fn too_many_rows_are_refused_before_any_rule_loops_over_them() {
    let message = form().validate(json!({ "filas": rows(100_000) }).as_object().unwrap()).unwrap_err();
    assert_eq!(message.len(), 1);
    assert_eq!(message[0].message, "Debe tener como máximo 500 filas.");
}

/// A check whose work grows past the budget with the rows is a field error, given before it
/// runs; the same check over fewer rows runs.
#[test]
fn checks_that_would_run_too_long_over_the_rows_are_refused_unrun() {
    let (forms, diags) = load(PAIRS);
    assert!(diags.is_empty(), "{diags:?}");
    let pairs = &forms["pares"];
    assert!(pairs.checks_grow_with_data());
    assert!(pairs.validate(json!({ "filas": rows(300) }).as_object().unwrap()).is_ok());
    let errs = pairs.validate(json!({ "filas": rows(1000) }).as_object().unwrap()).unwrap_err();
    assert_eq!(errs.iter().map(|e| (e.field.as_str(), e.code)).collect::<Vec<_>>(), [("filas", "too_costly")]);
    assert!(errs[0].message.contains("listas de hasta 1000 filas"), "{}", errs[0].message);
}

/// The server validates a form whose checks grow with the rows before the command reaches the
/// instance writer (`check_ahead`); the transition takes that result up instead of running the
/// checks again, once.
#[test]
fn a_validation_done_ahead_is_taken_up_by_the_transition_once() {
    let (forms, _) = load(PAIRS);
    let pairs = &forms["pares"];
    let data = json!({ "filas": rows(300) }).as_object().cloned().unwrap();
    let ahead = pairs.check_ahead(&data).unwrap();
    assert_eq!(pairs.kept_ahead(), 1);
    let other = json!({ "filas": rows(2) }).as_object().cloned().unwrap();
    assert!(pairs.validate(&other).is_ok());
    assert_eq!(pairs.kept_ahead(), 1, "another input does not take it");
    assert_eq!(pairs.validate(&data).unwrap(), ahead);
    assert_eq!(pairs.kept_ahead(), 0, "taken up");
    assert_eq!(pairs.validate(&data).unwrap(), ahead, "validated again when not kept");
    for _ in 0..40 {
        pairs.check_ahead(&data).unwrap();
    }
    assert_eq!(pairs.kept_ahead(), 16, "a few kept at most");
    let (cheap, _) =
        load(&PAIRS.replace("data.filas.all(a, data.filas.filter(b, b.n == a.n).size() == 1)", "size(data.filas) > 0"));
    assert!(!cheap["pares"].checks_grow_with_data());
    cheap["pares"].check_ahead(&data).unwrap();
    assert_eq!(cheap["pares"].kept_ahead(), 0, "cheap checks are not kept");
}

#[test]
fn texts_have_a_default_length_and_keep_their_own() {
    let text = |n: usize| "x".repeat(n);
    assert_eq!(errors(json!({ "nombre": text(1_000) })), vec![]);
    assert_eq!(errors(json!({ "nombre": text(1_001) })), one("nombre", "max_length"));
    assert_eq!(errors(json!({ "resumen": text(4_000) })), vec![], "its own max_length");
    assert_eq!(errors(json!({ "resumen": text(4_001) })), one("resumen", "max_length"));
    assert_eq!(errors(json!({ "detalle": text(10_000) })), vec![]);
    assert_eq!(errors(json!({ "detalle": text(10_001) })), one("detalle", "max_length"));
    let local = text(250);
    assert_eq!(errors(json!({ "correo": format!("{local}@a.co") })), one("correo", "max_length"));
    assert_eq!(errors(json!({ "correo": format!("{}@a.co", text(249)) })), vec![]);
    let phone = format!("555 123 4567{}", " ".repeat(2_000));
    assert_eq!(errors(json!({ "telefono": phone })), one("telefono", "max_length"));
}

#[test]
fn dates_fall_between_1900_and_2199() {
    for ok in ["1900-01-01", "2026-03-18", "2199-12-31"] {
        assert_eq!(errors(json!({ "fecha": ok })), vec![], "{ok}");
    }
    for far in ["1899-12-31", "2200-01-01", "9999-12-31", "0001-01-01"] {
        assert_eq!(errors(json!({ "fecha": far })), one("fecha", "date_range"), "{far}");
    }
    let message = form().validate(json!({ "fecha": "2200-01-01" }).as_object().unwrap()).unwrap_err();
    assert_eq!(message[0].message, "La fecha debe estar entre los años 1900 y 2199.");
}

#[test]
fn datetimes_fall_between_1900_and_2199() {
    for ok in ["2026-03-18T10:30", "2026-03-18T10:30:00-05:00", "2026-03-18T15:30:00Z", "2199-12-31T23:30:00-05:00"] {
        assert_eq!(errors(json!({ "momento": ok })), vec![], "{ok}");
    }
    for far in ["1899-12-31T23:59", "2200-01-01T00:00:00Z", "9999-01-01T00:00:00Z", "0001-01-01T00:00:00Z"] {
        assert_eq!(errors(json!({ "momento": far })), one("momento", "date_range"), "{far}");
    }
}

#[test]
fn a_multi_choice_names_each_option_once() {
    assert_eq!(errors(json!({ "temas": ["a", "b"] })), vec![]);
    let many: Vec<&str> = std::iter::repeat_n("a", 10_000).collect();
    assert_eq!(errors(json!({ "temas": many })), one("temas", "choice"));
}

#[test]
fn numbers_out_of_range_are_field_errors() {
    let form_text = FORM.replace(
        "  fecha:\n",
        "  cuenta:\n    type: integer\n    label: Cuenta\n  monto:\n    type: decimal\n    label: Monto\n  fecha:\n",
    );
    let (forms, diags) = load(&form_text);
    assert!(diags.is_empty(), "{diags:?}");
    let form = &forms["limites"];
    for (field, value) in [
        ("cuenta", json!("99999999999999999999")),
        ("cuenta", json!(1e300)),
        ("monto", json!("1e400")),
        ("monto", json!("NaN")),
        ("monto", json!("inf")),
    ] {
        let errs = form.validate(json!({ field: value }).as_object().unwrap()).unwrap_err();
        assert_eq!((errs[0].field.as_str(), errs[0].code), (field, "type"), "{value}");
    }
}

#[test]
fn limits_above_the_caps_are_refused_where_they_are_written() {
    let (_, diags) = load(&FORM.replace("max_items: 800", "max_items: 5000"));
    assert_eq!(diags, vec!["43:16: `max_items` (5000) is above the most rows a list may hold (1000)"]);
    let (_, diags) = load(&FORM.replace("    max_length: 4000", "    max_length: 1000000"));
    assert_eq!(diags, vec!["11:17: `max_length` (1000000) is above the longest text accepted (100000)"]);
    let (_, diags) = load(&FORM.replace("    label: Correo\n", "    label: Correo\n    max_length: 300\n"));
    assert_eq!(diags, vec!["18:17: `max_length` (300) is above the longest e-mail address accepted (254)"]);
    let (_, diags) = load(&FORM.replace("    label: Filas\n", "    label: Filas\n    min_items: 600\n"));
    assert_eq!(diags, vec!["36:16: `min_items` (600) is above the most rows this list takes (500)"]);
}

/// Data no form checks (a start without a start form, a task without a form) is still held to
/// the caps: conditions may loop over its lists as over a list field's rows.
#[test]
fn data_no_form_checks_is_held_to_the_caps() {
    use tramite_engine::machine::{self, Actor, Command, CommandError, Env};
    let process = "process: libre\ntitle: Libre\ncalendar: mx\nroles:\n  agente: Agente\nsteps:\n  anotar:\n    task: Anotar\n    role: agente\n    next: end\n";
    let files = [SourceFile { path: "libre.yaml".into(), text: process.into() }];
    let cals = BTreeMap::from([("mx".to_string(), tramite_engine::calendar::builtin("mx").unwrap())]);
    let (catalog, diags) = definition::load(&files, cals);
    assert!(diags.is_empty(), "{diags:?}");
    let p = &catalog.processes["libre"];
    let env = Env { process: p, calendar: catalog.calendar_of(p).unwrap(), forms: &catalog.forms };
    let now = "2026-03-02T16:00:00Z".parse().unwrap();
    let refused = |result: Result<_, CommandError>| match result {
        Err(CommandError::InvalidData(errs)) => errs.into_iter().map(|e| (e.field, e.code)).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let big = json!({ "lista": rows(1_001) }).as_object().cloned().unwrap();
    assert_eq!(refused(machine::start(env, "i1", big.clone(), None, now).map(|_| ())), one("lista", "max_items"));
    let long = json!({ "nota": { "texto": "x".repeat(100_001) } }).as_object().cloned().unwrap();
    assert_eq!(refused(machine::start(env, "i1", long, None, now).map(|_| ())), one("nota.texto", "max_length"));

    let (inst, _) =
        machine::start(env, "i1", json!({ "lista": rows(1_000) }).as_object().cloned().unwrap(), None, now).unwrap();
    let task = inst.tasks().next().unwrap().0.id;
    let ana = Actor::new("ana", &["agente"]);
    let cmd = Command::Complete { task, data: big };
    assert_eq!(refused(machine::execute(env, &inst, Some(&ana), cmd, now).map(|_| ())), one("lista", "max_items"));
}
