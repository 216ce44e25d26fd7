//! Indicators through the server on SQLite and PostgreSQL, on a manual clock: four cases of a
//! small process, worked at known times, give values computed by hand below — a count per
//! group, an SLA share, an average business duration, a median, tasks per user — through the
//! API, the cases behind a value, the page (SVG chart, table, links), CSV and XLSX.

use crate::common;
use crate::in_process;

use axum::http::StatusCode;
use common::Db;
use in_process::App;
use serde_json::{Value, json};

const PROCESS: &str = r#"process: prueba.atencion
title: Atencion de prueba
calendar: mx
roles:
  agente: Agente
start:
  form: alta
slas:
  respuesta:
    title: Respuesta en dos dias habiles
    from: data.fecha
    until: atender.completed
    within: 2 business days
steps:
  atender:
    task: Atender
    role: agente
    form: resp
    report: prueba.atencion
    next: end
"#;

/// Another process, whose role gives no access to the first.
const OTHER: &str = "process: prueba.otro\ntitle: Otro\ncalendar: mx\nroles:\n  ajeno: Ajeno\nsteps:\n  hacer:\n    task: Hacer\n    role: ajeno\n    next: end\n";

const ALTA: &str = "form: alta\ntitle: Alta\nfields:\n  tema: { type: choice, label: Tema, required: true, options: { a: A, b: B } }\n  fecha: { type: datetime, label: Fecha, required: true }\n";
const RESP: &str = "form: resp\ntitle: Respuesta\nfields:\n  calificacion: { type: integer, label: Calificacion, required: true, min: 1, max: 5 }\n";

const INDICATORS: &str = r#"indicators: prueba.atencion
items:
  recibidos:
    title: Casos recibidos
    measure: count
    by: month
    group: data.tema
  en_plazo:
    title: Respondidos en plazo
    measure: sla
    sla: respuesta
    by: month
    target: 90%
  tiempo:
    title: Tiempo de respuesta
    measure: average
    value: business days from data.fecha to atender.completed
    by: month
    target: 2
    unit: dias habiles
  mediana:
    title: Calificacion mediana
    measure: median
    value: data.calificacion
  por_agente:
    title: Casos atendidos por agente
    measure: count
    of: tasks
    step: atender
    group: user
    by: month
"#;

async fn app(db: Db) -> App {
    App::new(
        &db,
        "indicator-pages",
        &[
            ("processes/atencion.yaml", PROCESS),
            ("processes/atencion.indicators.yaml", INDICATORS),
            ("processes/otro.yaml", OTHER),
            ("forms/alta.yaml", ALTA),
            ("forms/resp.yaml", RESP),
        ],
    )
    .await
}

