//! `tramite bench`: throughput and latency of task completions on the shipped C.4.5 process —
//! on the pure engine, and through the runtime and store (SQLite, PostgreSQL).

use crate::clock::{Clock, SystemClock};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use serde_json::{Map, Value, json};
use tramite_engine::machine::{self, Actor, Command, Env};

use crate::files;
use crate::mail::Templates;
use crate::runtime::Runtime;
use crate::store::Store;

pub(super) const PROCESS: &str = "conocer.c45-correos";

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Instances to run (each has two task completions).
    #[arg(long, default_value_t = 2000)]
    pub instances: usize,
    /// Instances run by the pure engine (no storage).
    #[arg(long, default_value_t = 200_000)]
    pub engine_instances: usize,
    /// Concurrent clients against the store.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Databases to measure: `sqlite` (a temporary file) and/or `postgres://…` URLs.
    #[arg(long = "database", default_values_t = vec!["sqlite".to_string()])]
    pub databases: Vec<String>,
    #[arg(long, default_value = "processes")]
    pub processes: PathBuf,
    /// Instead: load this many cases straight into each database and measure the case list's
    /// searches and filters (e.g. `--cases 1000000`).
    #[arg(long)]
    pub cases: Option<usize>,
    /// Instead: load this many running cases with an open task each straight into each
    /// database and measure the inbox of one role, then the case list (e.g. `--open-tasks
    /// 1000000`).
    #[arg(long, conflicts_with = "cases")]
    pub open_tasks: Option<usize>,
    /// Instead: start this many cases whose SLA falls due within about a minute of each other,
    /// then let the scheduler fire them and measure the delay from each due instant to the
    /// commit of its alert (e.g. `--alerts 100000`).
    #[arg(long, conflicts_with_all = ["cases", "open_tasks"])]
    pub alerts: Option<usize>,
    /// Instead: load this many case values of one indicator straight into each database and
    /// measure the aggregations an indicator page runs (e.g. `--indicators 1000000`).
    #[arg(long, conflicts_with_all = ["cases", "open_tasks", "alerts"])]
    pub indicators: Option<usize>,
    /// Nodes sharing the database: each a runtime with its own connections and writers, the
    /// clients spread over them (in this one process; `docs/scaling.md`).
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// Complete the tasks through the real HTTP server on loopback (router, middleware, bearer
    /// tokens, JSON) instead of calling the runtime.
    #[arg(long, conflicts_with_all = ["cases", "open_tasks", "alerts"])]
    pub http: bool,
}

pub(super) fn start_data(i: usize) -> Map<String, Value> {
    let v = json!({
        "fecha_recepcion": SystemClock.now().to_string(), "nombre_contacto": format!("Bench {i}"),
        "correo": "bench@example.org", "pregunta": "¿?"
    });
    v.as_object().cloned().unwrap_or_default()
}

pub(super) fn answer(step: &str) -> Map<String, Value> {
    let v = match step {
        "determinar_tipo" => json!({ "tipo": "informacion", "tema": "t", "atencion_inmediata": true }),
        _ => json!({ "respuesta": "ok" }),
    };
    v.as_object().cloned().unwrap_or_default()
}

fn first_task(inst: &machine::Instance) -> Option<(u64, String)> {
    inst.tasks().next().map(|(t, _)| (t.id, t.step.clone()))
}

pub(super) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn machine_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("{cores} cores, {cpu}; {}", fsync_rate(&std::env::temp_dir()))
}

/// How many 4 KiB appends, each followed by an fsync, the disk under `dir` takes a second
/// (about a third of a second of them). A durable commit waits for one such flush, so this
/// bounds commits a second; the figures of machines with different disks compare through it.
fn fsync_rate(dir: &std::path::Path) -> String {
    use std::io::Write;
    let path = dir.join(format!("tramite-bench-fsync-{}", std::process::id()));
    let probe = || -> std::io::Result<f64> {
        let mut f = std::fs::File::create(&path)?;
        let block = [0u8; 4096];
        let (t0, mut n) = (Instant::now(), 0u32);
        while n < 5000 && t0.elapsed() < Duration::from_millis(300) {
            f.write_all(&block)?;
            f.sync_all()?;
            n += 1;
        }
        Ok(f64::from(n) / t0.elapsed().as_secs_f64())
    };
    let rate = probe();
    let _ = std::fs::remove_file(&path);
    match rate {
        Ok(r) => format!("disk of {}: {r:.0} fsyncs/s (4 KiB appends)", dir.display()),
        Err(e) => format!("disk of {}: not measured ({e})", dir.display()),
    }
}

/// The machine's CPU counters (`/proc/stat`) and this process's CPU time, read before and after
/// a run, so each figure is printed with what else the machine was doing: the CPU this process
/// used (the clients, the server and, for SQLite, the database), the cores left idle, and the
/// time the hypervisor gave to other machines (steal), which slows a shared machine's runs.
pub(super) struct Host {
    at: Instant,
    ticks: [u64; 3],
    own: u64,
}

