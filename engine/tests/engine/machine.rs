//! The transition function on a process that uses every construct: unit tests for each path and
//! property tests over random command sequences.

use std::collections::BTreeMap;

use jiff::{Timestamp, ToSpan};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tramite_engine::calendar::{self, SlaState};
use tramite_engine::definition::{self, Catalog, SourceFile, StepKind};
use tramite_engine::machine::{self, Actor, Command, CommandError, Env, Instance, Record, Status};

fn catalog() -> Catalog {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/engine/fixtures");
    let files: Vec<SourceFile> = ["everything.yaml", "alta.yaml", "captura.yaml", "rama.yaml"]
        .iter()
        .map(|f| SourceFile { path: f.to_string(), text: std::fs::read_to_string(format!("{dir}/{f}")).unwrap() })
        .collect();
    let cals: BTreeMap<_, _> =
        calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect();
    let (cat, diags) = definition::load(&files, cals);
    assert!(diags.is_empty(), "{diags:#?}");
    cat
}

fn data(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

struct World {
    cat: Catalog,
}

impl World {
    fn env(&self) -> Env<'_> {
        let process = &self.cat.processes["prueba.todo"];
        Env { process, calendar: self.cat.calendar_of(process).unwrap(), forms: &self.cat.forms }
    }
}

fn t0() -> Timestamp {
    // Monday 2026-03-02 10:00 in Mexico City.
    "2026-03-02T16:00:00Z".parse().unwrap()
}

fn agent() -> Actor {
    Actor::new("ana", &["agente"])
}

fn boss() -> Actor {
    Actor::new("sara", &["supervisor"])
}

fn task_at(inst: &Instance, step: &str) -> u64 {
    inst.tasks()
        .find(|(t, _)| t.step == step)
        .map(|(t, _)| t.id)
        .unwrap_or_else(|| panic!("no task at {step}: {:?}", inst.active_steps()))
}

/// Applies the command built for the open task at `step`, keeping the log.
fn act(
    w: &World,
    inst: &mut Instance,
    log: &mut Vec<Record>,
    who: &Actor,
    step: &str,
    cmd: impl FnOnce(u64) -> Command,
    now: Timestamp,
) -> Result<(), CommandError> {
    let cmd = cmd(task_at(inst, step));
    let (next, mut recs) = machine::execute(w.env(), inst, Some(who), cmd, now)?;
    log.append(&mut recs);
    *inst = next;
    Ok(())
}