/// The values of indicator `id` as `(period, group, value, n)`.
fn points(list: &Value, id: &str) -> Vec<(String, String, f64, i64)> {
    let ind =
        list["indicators"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap_or_else(|| panic!("{id}: {list}"));
    ind["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["period"].as_str().unwrap().to_string(),
                p["group"].as_str().unwrap().to_string(),
                p["value"].as_f64().unwrap_or(f64::NAN),
                p["n"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

async fn indicators_by_hand(db: Db) {
    let a = app(db).await;
    let ana = a.user("ana", &["agente"], false, Some("clave-de-ana-1")).await;
    let beto = a.user("beto", &["agente"], false, None).await;
    let otro = a.user("otro", &["ajeno"], false, None).await;
    // Four cases received Monday 2 March 2026, 09:00 in Mexico City (the clock's T0).
    let received = "2026-03-02T09:00:00-06:00";
    let mut tasks = Vec::new();
    for tema in ["a", "a", "b", "b"] {
        let r = a
            .post(
                "/api/processes/prueba.atencion/instances",
                &ana,
                json!({ "data": { "tema": tema, "fecha": received } }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        tasks.push(r.json()["tasks"][0]["id"].as_str().unwrap().to_string());
    }
    let complete = |task: String, token: String, score: i64| {
        let a = &a;
        async move {
            let r = a
                .post(&format!("/api/tasks/{task}/complete"), &token, json!({ "data": { "calificacion": score } }))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    };
    // Case 1: answered at once by ana (0 business days, score 5, in time).
    complete(tasks[0].clone(), ana.clone(), 5).await;
    // Case 2: answered Tuesday by ana (1 business day, score 3, in time: due Wednesday 18:00).
    a.advance(86_400);
    complete(tasks[1].clone(), ana.clone(), 3).await;
    // Case 3: answered Friday by beto (3, 4, 5, 6 March: 4 business days, score 4, late).
    a.advance(3 * 86_400);
    complete(tasks[2].clone(), beto.clone(), 4).await;
    // Case 4 stays open: its SLA still runs (it does not count in the share), no time yet.

    let r = a.get("/api/processes/prueba.atencion/indicators", &ana).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = r.json();
    // Received per theme in March: a 2, b 2.
    let received: Vec<(String, String, i64)> =
        points(&list, "recibidos").into_iter().map(|(p, g, _, n)| (p, g, n)).collect();
    assert_eq!(received, vec![("2026-03".into(), "a".into(), 2), ("2026-03".into(), "b".into(), 2)]);
    // In time: 2 of the 3 stopped clocks → 0.6667, below the 90 % target.
    let in_time = points(&list, "en_plazo");
    assert_eq!(in_time.len(), 1);
    assert!(close(in_time[0].2, 2.0 / 3.0) && in_time[0].3 == 3, "{in_time:?}");
    let ind = list["indicators"].as_array().unwrap().iter().find(|i| i["id"] == "en_plazo").unwrap();
    assert_eq!(ind["points"][0]["meets_target"], false);
    assert_eq!(ind["target"], 0.9);
    // Average time: (0 + 1 + 4) / 3 = 1.6667 business days, within the target of 2 (lower is better).
    let time = points(&list, "tiempo");
    assert!(close(time[0].2, 5.0 / 3.0) && time[0].3 == 3, "{time:?}");
    let ind = list["indicators"].as_array().unwrap().iter().find(|i| i["id"] == "tiempo").unwrap();
    assert_eq!(ind["points"][0]["meets_target"], true);
    // Median score of 3, 4, 5: 4 (nearest rank).
    let median = points(&list, "mediana");
    assert_eq!(median.len(), 1);
    assert!(close(median[0].2, 4.0) && median[0].3 == 3, "{median:?}");
    // Tasks answered per agent in March: ana 2, beto 1.
    let per_agent: Vec<(String, i64)> = points(&list, "por_agente").into_iter().map(|(_, g, _, n)| (g, n)).collect();
    assert_eq!(per_agent, vec![("ana".into(), 2), ("beto".into(), 1)]);

    // A range: March only, and a month with nothing.
    let r = a.get("/api/processes/prueba.atencion/indicators?from=2026-03&to=2026-03", &ana).await;
    assert_eq!(points(&r.json(), "recibidos").len(), 2);
    let r = a.get("/api/processes/prueba.atencion/indicators?from=2026-04", &ana).await;
    assert!(points(&r.json(), "recibidos").is_empty());
    // Refused: a period that is not one, a stranger to the process, an unknown indicator.
    let r = a.get("/api/processes/prueba.atencion/indicators?from=2026-13-", &ana).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "invalid_query");
    assert_eq!(a.get("/api/processes/prueba.atencion/indicators", &otro).await.status, StatusCode::FORBIDDEN);
    assert_eq!(a.get("/api/processes/prueba.atencion/indicators/nada/cases", &ana).await.status, StatusCode::NOT_FOUND);

    // The cases behind the share: the three answered, the late one with 0.
    let r = a.get("/api/processes/prueba.atencion/indicators/en_plazo/cases?period=2026-03&group=", &ana).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cases = r.json()["cases"].as_array().unwrap().clone();
    assert_eq!(cases.len(), 3, "{cases:?}");
    assert_eq!(cases.iter().filter(|c| c["value"] == 0.0).count(), 1);

    // The page: a chart per indicator, its numbers in a table, bars linking to their cases.
    let cookie = a.session("ana", "clave-de-ana-1").await;
    let page = a.page("/indicators/prueba.atencion", &cookie, in_process::addr("192.0.2.1")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body.matches("<svg class=\"chart\"").count(), 5, "{}", page.body);
    assert!(page.body.contains("href=\"/indicators/prueba.atencion/en_plazo?period=2026-03\""), "{}", page.body);
    assert!(page.body.contains("<table class=\"numbers\">") && page.body.contains("67 %"), "{}", page.body);
    let drill =
        a.page("/indicators/prueba.atencion/en_plazo?period=2026-03", &cookie, in_process::addr("192.0.2.1")).await;
    assert_eq!(drill.status, StatusCode::OK);
    assert_eq!(drill.body.matches("href=\"/instances/").count(), 3, "{}", drill.body);

    // A task that reports (`report:`) shows the indicators of the period before it opened: a case
    // registered in April shows March's values on its task's page.
    a.advance(30 * 86_400);
    let r = a
        .post(
            "/api/processes/prueba.atencion/instances",
            &ana,
            json!({ "data": { "tema": "a", "fecha": "2026-04-06T09:00:00-06:00" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let april = r.json()["tasks"][0]["id"].as_str().unwrap().to_string();
    let cookie = a.session("ana", "clave-de-ana-1").await;
    let task = a.page(&format!("/tasks/{april}"), &cookie, in_process::addr("192.0.2.1")).await;
    assert_eq!(task.status, StatusCode::OK, "{}", task.body);
    let report = &task.body[task.body.find("id=\"report\"").expect("a report section")..];
    assert!(report.contains("Respondidos en plazo · 2026-03") && report.contains("67 %"), "{report}");
    assert!(report.contains("/indicators/prueba.atencion?from=2026-03&#38;to=2026-03&#38;format=xlsx"), "{report}");
    // The task opened with its report to make; until it is made the page says so.
    assert!(report.contains("id=\"report-file\" class=\"help\""), "{report}");
    // (Every case's task reports: March's four were done before any report was made.)
    let jobs = a.rt.store.pending_report_jobs().await.unwrap();
    assert_eq!(jobs.len(), 5, "{jobs:?}");
    assert_eq!(jobs[4].0, april);

    // The worker computes the report and attaches the workbook to the task: an event of the
    // case, the file one of its files, the job done. Closed tasks' jobs are dropped.
    assert_eq!(tramite::app::reports::make_pending(&a.rt).await.unwrap(), 5);
    assert!(a.rt.store.pending_report_jobs().await.unwrap().is_empty());
    assert_eq!(tramite::app::reports::make_pending(&a.rt).await.unwrap(), 0);
    let case = april.rsplit_once('.').unwrap().0.to_string();
    let r = a.get(&format!("/api/instances/{case}"), &ana).await;
    let file = r.json()["tasks"][0]["report"].clone();
    assert_eq!(file["name"], "informe-prueba.atencion-2026-03.xlsx", "{}", r.body);
    assert_eq!(file["type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    // The task itself shows it too.
    assert_eq!(a.get(&format!("/api/tasks/{april}"), &ana).await.json()["report"], file);
    let history = a.get(&format!("/api/instances/{case}/history"), &ana).await.json();
    let attached: Vec<&Value> =
        history["events"].as_array().unwrap().iter().filter(|e| e["type"] == "report_attached").collect();
    assert_eq!(attached.len(), 1, "{history}");
    let sha = file["sha256"].as_str().unwrap();
    let got = a.get(&format!("/api/instances/{case}/files/{sha}"), &ana).await;
    assert_eq!(got.status, StatusCode::OK);
    // March alone: two cases of each topic, and the share answered in time (2 of 3).
    use calamine::Reader;
    let mut book =
        calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(std::io::Cursor::new(got.bytes.clone())).unwrap();
    let received = book.worksheet_range("I1").unwrap();
    let rows: Vec<Vec<String>> = received.rows().skip(2).map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    assert_eq!(
        rows.iter().map(|r| (r[0].as_str(), r[1].as_str(), r[2].as_str())).collect::<Vec<_>>(),
        [("2026-03", "a", "2"), ("2026-03", "b", "2")]
    );
    let in_time = book.worksheet_range("I2").unwrap();
    let share: f64 = in_time.get_value((2, 2)).unwrap().to_string().parse().unwrap();
    assert!((share - 2.0 / 3.0).abs() < 1e-9, "{share}");
    assert_eq!(in_time.rows().count(), 3, "March's value alone");
    let task = a.page(&format!("/tasks/{april}"), &cookie, in_process::addr("192.0.2.1")).await;
    assert!(
        task.body
            .contains(&format!("<a href=\"/instances/{case}/files/{sha}\">informe-prueba.atencion-2026-03.xlsx</a>")),
        "{}",
        task.body
    );

    // CSV and a workbook with a native chart per indicator.
    let csv = a.page("/indicators/prueba.atencion?format=csv", &cookie, in_process::addr("192.0.2.1")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with("indicador,titulo,periodo,grupo,valor,n,meta,cumple"), "{}", csv.body);
    assert!(csv.body.contains("recibidos,Casos recibidos,2026-03,a,2,2,,"), "{}", csv.body);
    let xlsx = a.page("/indicators/prueba.atencion?format=xlsx", &cookie, in_process::addr("192.0.2.1")).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.bytes.starts_with(b"PK"));
    let names = String::from_utf8_lossy(&xlsx.bytes).to_string();
    assert!(names.contains("xl/charts/chart1.xml") && names.contains("xl/charts/chart5.xml"), "five native charts");
    let mut book =
        calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(std::io::Cursor::new(xlsx.bytes.clone())).unwrap();
    let sheet = book.worksheet_range("I1").unwrap();
    assert_eq!(sheet.get_value((2, 1)).map(|c| c.to_string()), Some("a".to_string()));
    assert_eq!(sheet.get_value((2, 2)).map(|c| c.to_string()), Some("2".to_string()));
}

macro_rules! on_both {
    ($($name:ident),*) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Db::Postgres).await })*
        }
    };
}

on_both!(indicators_by_hand);