impl Host {
    pub(super) fn now() -> Host {
        Host { at: Instant::now(), ticks: Self::machine_ticks(), own: Self::own_ticks() }
    }

    /// Total, idle (with I/O wait) and stolen ticks of all cores.
    fn machine_ticks() -> [u64; 3] {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let f: Vec<u64> =
            stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
        let at = |i: usize| f.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal (guest time is counted in user).
        [(0..8).map(at).sum(), at(3) + at(4), at(7)]
    }

    /// This process's user and system ticks (`/proc/self/stat`, fields 14 and 15).
    fn own_ticks() -> u64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // The command name, in parentheses, may hold spaces: count fields after it.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        // After the name: state (not a number, skipped), then fields 4.. of which 14, 15 (some
        // before them, e.g. the terminal's group, may be -1).
        let f: Vec<i64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        let at = |i: usize| u64::try_from(f.get(i).copied().unwrap_or(0)).unwrap_or(0);
        at(10) + at(11)
    }

    /// One line: this process's CPU, and the machine's idle and stolen shares, since `self`.
    pub(super) fn line(&self) -> String {
        let (end, own) = (Self::machine_ticks(), Self::own_ticks());
        let total = end[0].saturating_sub(self.ticks[0]).max(1) as f64;
        let share = |i: usize| end[i].saturating_sub(self.ticks[i]) as f64 * 100.0 / total;
        // Clock ticks are 1/100 s on Linux (USER_HZ).
        let cpu = own.saturating_sub(self.own) as f64 / 100.0;
        format!(
            "CPU: this process {cpu:.2} s in {:.2} s; machine idle {:.0} %, stolen by the host {:.0} %",
            self.at.elapsed().as_secs_f64(),
            share(1),
            share(2)
        )
    }
}

/// Resident memory of this process, in MiB: its own (heap and stacks, `RssAnon`) and the files
/// it maps (`RssFile`: the binary, and the database file SQLite reads through its memory map,
/// which is the kernel's page cache, shared and reclaimable, and grows with the database).
#[derive(Clone, Copy, Default)]
pub(super) struct Rss {
    pub own: f64,
    pub files: f64,
}

impl Rss {
    pub(super) fn now() -> Rss {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Rss { own: kib("RssAnon:") / 1024.0, files: kib("RssFile:") / 1024.0 }
    }

    /// The larger of each figure.
    pub(super) fn max(self, other: Rss) -> Rss {
        Rss { own: self.own.max(other.own), files: self.files.max(other.files) }
    }
}

impl std::fmt::Display for Rss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1} MiB (+ {:.1} MiB of mapped files)", self.own, self.files)
    }
}

pub(super) fn report(label: &str, instances: usize, completions: usize, elapsed: Duration, mut lat: Vec<Duration>) {
    lat.sort();
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "{label:<28} {:>10.0} instances/s {:>10.0} completions/s   p50 {:>8.3} ms   p99 {:>8.3} ms   ({completions} completions in {:.2} s)",
        instances as f64 / secs,
        completions as f64 / secs,
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        secs
    );
}

