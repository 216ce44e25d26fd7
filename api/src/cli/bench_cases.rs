//! `tramite bench --cases N`: the case list over N cases. The cases are written straight to
//! the tables (no transitions), then each search and filter of the front office runs through
//! the application layer as a user would ask it, a hundred times; p50 and p99 are printed.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use tramite_engine::machine::Actor;

use super::bench::percentile;
use crate::app::{self, CaseFilter, InboxFilter};
use crate::clock::{Clock, SystemClock};
use crate::mail::Templates;
use crate::runtime::Runtime;
use crate::store::search::fold;
use crate::store::{BenchCase, SlaFilter, Store, TaskRow};

const FIRST: [&str; 40] = [
    "Juana",
    "Pedro",
    "Luisa",
    "María",
    "José",
    "Ana",
    "Luis",
    "Carmen",
    "Jorge",
    "Rosa",
    "Miguel",
    "Elena",
    "Carlos",
    "Lucía",
    "Javier",
    "Marta",
    "Raúl",
    "Sofía",
    "Andrés",
    "Patricia",
    "Diego",
    "Laura",
    "Fernando",
    "Isabel",
    "Ricardo",
    "Teresa",
    "Alberto",
    "Gloria",
    "Héctor",
    "Silvia",
    "Óscar",
    "Beatriz",
    "Rubén",
    "Irene",
    "Emilio",
    "Adriana",
    "Tomás",
    "Verónica",
    "Iván",
    "Daniela",
];
const LAST: [&str; 50] = [
    "Pérez",
    "Gómez",
    "Martínez",
    "López",
    "Hernández",
    "García",
    "Rodríguez",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Flores",
    "Rivera",
    "Morales",
    "Ortiz",
    "Castillo",
    "Jiménez",
    "Vargas",
    "Romero",
    "Herrera",
    "Medina",
    "Aguilar",
    "Castro",
    "Mendoza",
    "Ruiz",
    "Chávez",
    "Delgado",
    "Vega",
    "Ríos",
    "Navarro",
    "Cruz",
    "Reyes",
    "Guerrero",
    "Muñoz",
    "Domínguez",
    "Salazar",
    "Cortés",
    "Ibarra",
    "Luna",
    "Rojas",
    "Campos",
    "Soto",
    "Guzmán",
    "Peña",
    "Fuentes",
    "Cabrera",
    "Silva",
    "Núñez",
    "Miranda",
    "Espinoza",
    "Valdez",
];
const TOPICS: [&str; 12] = [
    "¿Cómo me certifico en un estándar de competencia?",
    "Tengo un problema con mi certificado",
    "Solicito una constancia de mi evaluación",
    "¿Cuánto cuesta la evaluación?",
    "No encuentro mi folio de registro",
    "Quiero ser centro evaluador",
    "¿Dónde consulto los estándares publicados?",
    "Error al descargar mi certificado",
    "Cambio de datos personales",
    "Queja sobre la atención recibida",
    "Información sobre cursos de capacitación",
    "Validez de un certificado en el extranjero",
];

/// The `i`-th of `n` cases, started over the last two years up to `now`.
fn case(i: usize, n: usize, processes: &[String], now: Timestamp) -> BenchCase {
    let span = SignedDuration::from_hours(2 * 365 * 24);
    let started = now - SignedDuration::from_secs(span.as_secs() * (n - i) as i64 / n as i64);
    let name =
        format!("{} {} {}", FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()], LAST[(i / 7) % LAST.len()]);
    let question = TOPICS[i % TOPICS.len()];
    let folio = format!("BEN-{}-{:07}", started.to_zoned(jiff::tz::TimeZone::UTC).year(), i + 1);
    // The newest fifth still running; the rest ended, one in ten after its SLA was due.
    let running = i >= n - n / 5;
    let due = started + SignedDuration::from_hours(48);
    let ended = (!running).then(|| started + SignedDuration::from_hours(if i.is_multiple_of(10) { 72 } else { 20 }));
    BenchCase {
        id: format!("{:012x}{:016x}", started.as_millisecond(), i),
        process: processes[i % processes.len()].clone(),
        status: if running { "running" } else { "ended" }.to_string(),
        outcome: ended.map(|_| "respondido".to_string()),
        search_text: fold(&format!("{folio} {name} juana{i}@example.org {question}")),
        folio: Some(folio),
        started_at: started,
        ended_at: ended,
        started_by: Some(format!("op{}", i % 200)),
        sla_warn_at: Some(due - SignedDuration::from_hours(24)),
        sla_due_at: Some(due),
    }
}

