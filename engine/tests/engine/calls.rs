//! Sub-processes: the checks across processes that call one another (cycles, nesting depth,
//! processes known from elsewhere) and the pure side of running a call (knocks, links,
//! incidents, the child's end sent back), replayed from the events.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use tramite_engine::calendar::{self, Calendar};
use tramite_engine::definition::{Catalog, Known, MAX_CALL_DEPTH, SourceFile, load, load_with};
use tramite_engine::machine::{self, Actor, Command, CommandError, Env, Event, Instance, Knock, Record, Status};

fn calendars() -> BTreeMap<String, Calendar> {
    calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect()
}

/// A process `id` whose one step calls each of `calls` in turn (none: one task).
fn process(id: &str, calls: &[&str]) -> SourceFile {
    let mut text = format!("process: {id}\ntitle: {id}\ncalendar: mx\nroles:\n  operador: Operador\nsteps:\n");
    for (i, c) in calls.iter().enumerate() {
        let next = if i + 1 == calls.len() { "hacer".to_string() } else { format!("llamar{}", i + 1) };
        text.push_str(&format!("  llamar{i}:\n    call: {c}\n    next: {next}\n"));
    }
    text.push_str("  hacer:\n    task: Hacer\n    role: operador\n    next: end\n");
    SourceFile { path: format!("{id}.yaml"), text }
}

#[test]
fn a_cycle_through_two_processes_is_reported_at_both_calls() {
    let (catalog, diags) = load(&[process("a", &["b"]), process("b", &["a"]), process("c", &["b"])], calendars());
    let got: Vec<String> =
        diags.iter().map(|d| format!("{}:{}:{}: {}", d.file, d.loc.line, d.loc.column, d.message)).collect();
    assert_eq!(got, ["a.yaml:8:11: call cycle: `a` → `b` → `a`", "b.yaml:8:11: call cycle: `b` → `a` → `b`",]);
    // `c` only calls into the cycle: it is fine on its own.
    assert_eq!(catalog.processes.keys().collect::<Vec<_>>(), ["c"]);
}

#[test]
fn calls_nest_at_most_the_limit() {
    let ids: Vec<String> = (1..=MAX_CALL_DEPTH + 1).map(|i| format!("p{i}")).collect();
    let files: Vec<SourceFile> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| match ids.get(i + 1) {
            Some(next) => process(id, &[next]),
            None => process(id, &[]),
        })
        .collect();
    let (catalog, diags) = load(&files, calendars());
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].file, "p1.yaml");
    assert!(diags[0].message.starts_with(&format!("calls nest {} processes deep (`p1` → `p2`", MAX_CALL_DEPTH + 1)));
    assert!(!catalog.processes.contains_key("p1"));
    assert!(catalog.processes.contains_key("p2"), "a chain of exactly {MAX_CALL_DEPTH} is allowed");
}

#[test]
fn a_call_may_name_a_process_known_from_elsewhere_and_cycles_through_it_are_found() {
    let known: Known = BTreeMap::from([("fuera".to_string(), vec![])]);
    let (catalog, diags) = load_with(&[process("a", &["fuera"])], calendars(), &known);
    assert!(diags.is_empty(), "{diags:#?}");
    assert!(catalog.processes.contains_key("a"));

    let (_, diags) = load(&[process("a", &["fuera"])], calendars());
    assert_eq!(diags[0].message, "unknown process `fuera`");

    // The deployed `fuera` calls `a`: deploying this `a` would close a cycle.
    let known: Known = BTreeMap::from([("fuera".to_string(), vec!["a".to_string()])]);
    let (_, diags) = load_with(&[process("a", &["fuera"])], calendars(), &known);
    assert_eq!(diags[0].message, "call cycle: `a` → `fuera` → `a`");
}

// ---- running a call ---------------------------------------------------------------------------

const PARENT: &str = r#"
process: padre
title: Padre
calendar: mx
roles:
  operador: Operador
steps:
  registrar:
    task: Registrar
    role: operador
    next: encuesta
  encuesta:
    call: hijo
    input:
      folio: "'F-1'"
    next:
      - when: data.encuesta.outcome == 'respondida'
        goto: bien
      - goto: sin_respuesta
  bien:
    end: atendido
  sin_respuesta:
    end: sin_encuesta
"#;

const CHILD: &str = r#"
process: hijo
title: Hijo
calendar: mx
roles:
  operador: Operador
steps:
  contestar:
    task: Contestar
    role: operador
    next: respondida
  respondida:
    end: respondida
"#;

fn family() -> Catalog {
    let files = [
        SourceFile { path: "padre.yaml".into(), text: PARENT.into() },
        SourceFile { path: "hijo.yaml".into(), text: CHILD.into() },
    ];
    let (catalog, diags) = load(&files, calendars());
    assert!(diags.is_empty(), "{diags:#?}");
    catalog
}

fn env<'c>(c: &'c Catalog, id: &str) -> Env<'c> {
    let p = &c.processes[id];
    Env { process: p, calendar: c.calendar_of(p).unwrap(), forms: &c.forms }
}

fn t0() -> Timestamp {
    "2026-03-02T16:00:00Z".parse().unwrap()
}

fn ana() -> Actor {
    Actor::new("ana", &["operador"])
}

fn task(inst: &Instance, step: &str) -> u64 {
    inst.tokens.values().find(|t| t.step == step).unwrap().id
}

