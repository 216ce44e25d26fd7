//! Definitions far larger than any manual needs — as a careless generator or a hostile upload
//! might send — load, start and run without exhausting a thread's stack: neither the loader nor
//! the transition function recurses once per step.

use std::collections::BTreeMap;
use std::fmt::Write;

use jiff::{Timestamp, ToSpan};
use serde_json::Map;
use tramite_engine::calendar;
use tramite_engine::definition::{self, Catalog, SourceFile};
use tramite_engine::machine::{self, Actor, Command, Env, Status};

/// Steps in the generated chains.
const STEPS: usize = 10_000;
/// A worker thread far smaller than the server's (2 MiB): what recursion per step would blow.
const SMALL_STACK: usize = 256 * 1024;
/// What a definition file may nest to needs at most half a worker's stack in a debug build.
const STACK_FOR_YAML: usize = 1024 * 1024;

/// Runs `f` on a thread with a small stack; an overflow aborts the test binary.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(SMALL_STACK).spawn(f).unwrap().join().unwrap()
}

/// A process whose steps go one to the next: `before` (YAML of steps written first), then
/// `n` steps written by `step(i, next)`, the last going to `end`.
fn chain(id: &str, before: &str, n: usize, step: impl Fn(usize, &str) -> String) -> String {
    let mut y = format!("process: {id}\ntitle: Cadena\ncalendar: mx\nroles:\n  agente: Agente\nsteps:\n{before}");
    for i in 0..n {
        let next = if i + 1 == n { "end".to_string() } else { format!("p{}", i + 1) };
        y.push_str(&step(i, &next));
    }
    y
}

fn decision(i: usize, next: &str) -> String {
    format!(
        "  p{i}:\n    decision: Paso {i}\n    next:\n      - when: 'now != \"\"'\n        goto: {next}\n      - goto: {next}\n"
    )
}

fn task(i: usize, next: &str) -> String {
    format!("  p{i}:\n    task: Paso {i}\n    role: agente\n    next: {next}\n")
}

fn load(path: &str, text: String) -> Catalog {
    let cals: BTreeMap<_, _> =
        calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect();
    let (catalog, diags) = definition::load(&[SourceFile { path: path.into(), text }], cals);
    assert!(diags.is_empty(), "{:?}", diags.iter().take(3).collect::<Vec<_>>());
    catalog
}

fn env<'c>(catalog: &'c Catalog, id: &str) -> Env<'c> {
    let process = &catalog.processes[id];
    Env { process, calendar: catalog.calendar_of(process).unwrap(), forms: &catalog.forms }
}

fn t0() -> Timestamp {
    "2026-03-02T16:00:00Z".parse().unwrap()
}

#[test]
fn a_long_chain_of_decisions_runs_to_its_end_on_a_small_stack() {
    // Read on an ordinary stack (the YAML reader's depth is the file's nesting, not its length);
    // run on a small one.
    let catalog = load("decisiones.yaml", chain("enorme.decisiones", "", STEPS, decision));
    let status = on_small_stack(move || {
        let (inst, records) = machine::start(env(&catalog, "enorme.decisiones"), "i1", Map::new(), None, t0()).unwrap();
        assert!(records.len() > 2 * STEPS);
        inst.status
    });
    assert_eq!(status, Status::Ended { outcome: "completed".into() });
}

#[test]
fn a_long_chain_of_decisions_behind_a_wait_runs_when_the_timer_fires() {
    let wait = "  esperar:\n    wait: Esperar\n    for: 1 day\n    next: p0\n";
    let catalog = load("espera.yaml", chain("enorme.espera", wait, STEPS, decision));
    let status = on_small_stack(move || {
        let env = env(&catalog, "enorme.espera");
        let (mut inst, _) = machine::start(env, "i1", Map::new(), None, t0()).unwrap();
        assert_eq!(inst.active_steps(), vec!["esperar".to_string()]);
        let fired = machine::fire_due(env, &mut inst, t0() + 48.hours());
        assert!(fired.len() > 2 * STEPS);
        inst.status
    });
    assert_eq!(status, Status::Ended { outcome: "completed".into() });
}

#[test]
fn a_long_chain_of_tasks_is_worked_to_its_end_on_a_small_stack() {
    let (done, status) = on_small_stack(|| {
        let catalog = load("tareas.yaml", chain("enorme.tareas", "", STEPS, task));
        let env = env(&catalog, "enorme.tareas");
        let ana = Actor::new("ana", &["agente"]);
        let (mut inst, _) = machine::start(env, "i1", Map::new(), None, t0()).unwrap();
        let mut done = 0;
        loop {
            let Some(task) = inst.tasks().map(|(t, _)| t.id).next() else { break };
            let cmd = Command::Complete { task, data: Map::new() };
            inst = machine::execute(env, &inst, Some(&ana), cmd, t0()).unwrap().0;
            done += 1;
        }
        (done, inst.status)
    });
    assert_eq!(done, STEPS);
    assert_eq!(status, Status::Ended { outcome: "completed".into() });
}

