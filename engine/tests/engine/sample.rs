//! `sample()` draws a case's random sample (the five recordings of C.4.1 8.2): distinct
//! elements, the same for the same case, stored with the case as the elements of the `for_each`
//! it feeds.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, json};
use tramite_engine::calendar::{self, Calendar};
use tramite_engine::definition::{self, SourceFile};
use tramite_engine::machine::{self, Actor, Command, Env};

const PROCESS: &str = r#"
process: prueba.muestra
title: Muestra de grabaciones
calendar: mx
roles:
  monitor: Monitor
steps:
  escuchar:
    parallel: Escuchar cinco grabaciones al azar
    for_each: sample(data.llamadas, 5)
    branches: [evaluar]
    next: end
  evaluar:
    task: Evaluar la grabación
    role: monitor
    next: join
"#;

#[test]
fn a_case_draws_its_sample_once_and_the_same_way() {
    let calendars: BTreeMap<String, Calendar> =
        calendar::BUILTIN.iter().map(|n| (n.to_string(), calendar::builtin(n).unwrap())).collect();
    let (catalog, diags) =
        definition::load(&[SourceFile { path: "muestra.yaml".into(), text: PROCESS.into() }], calendars);
    assert!(diags.is_empty(), "{diags:#?}");
    let p = &catalog.processes["prueba.muestra"];
    let env = Env { process: p, calendar: catalog.calendar_of(p).unwrap(), forms: &catalog.forms };
    let now: Timestamp = "2026-03-02T16:00:00Z".parse().unwrap();
    let calls: Vec<String> = (1..=40).map(|i| format!("LL-{i:04}")).collect();
    let data: Map<String, serde_json::Value> = json!({ "llamadas": calls }).as_object().cloned().unwrap();
    let drawn = |id: &str| {
        let (inst, _) = machine::start(env, id, data.clone(), None, now).unwrap();
        let fork = inst.forks.values().next().unwrap();
        (fork.items.clone().unwrap(), inst)
    };
    let (a, inst) = drawn("caso-1");
    assert_eq!(a.len(), 5);
    let mut unique = a.clone();
    unique.dedup();
    assert_eq!(unique.len(), 5, "{a:?}");
    assert_eq!(drawn("caso-1").0, a, "the same case draws the same sample");
    assert_ne!(drawn("caso-2").0, a, "another case, another sample");
    // The sample is stored with the case: working the tasks keeps it, and the joined list is it.
    let mut inst = inst;
    let monitor = Actor::new("mona", &["monitor"]);
    loop {
        let Some(t) = inst.tasks().next().map(|(t, _)| t.id) else { break };
        let cmd = Command::Complete { task: t, data: Map::new() };
        inst = machine::execute(env, &inst, Some(&monitor), cmd, now).unwrap().0;
    }
    assert_eq!(inst.data["escuchar"], json!(a));
}