/// Loads `n` cases into `url` and measures the case list.
pub async fn run(url: &str, processes: &Path, n: usize) -> Result<(), String> {
    let (rt, ids) = open(url, processes).await?;
    let now = SystemClock.now();
    load(&rt, n, "cases", |i| case(i, n, &ids, now), false).await?;
    measure_cases(&rt, n, &ids, now).await
}

/// A runtime over `url` with the tree at `processes` deployed, and the ids of its processes.
async fn open(url: &str, processes: &Path) -> Result<(Arc<Runtime>, Vec<String>), String> {
    let store = Store::open(url).await.map_err(|e| e.to_string())?;
    let rt = Arc::new(Runtime::new(store, Templates::load(None)?, Arc::new(SystemClock)));
    rt.deploy_paths(&[processes.to_path_buf()]).await.map_err(|e| e.to_string())?;
    let ids: Vec<String> = rt.registry().all_latest().iter().map(|d| d.process.id.clone()).collect();
    if ids.is_empty() {
        return Err(format!("no process deployed from {}", processes.display()));
    }
    Ok((rt, ids))
}

/// Writes the cases `make` gives for 0..`n` straight to the tables (with an open task each
/// when `tasks`), 20,000 per transaction; a database that already holds exactly `n` cases (kept
/// from an earlier run) is used as it is.
async fn load(
    rt: &Runtime,
    n: usize,
    what: &str,
    make: impl Fn(usize) -> BenchCase,
    tasks: bool,
) -> Result<(), String> {
    let t0 = Instant::now();
    let held = rt.store.instance_count().await.map_err(|e| e.to_string())?;
    if held as usize == n && n > 0 {
        println!("{:<28} {n} {what} already there (a database kept from an earlier run)", rt.store.backend());
        return Ok(());
    }
    if held != 0 {
        return Err(format!("the database holds {held} instances, not none nor {n}"));
    }
    let chunk = 20_000;
    for from in (0..n).step_by(chunk) {
        let cases: Vec<BenchCase> = (from..(from + chunk).min(n)).map(&make).collect();
        rt.store.load_bench_cases(&cases).await.map_err(|e| e.to_string())?;
        if tasks {
            let rows: Vec<TaskRow> = cases.iter().enumerate().map(|(k, c)| open_task(c, from + k)).collect();
            rt.store.load_bench_tasks(&rows).await.map_err(|e| e.to_string())?;
        }
    }
    rt.store.analyze_after_load().await.map_err(|e| e.to_string())?;
    println!("{:<28} {n} {what} loaded in {:.1} s", rt.store.backend(), t0.elapsed().as_secs_f64());
    Ok(())
}

/// The front office's searches and filters over the `n` cases [`case`] makes, each a hundred
/// times through the application layer.
async fn measure_cases(rt: &Arc<Runtime>, n: usize, ids: &[String], now: Timestamp) -> Result<(), String> {
    let rt = rt.clone();
    let admin = Actor { admin: true, ..Actor::new("admin", &[]) };
    let operator = Actor::new("op7", &["operador"]);
    let probe = case(n / 2, n, ids, now);
    let folio = probe.folio.clone().unwrap_or_default();
    let f = |q: &str| CaseFilter { q: Some(q.to_string()), ..CaseFilter::default() };
    let mut deep = CaseFilter::default();
    // The 50th page (of 50): keyset pagination costs the same deep in the list.
    for _ in 0..49 {
        let page = app::cases(&rt, &admin, &deep).await.map_err(|e| e.to_string())?;
        deep.cursor = page.next.map(|c| c.token());
    }
    let queries: Vec<(&str, &Actor, CaseFilter)> = vec![
        ("newest first (admin)", &admin, CaseFilter::default()),
        ("newest first (operator)", &operator, CaseFilter::default()),
        ("by folio", &admin, f(&folio)),
        ("by name, two words", &admin, f("juana perez")),
        ("by a frequent word", &operator, f("certificado")),
        ("by a word prefix", &operator, f("certif*")),
        ("by a name (operator)", &operator, f("juana perez")),
        ("by a word no case has", &operator, f("inexistente")),
        (
            "by process + status",
            &admin,
            CaseFilter { process: Some(ids[0].clone()), status: Some("ended".into()), ..CaseFilter::default() },
        ),
        ("SLA breached", &admin, CaseFilter { sla: Some("breached".into()), ..CaseFilter::default() }),
        ("SLA met late", &admin, CaseFilter { sla: Some("met-late".into()), ..CaseFilter::default() }),
        ("my requests", &operator, CaseFilter { mine: Some("true".into()), ..CaseFilter::default() }),
        (
            "started in one week",
            &admin,
            CaseFilter { from: Some("2026-01-05".into()), to: Some("2026-01-11".into()), ..CaseFilter::default() },
        ),
        ("50th page", &admin, deep),
    ];
    for (label, actor, filter) in queries {
        let mut lat: Vec<Duration> = Vec::new();
        let mut rows = 0;
        for _ in 0..100 {
            let s = Instant::now();
            let page = app::cases(&rt, actor, &filter).await.map_err(|e| format!("{label}: {e}"))?;
            lat.push(s.elapsed());
            rows = page.rows.len();
        }
        print_latency(label, lat, rows);
    }
    Ok(())
}

