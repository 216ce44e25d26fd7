//! Computed form fields: read-only, computed from the other fields in field order, typed like
//! any field, refused when sent, and checked by the loader.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tramite_engine::definition::{Catalog, SourceFile, load};
use tramite_engine::diagnostic::Diagnostic;

const FORM: &str = r#"
form: evaluacion
title: Evaluación de una llamada
fields:
  saludo:
    type: boolean
    label: Saluda e identifica
    required: true
  protocolo:
    type: boolean
    label: Sigue el protocolo
    required: true
  cierre:
    type: boolean
    label: Cierra la llamada
    required: true
  puntaje:
    type: integer
    label: Puntaje (0 a 3)
    compute: "(data.saludo ? 1 : 0) + (data.protocolo ? 1 : 0) + (data.cierre ? 1 : 0)"
  cumple:
    type: boolean
    label: Cumple el protocolo
    compute: data.puntaje >= 2
  nivel:
    type: choice
    label: Nivel
    options: { alto: Alto, medio: Medio, bajo: Bajo }
    compute: "data.puntaje == 3 ? 'alto' : (data.puntaje == 2 ? 'medio' : 'bajo')"
  aprobados:
    type: integer
    label: Aprobados
  evaluados:
    type: integer
    label: Evaluados
  efectividad:
    type: decimal
    label: "% de efectividad"
    compute: "has(data.evaluados) && data.evaluados > 0 ? double(data.aprobados) / double(data.evaluados) * 100.0 : null"
"#;

fn load_form(text: &str) -> (Catalog, Vec<Diagnostic>) {
    load(&[SourceFile { path: "evaluacion.yaml".into(), text: text.into() }], BTreeMap::new())
}

fn data(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[test]
fn computed_fields_take_their_values_in_order() {
    let (cat, diags) = load_form(FORM);
    assert!(diags.is_empty(), "{diags:#?}");
    let form = &cat.forms["evaluacion"];
    let out = form
        .validate(&data(json!({ "saludo": true, "protocolo": false, "cierre": true, "aprobados": 3, "evaluados": 4 })))
        .unwrap();
    assert_eq!(out["puntaje"], 2);
    assert_eq!(out["cumple"], true);
    assert_eq!(out["nivel"], "medio");
    assert_eq!(out["efectividad"], 75.0);
    // Nothing to divide by: no value, not an error.
    let out = form.validate(&data(json!({ "saludo": true, "protocolo": true, "cierre": true }))).unwrap();
    assert_eq!((&out["puntaje"], &out["nivel"]), (&json!(3), &json!("alto")));
    assert!(!out.contains_key("efectividad"), "{out:?}");
}

#[test]
fn a_computed_field_sent_by_the_client_is_refused() {
    let (cat, _) = load_form(FORM);
    let errors = cat.forms["evaluacion"]
        .validate(&data(json!({ "saludo": true, "protocolo": true, "cierre": true, "puntaje": 0 })))
        .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].field.as_str(), errors[0].code), ("puntaje", "computed"));
}

#[test]
fn a_computation_of_the_wrong_type_is_an_error_on_its_field() {
    let text = FORM.replace("compute: data.puntaje >= 2", "compute: \"'sí'\"");
    let (cat, diags) = load_form(&text);
    assert!(diags.is_empty(), "{diags:#?}");
    let errors = cat.forms["evaluacion"]
        .validate(&data(json!({ "saludo": true, "protocolo": true, "cierre": true })))
        .unwrap_err();
    assert_eq!((errors[0].field.as_str(), errors[0].code), ("cumple", "compute"), "{errors:?}");
}

#[test]
fn the_loader_refuses_what_cannot_be_computed() {
    let unknown = FORM.replace("compute: data.puntaje >= 2", "compute: data.puntajes >= 2");
    let (_, diags) = load_form(&unknown);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].message, "`data.puntajes` is not a field of this form");
    assert_eq!(diags[0].help.as_deref(), Some("did you mean `data.puntaje`?"));

    let required =
        FORM.replace("    label: Cumple el protocolo\n", "    label: Cumple el protocolo\n    required: true\n");
    let (_, diags) = load_form(&required);
    assert_eq!(diags[0].message, "`required` does not apply to a computed field", "{diags:#?}");

    let date = FORM
        .replace("    type: boolean\n    label: Cumple el protocolo", "    type: date\n    label: Cumple el protocolo");
    let (_, diags) = load_form(&date);
    assert_eq!(diags[0].message, "a `date` field cannot be computed", "{diags:#?}");
}
