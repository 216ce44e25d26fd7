//! The admin exports with hostile or extreme data, on SQLite and PostgreSQL: a CSV cell that a
//! spreadsheet would run as a formula is written as text, and an XLSX export holds what Excel
//! cannot (a 40,000-character answer) instead of failing. A date Excel cannot hold no longer
//! gets in (forms take the years 1900 to 2199); the export's fallback for one is a unit test of
//! `web::export`.

use crate::common;
use crate::in_process;

use std::io::Cursor;

use axum::http::StatusCode;
use calamine::{Data, Reader, Xlsx};
use common::Db;
use in_process::{App, addr};
use serde_json::json;

const TREE: &[(&str, &str)] = &[
    (
        "processes/registro.yaml",
        "process: prueba.registro\ntitle: Registro\ncalendar: mx\nroles:\n  operador: Operador\nstart:\n  form: prueba-registro\n  roles: [operador]\nsteps:\n  revisar:\n    task: Revisar\n    role: operador\n    next: end\n",
    ),
    (
        "forms/registro.yaml",
        "form: prueba-registro\ntitle: Registro\nfields:\n  nota:\n    type: long_text\n    label: Nota\n    max_length: 50000\n  fecha:\n    type: date\n    label: Fecha\n  cantidad:\n    type: integer\n    label: Cantidad\n",
    ),
];

const PASSWORD: &str = "clave-del-admin";

/// Values a spreadsheet would run as a formula, and values it would not.
const NOTES: &[(&str, &str)] = &[
    ("=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("hola = adiós", "hola = adiós"),
];

async fn exports_hold_hostile_and_extreme_values(db: Db) {
    let app = App::new(&db, "exports", TREE).await;
    let ana = app.user("ana", &["operador"], false, None).await;
    app.user("root", &[], true, Some(PASSWORD)).await;
    let start = "/api/processes/prueba.registro/instances";
    for (note, _) in NOTES {
        let a = app.post(start, &ana, json!({ "data": { "nota": note, "fecha": "2026-03-02", "cantidad": -5 } })).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    let long = "ñ".repeat(40_000);
    let a = app.post(start, &ana, json!({ "data": { "nota": long, "fecha": "0001-01-01", "cantidad": 1 } })).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.json()["error"]["details"]["fields"]["fecha"]["code"], "date_range", "{}", a.body);
    let a = app.post(start, &ana, json!({ "data": { "nota": long, "fecha": "2026-03-02", "cantidad": 1 } })).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let cookie = app.session("root", PASSWORD).await;
    let from = addr("192.0.2.1");

    let csv = app.page("/admin/export/instances.csv?process=prueba.registro", &cookie, from).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    let mut reader = csv::ReaderBuilder::new().from_reader(csv.body.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (nota, cantidad) = (col("Nota"), col("Cantidad"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    for (note, written) in NOTES {
        let row = rows.iter().find(|r| r[nota].trim_start_matches('\'') == *note).unwrap_or_else(|| panic!("{note:?}"));
        assert_eq!(&row[nota], *written);
        assert_eq!(&row[cantidad], "-5", "numbers stay numbers");
    }
    assert!(rows.iter().any(|r| r[nota] == long), "CSV keeps the whole text");

    let xlsx = app.page("/admin/export/instances.xlsx?process=prueba.registro", &cookie, from).await;
    assert_eq!(xlsx.status, StatusCode::OK, "{}", xlsx.body);
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(xlsx.bytes.clone())).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let header: Vec<String> = sheet.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (nota, fecha) = (col("Nota"), col("Fecha"));
    let row = sheet.rows().find(|r| r[nota].to_string().starts_with("ññ")).unwrap();
    let text = row[nota].to_string();
    assert_eq!(text.chars().count(), 32_767, "Excel's most characters in a cell");
    assert!(text.ends_with('…'), "a cut text says so");
    assert!(matches!(row[fecha], Data::DateTime(_)), "{:?}", row[fecha]);
    let ordinary = sheet.rows().find(|r| r[nota] == Data::String("hola = adiós".into())).unwrap();
    assert!(matches!(ordinary[fecha], Data::DateTime(_)), "{:?}", ordinary[fecha]);
    assert_eq!(ordinary[col("Cantidad")], Data::Float(-5.0));
}

#[tokio::test]
async fn exports_on_sqlite() {
    exports_hold_hostile_and_extreme_values(Db::Sqlite).await;
}

#[tokio::test]
async fn exports_on_postgres() {
    exports_hold_hostile_and_extreme_values(Db::Postgres).await;
}