#[test]
fn happy_path_through_every_construct() {
    let w = World { cat: catalog() };
    let (mut inst, mut log) =
        machine::start(w.env(), "i1", data(json!({"folio": "X-1"})), Some(&agent()), t0()).unwrap();
    assert_eq!(inst.active_steps(), ["capturar"]);
    let now = t0() + 1.hour();
    // Not urgent: the wait holds the SLA clock for two calendar days.
    act(
        &w,
        &mut inst,
        &mut log,
        &agent(),
        "capturar",
        |task| Command::Complete { task, data: data(json!({"urgente": false})) },
        now,
    )
    .unwrap();
    assert_eq!(inst.active_steps(), ["esperar_usuario"]);
    assert!(inst.slas["total"].clock.is_paused());
    let later = now + 49.hours();
    log.extend(machine::fire_due(w.env(), &mut inst, later));
    assert_eq!(inst.active_steps(), ["revisar"]);
    assert!(!inst.slas["total"].clock.is_paused());
    // Reject loops back with the comment visible; approve forks.
    let approve = |task| Command::Approve { task, comment: None, data: Map::new() };
    assert_eq!(
        act(&w, &mut inst, &mut log, &agent(), "revisar", approve, later),
        Err(CommandError::Forbidden { holder: "role `supervisor`".into() })
    );
    act(
        &w,
        &mut inst,
        &mut log,
        &boss(),
        "revisar",
        |task| Command::Reject { task, comment: "falta folio".into() },
        later,
    )
    .unwrap();
    assert_eq!(inst.last_rejection.as_ref().unwrap().comment, "falta folio");
    act(
        &w,
        &mut inst,
        &mut log,
        &agent(),
        "capturar",
        |task| Command::Complete { task, data: data(json!({"urgente": true})) },
        later,
    )
    .unwrap();
    act(
        &w,
        &mut inst,
        &mut log,
        &boss(),
        "revisar",
        |task| Command::Approve { task, comment: None, data: Map::new() },
        later,
    )
    .unwrap();
    assert_eq!(inst.active_steps(), ["a1", "b1"]);
    // Branch A repeats while data.repetir holds.
    act(
        &w,
        &mut inst,
        &mut log,
        &agent(),
        "a1",
        |task| Command::Complete { task, data: data(json!({"repetir": true})) },
        later,
    )
    .unwrap();
    assert_eq!(inst.active_steps(), ["a1", "b1"]);
    // b1 overdue after 2 business days moves to b2 (goto), in the same branch.
    log.extend(machine::fire_due(w.env(), &mut inst, later + 96.hours()));
    assert!(inst.active_steps().contains(&"b2".to_string()), "{:?}", inst.active_steps());
    act(
        &w,
        &mut inst,
        &mut log,
        &boss(),
        "b2",
        |task| Command::Complete { task, data: Map::new() },
        later + 96.hours(),
    )
    .unwrap();
    assert_eq!(inst.active_steps(), ["a1"], "join all waits for branch A");
    act(
        &w,
        &mut inst,
        &mut log,
        &agent(),
        "a1",
        |task| Command::Complete { task, data: data(json!({"repetir": false})) },
        later + 96.hours(),
    )
    .unwrap();
    assert_eq!(inst.active_steps(), ["c1", "c2"]);
    // Join any: the first branch wins, the other task is withdrawn.
    act(
        &w,
        &mut inst,
        &mut log,
        &boss(),
        "c2",
        |task| Command::Complete { task, data: Map::new() },
        later + 96.hours(),
    )
    .unwrap();
    assert_eq!(inst.status, Status::Ended { outcome: "resuelto".into() });
    assert!(inst.tokens.is_empty() && inst.forks.is_empty() && inst.branches.is_empty());
    let state = machine::sla_states(w.env(), &inst, later + 720.hours());
    assert!(matches!(state[0].1, SlaState::Met | SlaState::MetLate));
    assert_eq!(Instance::replay("i1", &log), inst);
}

#[test]
fn terminal_instances_refuse_every_command() {
    let w = World { cat: catalog() };
    let (inst, _) = machine::start(w.env(), "i2", data(json!({"folio": "X-2"})), None, t0()).unwrap();
    let admin = Actor::admin("root");
    let (done, _) =
        machine::execute(w.env(), &inst, Some(&admin), Command::Cancel { reason: "duplicado".into() }, t0()).unwrap();
    assert!(matches!(done.status, Status::Cancelled { .. }));
    for cmd in [
        Command::Complete { task: 1, data: Map::new() },
        Command::Approve { task: 1, comment: None, data: Map::new() },
        Command::Reject { task: 1, comment: "x".into() },
        Command::Claim { task: 1 },
        Command::Cancel { reason: "otra vez".into() },
    ] {
        assert_eq!(machine::execute(w.env(), &done, Some(&admin), cmd, t0()).unwrap_err(), CommandError::NotRunning);
    }
    assert!(machine::timers(w.env(), &done).is_empty());
}

#[test]
fn only_admins_cancel_and_claims_are_exclusive() {
    let w = World { cat: catalog() };
    let (inst, _) = machine::start(w.env(), "i3", data(json!({"folio": "X-3"})), None, t0()).unwrap();
    assert_eq!(
        machine::execute(w.env(), &inst, Some(&agent()), Command::Cancel { reason: "x".into() }, t0()).unwrap_err(),
        CommandError::AdminOnly
    );
    let task = task_at(&inst, "capturar");
    let (claimed, _) = machine::execute(w.env(), &inst, Some(&agent()), Command::Claim { task }, t0()).unwrap();
    let other = Actor::new("beto", &["agente"]);
    let err = machine::execute(
        w.env(),
        &claimed,
        Some(&other),
        Command::Complete { task, data: data(json!({"urgente": true})) },
        t0(),
    )
    .unwrap_err();
    assert_eq!(err, CommandError::ClaimedByOther("ana".into()));
    let err = machine::execute(
        w.env(),
        &claimed,
        Some(&agent()),
        Command::Complete { task, data: data(json!({"urgente": "quizá"})) },
        t0(),
    )
    .unwrap_err();
    assert!(matches!(err, CommandError::InvalidData(ref e) if e[0].field == "urgente"), "{err:?}");
}