/// Branches, each a chain of decisions, nested in parallels: the branches are still entered in
/// the order they are listed, each run to its `join` before the next begins.
#[test]
fn nested_parallel_chains_run_on_a_small_stack_in_branch_order() {
    let (status, entered) = on_small_stack(|| {
        let mut y = String::from("process: enorme.ramas\ntitle: Ramas\ncalendar: mx\nsteps:\n");
        y.push_str("  abrir:\n    parallel: Abrir\n    branches: [a0, b0]\n    next: end\n");
        for branch in ["a", "b"] {
            for i in 0..STEPS / 4 {
                let next = if i + 1 == STEPS / 4 { "join".to_string() } else { format!("{branch}{}", i + 1) };
                let _ = write!(y, "  {branch}{i}:\n    decision: {branch} {i}\n    next: {next}\n");
            }
        }
        let catalog = load("ramas.yaml", y);
        let (inst, records) = machine::start(env(&catalog, "enorme.ramas"), "i1", Map::new(), None, t0()).unwrap();
        let entered: Vec<String> = records
            .iter()
            .filter_map(|r| match &r.event {
                machine::Event::Entered { step, .. } => Some(step.clone()),
                _ => None,
            })
            .collect();
        (inst.status, entered)
    });
    assert_eq!(status, Status::Ended { outcome: "completed".into() });
    let quarter = STEPS / 4;
    assert_eq!(entered.len(), 1 + 2 * quarter);
    assert_eq!((entered[1].as_str(), entered[quarter].as_str()), ("a0", &*format!("a{}", quarter - 1)));
    assert_eq!(entered[quarter + 1], "b0");
}

/// A generated file with thousands of broken references gets the first hundred problems and a
/// line counting the rest, not thousands of "did you mean" searches over thousands of names.
#[test]
fn a_file_with_thousands_of_problems_reports_the_first_hundred() {
    let broken = |i: usize, _: &str| format!("  p{i}:\n    decision: Paso {i}\n    next: falta{i}\n");
    let text = chain("enorme.rota", "", 5_000, broken);
    let cals: BTreeMap<_, _> =
        calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect();
    let (catalog, diags) = definition::load(&[SourceFile { path: "rota.yaml".into(), text }], cals);
    assert!(catalog.processes.is_empty());
    assert_eq!(diags.len(), 101);
    assert_eq!(diags[0].message, "unknown step `falta0`");
    let help = diags[0].help.as_deref().unwrap();
    assert!(help.starts_with("known: p0, p1, ") && help.ends_with(", … (5002 in all)"), "{help}");
    assert_eq!(diags[100].message, "4900 more problems in this file are not shown");
    assert_eq!(diags[100].loc.line, diags[99].loc.line + 3);
}

/// Decisions that send each other round in circles for the data at hand stop with an error
/// instead of running for ever.
#[test]
fn decisions_that_loop_are_stopped() {
    let text = "process: bucle\ntitle: Bucle\ncalendar: mx\nsteps:\n  a:\n    decision: A\n    next:\n      - when: now != ''\n        goto: b\n      - goto: end\n  b:\n    decision: B\n    next: a\n";
    let catalog = load("bucle.yaml", text.to_string());
    let err = machine::start(env(&catalog, "bucle"), "i1", Map::new(), None, t0()).unwrap_err();
    assert!(err.to_string().contains("too many automatic steps"), "{err}");
}

/// YAML nested deeper than 16 levels is refused where it goes too deep, before the reader's
/// recursion over it exhausts a worker's stack (2 MiB; a level costs some 20 KiB in a debug
/// build).
#[test]
fn yaml_nested_too_deep_is_a_located_error() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let text = format!(
        "process: hondo\ntitle: Hondo\ncalendar: mx\nschedules:\n  s:\n    cron: \"0 9 1 * *\"\n    data:\n      x: {deep}\nsteps:\n  a:\n    decision: A\n    next: end\n"
    );
    let cals: BTreeMap<_, _> =
        calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect();
    let diags = std::thread::Builder::new()
        .stack_size(STACK_FOR_YAML)
        .spawn(move || {
            let (catalog, diags) = definition::load(&[SourceFile { path: "hondo.yaml".into(), text }], cals);
            assert!(catalog.processes.is_empty());
            diags
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!((diags[0].loc.line, diags[0].loc.column), (8, 22), "{diags:?}");
    assert_eq!(diags[0].message, "nested more than 16 levels deep");
}
