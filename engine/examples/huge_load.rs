//! How long the loader takes on a generated process of N steps (default 8,000), each a
//! decision reading the start form, and how long a form rule with nested comprehensions takes
//! over a list of rows: `cargo run --release -p tramite-engine --example huge_load [N] [load]`
//! (`load`: the loader only).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Instant;

use serde_json::json;
use tramite_engine::calendar;
use tramite_engine::definition::{self, SourceFile};

const FORM: &str = "form: solicitud\ntitle: Solicitud\nfields:\n  tipo:\n    type: choice\n    label: Tipo\n    options:\n      a: A\n      b: B\n  monto:\n    type: integer\n    label: Monto\n";

fn process(n: usize) -> String {
    let mut y = String::from(
        "process: enorme\ntitle: Enorme\ncalendar: mx\nroles:\n  agente: Agente\nstart:\n  form: solicitud\nsteps:\n",
    );
    for i in 0..n {
        let next = if i + 1 == n { "end".to_string() } else { format!("p{}", i + 1) };
        let _ = write!(
            y,
            "  p{i}:\n    decision: Paso {i}\n    next:\n      - when: data.tipo == 'a' && data.monto > {i}\n        goto: {next}\n      - goto: {next}\n"
        );
    }
    y
}

fn rows_form(depth: usize) -> String {
    let mut check = String::from("true");
    for v in (0..depth).rev() {
        check = format!("data.filas.all(r{v}, r{v}.n >= 0 && {check})");
    }
    format!(
        "form: filas\ntitle: Filas\nfields:\n  filas:\n    type: list\n    label: Filas\n    max_items: 500\n    fields:\n      n:\n        type: integer\n        label: N\nrules:\n  - check: \"{check}\"\n    message: No.\n"
    )
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(8_000);
    let cals: BTreeMap<_, _> =
        calendar::BUILTIN.iter().map(|c| (c.to_string(), calendar::builtin(c).unwrap())).collect();
    let files = vec![
        SourceFile { path: "forms/solicitud.yaml".into(), text: FORM.into() },
        SourceFile { path: "processes/enorme.yaml".into(), text: process(n) },
    ];
    let t = Instant::now();
    let (catalog, diags) = definition::load(&files, cals.clone());
    println!("load of {n} steps: {:?} ({} diagnostics)", t.elapsed(), diags.len());
    assert!(catalog.processes.contains_key("enorme"), "{:?}", diags.first());

    if std::env::args().nth(2).as_deref() == Some("load") {
        return;
    }
    for depth in [2, 3] {
        let files = vec![SourceFile { path: "forms/filas.yaml".into(), text: rows_form(depth) }];
        let (catalog, diags) = definition::load(&files, cals.clone());
        let Some(form) = catalog.forms.get("filas") else {
            println!("{depth} nested `all`: refused at load ({})", diags[0].message);
            continue;
        };
        let rows: Vec<_> = (0..200).map(|i| json!({ "n": i })).collect();
        let data = json!({ "filas": rows });
        let t = Instant::now();
        let ok = form.validate(data.as_object().unwrap()).is_ok();
        println!("{depth} nested `all` over 200 rows: {:?} (valid: {ok})", t.elapsed());
    }
}
