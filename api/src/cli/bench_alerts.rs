//! `tramite bench --alerts N`: N cases whose SLA falls due within one minute, evenly,
//! fired by the real scheduler through the writers. Printed: the delay from each due instant
//! to the commit of its breach (the alert event and its outbox row, one transaction) at p50,
//! p99 and worst, and resident memory before and after.
//!
//! The cases are started on a clock that runs with real time but can be moved forward: once
//! all are started, it jumps to five seconds before the first due instant, so the timers then
//! fall due in real time at the pace the cases were started.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::Map;
use tramite_engine::machine::Actor;

use super::bench::{Rss, percentile};
use crate::clock::{Clock, SystemClock};
use crate::mail::Templates;
use crate::runtime::Runtime;
use crate::store::{Store, UserRow};

const PROCESS: &str = "bench.alertas";

/// A case with one task and an SLA of ten minutes whose breach tells the operators.
const DEFINITION: &str = "process: bench.alertas
title: Alertas (tramite bench)
calendar: mx
roles:
  operador: Operador
start:
  roles: [operador]
slas:
  respuesta:
    title: Respuesta
    from: started
    until: completed
    within: 10 minutes
    on_breach: [notify: operador]
steps:
  atender:
    task: Atender
    role: operador
    next: end
";

/// Real time plus an offset that only grows.
#[derive(Debug, Default)]
struct Shifted {
    offset_us: AtomicI64,
}

impl Clock for Shifted {
    fn now(&self) -> Timestamp {
        let now = SystemClock.now();
        now.checked_add(SignedDuration::from_micros(self.offset_us.load(Ordering::Relaxed))).unwrap_or(now)
    }
}

pub async fn run(url: &str, processes: &Path, n: usize, clients: usize) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("tramite-bench-alerts-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("processes")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("processes/alertas.yaml"), DEFINITION).map_err(|e| e.to_string())?;
    let clock = Arc::new(Shifted::default());
    let store = Store::open(url).await.map_err(|e| e.to_string())?;
    let rt = Arc::new(Runtime::new(store, Templates::load(None)?, clock.clone()));
    rt.start_writer();
    rt.deploy_paths(&[processes.to_path_buf(), dir.clone()]).await.map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&dir);
    if rt.deployed(PROCESS, None).is_none() {
        return Err(format!("{PROCESS} did not deploy"));
    }
    let user = UserRow {
        name: "bench-alertas".into(),
        email: Some("alertas@example.org".into()),
        roles: vec!["operador".into()],
        admin: false,
    };
    let now = rt.now();
    rt.store.add_user(&user, "bench-alertas-token", now, None, now).await.map_err(|e| e.to_string())?;

    // Start the cases (64 clients), evenly over a minute: their breaches fall due ten minutes
    // after each start, so within one minute too.
    let rss_before = Rss::now();
    let t0 = Instant::now();
    let pace = Duration::from_secs(60).as_secs_f64() / n.max(1) as f64;
    let first_start = rt.now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let actor = Actor::new("bench-alertas", &["operador"]);
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (rt, next, actor) = (rt.clone(), next.clone(), actor.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                tokio::time::sleep_until((t0 + Duration::from_secs_f64(pace * i as f64)).into()).await;
                rt.start(PROCESS, Map::new(), &actor, None).await.map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        }));
    }
    for w in workers {
        w.await.map_err(|e| e.to_string())??;
    }
    let span = t0.elapsed();
    println!(
        "{:<28} {n} cases started in {:.1} s: their SLAs fall due over {:.1} s",
        rt.store.backend(),
        span.as_secs_f64(),
        span.as_secs_f64()
    );

    // Jump to five seconds before the first breach, then let the scheduler run on real time.
    let first_due = first_start + SignedDuration::from_mins(10);
    let jump = first_due.duration_since(rt.now()) - SignedDuration::from_secs(5);
    clock.offset_us.fetch_add(jump.as_micros() as i64, Ordering::Relaxed);
    rt.metrics.keep_lags();
    let (host, rss_firing) = (super::bench::Host::now(), Rss::now());
    let scheduler = tokio::spawn(crate::scheduler::run(rt.clone()));
    let t1 = Instant::now();
    let mut rss_during = Rss::default();
    let deadline = span + Duration::from_secs(120);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        rss_during = rss_during.max(Rss::now());
        if rt.metrics.kept_lags().len() >= n || t1.elapsed() > deadline {
            break;
        }
    }
    scheduler.abort();
    let mut lags: Vec<Duration> =
        rt.metrics.kept_lags().into_iter().map(|l| Duration::try_from(l).unwrap_or(Duration::ZERO)).collect();
    lags.sort();
    let fired = lags.len();
    println!(
        "{:<28} {fired} of {n} breaches fired; delay from due instant to commit: p50 {:.3} s   p99 {:.3} s   worst {:.3} s",
        "",
        percentile(&lags, 0.50).as_secs_f64(),
        percentile(&lags, 0.99).as_secs_f64(),
        lags.last().copied().unwrap_or_default().as_secs_f64()
    );
    let w = rt.writes.figures();
    println!(
        "{:<28} resident memory: {rss_before} before the starts, {rss_firing} when the firing began, at most {rss_during} while firing, {} after",
        "",
        Rss::now()
    );
    super::bench::print_writes(&w, t0.elapsed());
    println!("{:<28} while firing: {}", "", host.line());
    if fired < n {
        return Err(format!("only {fired} of {n} breaches fired within {} s", deadline.as_secs()));
    }
    Ok(())
}