/// Runs a command, checks the state replays from the whole history, and returns the knocks.
fn exec(e: Env<'_>, inst: &mut Instance, log: &mut Vec<Record>, actor: Option<&Actor>, cmd: Command) -> Vec<Knock> {
    let before = inst.clone();
    let (next, recs) = machine::execute(e, inst, actor, cmd, t0()).unwrap();
    log.extend(recs.iter().cloned());
    assert_eq!(Instance::replay(&inst.id, log.iter()), next, "replay differs");
    *inst = next;
    machine::knocks(Some(&before), inst, &recs)
}

/// The parent waiting at its call step, with the knock asking for the child.
fn parent_at_call(c: &Catalog) -> (Instance, Vec<Record>, Knock) {
    let (mut p, mut log) = machine::start(env(c, "padre"), "P", Map::new(), Some(&ana()), t0()).unwrap();
    let t = task(&p, "registrar");
    let knocks = exec(env(c, "padre"), &mut p, &mut log, Some(&ana()), Command::Complete { task: t, data: Map::new() });
    assert_eq!(p.active_steps(), ["encuesta"]);
    let [knock] = knocks.try_into().unwrap();
    (p, log, knock)
}

#[test]
fn the_child_ends_and_the_parent_goes_on_with_its_outcome_and_data() {
    let c = family();
    let (mut p, mut log, knock) = parent_at_call(&c);
    let Knock::Start { token, process, data } = knock else { panic!("{knock:?}") };
    assert_eq!((process.as_str(), data), ("hijo", json!({"folio": "F-1"}).as_object().cloned().unwrap()));

    let link = machine::ParentLink { instance: "P".into(), token, process: "padre".into(), step: "encuesta".into() };
    let (mut child, child_recs) =
        machine::start_call(env(&c, "hijo"), "C", data_of(json!({"folio": "F-1"})), link, t0()).unwrap();
    assert!(matches!(&child_recs[0].event, Event::Started { parent: Some(l), .. } if l.instance == "P"));
    let mut child_log = child_recs;
    assert!(
        exec(
            env(&c, "padre"),
            &mut p,
            &mut log,
            None,
            Command::LinkCall { task: token, child: "C".into(), version: 3 }
        )
        .is_empty()
    );
    assert!(p.awaits(token, "C"));

    // Ending the call by hand while the child runs is refused.
    let by_hand = Command::CallEnded { task: token, outcome: "x".into(), data: Map::new(), child: None };
    assert!(matches!(
        machine::execute(env(&c, "padre"), &p, None, by_hand, t0()),
        Err(CommandError::CallRunning { .. })
    ));

    let t = task(&child, "contestar");
    let knocks = exec(
        env(&c, "hijo"),
        &mut child,
        &mut child_log,
        Some(&ana()),
        Command::Complete { task: t, data: Map::new() },
    );
    assert_eq!(child.status, Status::Ended { outcome: "respondida".into() });
    let [knock] = knocks.try_into().unwrap();
    let (to, cmd) = machine::parent_command(&knock).unwrap();
    assert_eq!(to, "P");
    exec(env(&c, "padre"), &mut p, &mut log, None, cmd);
    assert_eq!(p.status, Status::Ended { outcome: "atendido".into() });
    assert_eq!(p.data["encuesta"]["data"]["folio"], "F-1");
}

#[test]
fn cancelling_the_parent_cancels_the_child_and_a_child_cancelled_alone_is_an_incident() {
    let c = family();
    let (mut p, mut log, knock) = parent_at_call(&c);
    let Knock::Start { token, .. } = knock else { panic!() };
    exec(env(&c, "padre"), &mut p, &mut log, None, Command::LinkCall { task: token, child: "C".into(), version: 1 });

    // The child is cancelled on its own: the parent's call becomes an incident, to retry.
    let link = machine::ParentLink { instance: "P".into(), token, process: "padre".into(), step: "encuesta".into() };
    let (mut child, mut child_log) = machine::start_call(env(&c, "hijo"), "C", Map::new(), link, t0()).unwrap();
    let admin = Actor::admin("root");
    let knocks =
        exec(env(&c, "hijo"), &mut child, &mut child_log, Some(&admin), Command::Cancel { reason: "duplicado".into() });
    let [knock] = knocks.try_into().unwrap();
    assert!(matches!(&knock, Knock::Fail { child, .. } if child == "C"));
    let (_, cmd) = machine::parent_command(&knock).unwrap();
    let knocks = exec(env(&c, "padre"), &mut p, &mut log, None, cmd);
    assert!(knocks.is_empty(), "the cancelled child is not cancelled again: {knocks:?}");
    let (t, call) = p.incidents().next().unwrap();
    assert_eq!(t.id, token);
    assert!(call.incident.as_ref().unwrap().message.contains("duplicado"));
    assert!(matches!(&p.retries()[..], [Knock::Start { token: t, .. }] if *t == token));

    // Retried: a new child runs; cancelling the parent now cancels that child.
    exec(env(&c, "padre"), &mut p, &mut log, None, Command::LinkCall { task: token, child: "C2".into(), version: 1 });
    assert_eq!(p.incidents().count(), 0);
    let knocks =
        exec(env(&c, "padre"), &mut p, &mut log, Some(&admin), Command::Cancel { reason: "error de captura".into() });
    assert!(
        matches!(&knocks[..], [Knock::Cancel { child, reason }] if child == "C2" && reason.contains("error de captura"))
    );
}

fn data_of(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}