#[test]
fn a_stale_timer_is_refused() {
    let w = World { cat: catalog() };
    let (inst, _) = machine::start(w.env(), "i4", data(json!({"folio": "X-4"})), None, t0()).unwrap();
    let timers = machine::timers(w.env(), &inst);
    let (due, key) = timers[0].clone();
    assert_eq!(
        machine::execute(w.env(), &inst, None, Command::Fire { timer: key.clone() }, due - 1.second()).unwrap_err(),
        CommandError::TimerNotDue
    );
    assert!(machine::execute(w.env(), &inst, None, Command::Fire { timer: key }, due).is_ok());
}

// ---- properties ------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Work { pick: usize, flag: bool, reject: bool },
    Advance { hours: u16 },
    Cancel,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0usize..8, any::<bool>(), any::<bool>()).prop_map(|(pick, flag, reject)| Op::Work { pick, flag, reject }),
        3 => (1u16..80).prop_map(|hours| Op::Advance { hours }),
        1 => Just(Op::Cancel),
    ]
}

fn check_invariants(w: &World, inst: &Instance) {
    let p = w.env().process;
    for t in inst.tokens.values() {
        let step = p.step(&t.step).unwrap_or_else(|| panic!("token at unknown step {}", t.step));
        let human = matches!(step.kind, StepKind::Task { .. } | StepKind::Approval { .. });
        assert_eq!(human, t.task.is_some(), "task presence at {}", t.step);
        assert!(
            matches!(
                step.kind,
                StepKind::Task { .. } | StepKind::Approval { .. } | StepKind::Wait { .. } | StepKind::Call { .. }
            ),
            "token resting at automatic step {}",
            t.step
        );
        for b in &t.scope {
            assert!(inst.branches.contains_key(b), "token in a closed branch");
        }
    }
    if !inst.is_running() {
        assert!(inst.tokens.is_empty() && inst.forks.is_empty());
        assert!(inst.slas.values().all(|s| s.clock.stopped.is_some()));
    } else {
        assert!(!inst.tokens.is_empty(), "a running instance has somewhere to be");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_commands_stay_inside_the_definition(ops in prop::collection::vec(op(), 1..60)) {
        let w = World { cat: catalog() };
        let (mut inst, mut log) = machine::start(w.env(), "p", data(json!({"folio": "P-1"})), None, t0()).unwrap();
        let mut now = t0();
        for op in ops {
            let before = inst.clone();
            let result = match op {
                Op::Work { pick, flag, reject } => {
                    let open: Vec<(u64, String)> = inst.tasks().map(|(t, _)| (t.id, t.step.clone())).collect();
                    if open.is_empty() { continue; }
                    let (task, step) = open[pick % open.len()].clone();
                    let cmd = match w.env().process.step(&step).unwrap().kind {
                        StepKind::Approval { .. } if reject => Command::Reject { task, comment: "no".into() },
                        StepKind::Approval { .. } => Command::Approve { task, comment: None, data: Map::new() },
                        _ if step == "capturar" => Command::Complete { task, data: data(json!({"urgente": flag})) },
                        _ if step == "a1" => Command::Complete { task, data: data(json!({"repetir": flag && reject})) },
                        _ => Command::Complete { task, data: Map::new() },
                    };
                    machine::execute(w.env(), &inst, Some(&Actor::admin("root")), cmd, now)
                }
                Op::Advance { hours } => {
                    now += i64::from(hours).hours();
                    log.extend(machine::fire_due(w.env(), &mut inst, now));
                    check_invariants(&w, &inst);
                    continue;
                }
                Op::Cancel => machine::execute(w.env(), &inst, Some(&Actor::admin("root")), Command::Cancel { reason: "prueba".into() }, now),
            };
            match result {
                Ok((next, recs)) => { log.extend(recs); inst = next; }
                Err(e) => {
                    // A refused command changes nothing.
                    prop_assert_eq!(&inst, &before);
                    prop_assert!(matches!(e, CommandError::NotRunning), "unexpected refusal {e:?}");
                }
            }
            check_invariants(&w, &inst);
            if !inst.is_running() {
                let r = machine::execute(w.env(), &inst, Some(&Actor::admin("root")), Command::Cancel { reason: "x".into() }, now);
                prop_assert_eq!(r.unwrap_err(), CommandError::NotRunning);
            }
        }
        // Replaying the history rebuilds exactly the same state.
        let replayed = Instance::replay("p", &log);
        prop_assert_eq!(replayed, inst);
    }
}
