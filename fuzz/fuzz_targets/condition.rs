//! Conditions (`when:`, `until:`, form `rules` and `compute`): the input is the expression text,
//! then optionally a NUL byte and the case data as a JSON object, then another NUL byte and the
//! `for_each` item as JSON. The expression is compiled with the loader's checks, read for the
//! fields it uses, and evaluated the way a transition does: on the Mexican calendar, with the
//! instance, `now` and a seed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use tramite_engine::calendar;
use tramite_engine::expr::{Expr, Scope};

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let mut parts = text.splitn(3, '\0');
    let source = parts.next().unwrap_or("");
    let data = match parts.next().map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(m))) => m,
        Some(_) => return,
        None => default_data(),
    };
    let item = match parts.next().map(serde_json::from_str::<Value>) {
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => return,
        None => None,
    };
    let Ok(expr) = Expr::compile(source) else { return };
    let _ = expr.field_comparisons();
    let _ = expr.data_fields();
    let _ = expr.item_fields();
    let _ = expr.uses_item();
    let _ = expr.as_field();
    let cal = calendar::builtin("mx");
    let instance = json!({ "id": "0190f6f0-0000-7000-8000-000000000001", "process": "fuzz.proceso" });
    let scope = Scope {
        data: &data,
        instance: &instance,
        now: "2026-03-18T15:00:00Z",
        item: item.as_ref(),
        calendar: cal.as_ref(),
        seed: Some(7),
    };
    let _ = expr.eval_in(&scope);
    // As a form rule or a computed field evaluates it: no calendar, no item, no `now`.
    let _ = expr.eval_bool(&data, &Value::Null, "");
});

/// Data of every type a form produces, for inputs that carry none.
fn default_data() -> Map<String, Value> {
    let v = json!({
        "tipo": "queja",
        "edad": 34,
        "monto": 1250.5,
        "aprobado": true,
        "fecha": "2026-03-18",
        "hora": "2026-03-18T10:30:00-06:00",
        "temas": ["pagos", "becas"],
        "nota": null,
        "acciones": [{ "accion": "Llamar", "fecha": "2026-03-20", "horas": 2 }],
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