pub async fn run(args: BenchArgs) -> ExitCode {
    let loaded = files::load(std::slice::from_ref(&args.processes));
    let Some(process) = loaded.catalog.processes.get(PROCESS) else {
        eprintln!("error: {PROCESS} not found under {}", args.processes.display());
        return ExitCode::FAILURE;
    };
    let Some(calendar) = loaded.catalog.calendar_of(process) else { return ExitCode::FAILURE };
    println!("machine: {}", machine_line());
    if args.cases.is_none()
        && args.open_tasks.is_none()
        && args.alerts.is_none()
        && args.indicators.is_none()
        && !args.http
    {
        let env = Env { process, calendar, forms: &loaded.catalog.forms };
        if let Err(e) = bench_engine(env, args.engine_instances) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    for db in &args.databases {
        let dir = std::env::temp_dir().join(format!("tramite-bench-{}", std::process::id()));
        // `sqlite` is a temporary file; a `sqlite://…` URL is kept (e.g. to measure the same
        // million cases again without loading them).
        let url = if db == "sqlite" {
            let _ = std::fs::create_dir_all(&dir);
            format!("sqlite://{}", dir.join("bench.db").display())
        } else {
            db.clone()
        };
        if let Some(n) = args.indicators {
            if let Err(e) = super::bench_indicators::run(&url, n).await {
                eprintln!("error: {url}: {e}");
                return ExitCode::FAILURE;
            }
            let _ = std::fs::remove_dir_all(&dir);
            continue;
        }
        let done = match (args.cases, args.open_tasks, args.alerts) {
            (Some(n), _, _) => super::bench_cases::run(&url, &args.processes, n).await,
            (None, Some(n), _) => super::bench_cases::run_inbox(&url, &args.processes, n).await,
            (None, None, Some(n)) => super::bench_alerts::run(&url, &args.processes, n, args.concurrency).await,
            (None, None, None) if args.http => {
                super::bench_http::run(&url, &args.processes, args.instances, args.concurrency).await
            }
            (None, None, None) => bench_store(&url, &args).await,
        };
        if let Err(e) = done {
            eprintln!("error: {url}: {e}");
            return ExitCode::FAILURE;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    ExitCode::SUCCESS
}

/// The pure transition function: start, then complete both tasks of each instance.
fn bench_engine(env: Env<'_>, n: usize) -> Result<(), String> {
    let actor = Actor::new("bench", &["operador"]);
    let now = SystemClock.now();
    // Sample at most ~100 000 latencies so the bench's own memory stays flat too.
    let stride = (n * 2 / 100_000).max(1);
    let mut lat = Vec::with_capacity(n * 2 / stride + 1);
    let t0 = Instant::now();
    let mut completions = 0;
    let mut rss = Vec::new();
    for i in 0..n {
        if i % (n / 4).max(1) == 0 {
            rss.push(format!("{:.1}", Rss::now().own));
        }
        let (mut inst, _) = match machine::start(env, &i.to_string(), start_data(i), Some(&actor), now) {
            Ok(started) => started,
            Err(e) => return Err(format!("the engine refused to start instance {i}: {e}")),
        };
        while let Some((token, step)) = first_task(&inst) {
            let s = Instant::now();
            match machine::execute(
                env,
                &inst,
                Some(&actor),
                Command::Complete { task: token, data: answer(&step) },
                now,
            ) {
                Ok((next, _)) => inst = next,
                Err(e) => return Err(format!("the engine refused to complete `{step}` of instance {i}: {e}")),
            }
            if completions % stride == 0 {
                lat.push(s.elapsed());
            }
            completions += 1;
        }
    }
    report("engine (no storage)", n, completions, t0.elapsed(), lat);
    rss.push(format!("{:.1}", Rss::now().own));
    println!(
        "{:<28} resident memory (heap and stacks) at 0/25/50/75/100 % of the instances: {} MiB",
        "",
        rss.join(" / ")
    );
    Ok(())
}

async fn bench_store(url: &str, args: &BenchArgs) -> Result<(), String> {
    // Each node: its own connection pool, writers and registry, on the one database.
    let mut nodes = Vec::new();
    for _ in 0..args.nodes.max(1) {
        let store = Store::open(url).await.map_err(|e| e.to_string())?;
        let rt = Arc::new(Runtime::new(store, Templates::load(None)?, Arc::new(SystemClock)));
        rt.start_writer();
        rt.deploy_paths(std::slice::from_ref(&args.processes)).await.map_err(|e| e.to_string())?;
        nodes.push(rt);
    }
    let actor = Actor::new("bench", &["operador"]);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let host = Host::now();
    let t0 = Instant::now();
    let mut workers = Vec::new();
    for client in 0..args.concurrency {
        let rt = nodes[client % nodes.len()].clone();
        let (actor, next, n) = (actor.clone(), next.clone(), args.instances);
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, String>(lat);
                }
                let mut inst = rt.start(PROCESS, start_data(i), &actor, None).await.map_err(|e| e.to_string())?.0.state;
                while let Some((token, step)) = first_task(&inst) {
                    let s = Instant::now();
                    inst = rt
                        .act(&inst.id, Some(&actor), Command::Complete { task: token, data: answer(&step) })
                        .await
                        .map_err(|e| e.to_string())?;
                    lat.push(s.elapsed());
                }
            }
        }));
    }
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.await.map_err(|e| e.to_string())??);
    }
    let elapsed = t0.elapsed();
    let label = match nodes.len() {
        1 => format!("{} (durable)", nodes[0].store.backend()),
        k => format!("{} (durable, {k} nodes)", nodes[0].store.backend()),
    };
    report(&label, args.instances, lat.len(), elapsed, lat);
    for rt in &nodes {
        print_writes(&rt.writes.figures(), elapsed);
    }
    println!("{:<28} {}", "", host.line());
    Ok(())
}

/// Where the writers' time went: commits, units per commit, and each phase's share.
pub(super) fn print_writes(w: &crate::runtime::WriterFigures, elapsed: Duration) {
    if w.commits == 0 {
        return;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3 / w.commits as f64;
    println!(
        "{:<28} {} commits, {:.1} units each; per commit: read {:.2} ms, decide {:.2} ms, write {:.2} ms, commit {:.2} ms; writers busy {:.0} % of {:.2} s",
        "",
        w.commits,
        w.units as f64 / w.commits as f64,
        ms(w.read),
        ms(w.prepare),
        ms(w.write),
        ms(w.commit),
        (w.read + w.prepare + w.write + w.commit).as_secs_f64() * 100.0 / elapsed.as_secs_f64().max(1e-9),
        elapsed.as_secs_f64()
    );
}