fn print_latency(label: &str, mut lat: Vec<Duration>, rows: usize) {
    lat.sort();
    println!(
        "  {label:<26} p50 {:>8.2} ms   p99 {:>8.2} ms   ({rows} rows on the page)",
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
    );
}

/// Roles the bench's open tasks are spread over: the inbox of one holds a quarter of them.
const ROLES: [&str; 4] = ["operador", "responsable_canales", "supervisor", "analista"];

/// The open task of the `i`-th running case: due three business days after it started (every
/// other one), under the case's SLA, for one of [`ROLES`] or (one in twenty) one operator.
fn open_task(c: &BenchCase, i: usize) -> TaskRow {
    TaskRow {
        id: format!("{}:1", c.id),
        instance_id: c.id.clone(),
        token: 1,
        process: c.process.clone(),
        step: "responder".into(),
        title: "Responder".into(),
        role: ROLES[i % ROLES.len()].into(),
        role_scope: None,
        assignee: i.is_multiple_of(20).then(|| format!("op{}", i % 200)),
        kind: "task".into(),
        folio: c.folio.clone(),
        status: "open".into(),
        due_at: i.is_multiple_of(2).then(|| c.started_at + SignedDuration::from_hours(72)),
        claimed_by: None,
        item: None,
        sla: c.sla_due_at.map(|_| "respuesta".into()),
        sla_warn_at: c.sla_warn_at,
        sla_due_at: c.sla_due_at,
        created_at: c.started_at,
    }
}

/// Loads `n` running cases with one open task each into `url` and measures the inbox of one
/// role (first page, soonest due first; with each SLA filter; deep pages), then the case list.
pub async fn run_inbox(url: &str, processes: &Path, n: usize) -> Result<(), String> {
    let (rt, ids) = open(url, processes).await?;
    let now = SystemClock.now();
    // Every case running, started over the last thirty days: its SLA (48 h) ok, warning or
    // breached according to its age.
    let running = |i: usize| {
        let mut c = case(i, n, &ids, now);
        c.started_at = now - SignedDuration::from_secs(30 * 86_400 * (n - i) as i64 / n as i64);
        c.sla_warn_at = Some(c.started_at + SignedDuration::from_hours(24));
        c.sla_due_at = Some(c.started_at + SignedDuration::from_hours(48));
        (c.status, c.outcome, c.ended_at) = ("running".into(), None, None);
        c
    };
    load(&rt, n, "running cases with an open task each", running, true).await?;
    let operator = Actor::new("op7", &["operador"]);
    let admin = Actor { admin: true, ..Actor::new("admin", &[]) };
    let f = |sla: Option<SlaFilter>| InboxFilter { process: None, due_before: None, sla, after: None, limit: 50 };
    let mut deep = f(None);
    for _ in 0..49 {
        let page = app::inbox(&rt, &operator, deep.clone()).await.map_err(|e| e.to_string())?;
        deep.after = page.next;
    }
    let tomorrow = InboxFilter { due_before: Some(now + SignedDuration::from_hours(24)), ..f(None) };
    let queries: Vec<(&str, &Actor, InboxFilter)> = vec![
        ("inbox, first page", &operator, f(None)),
        ("inbox, SLA ok", &operator, f(Some(SlaFilter::Ok))),
        ("inbox, SLA warning", &operator, f(Some(SlaFilter::Warning))),
        ("inbox, SLA breached", &operator, f(Some(SlaFilter::Breached))),
        ("inbox, due within a day", &operator, tomorrow),
        ("inbox, 50th page", &operator, deep),
        ("inbox, admin (every role)", &admin, f(None)),
    ];
    for (label, actor, filter) in queries {
        let mut lat: Vec<Duration> = Vec::new();
        let mut rows = 0;
        for _ in 0..100 {
            let s = Instant::now();
            let page = app::inbox(&rt, actor, filter.clone()).await.map_err(|e| format!("{label}: {e}"))?;
            lat.push(s.elapsed());
            rows = page.rows.len();
        }
        print_latency(label, lat, rows);
    }
    measure_cases(&rt, n, &ids, now).await
}
