//! Checks across processes that call one another, run once every process of a load is built:
//! no process calls itself (directly or through others), calls nest at most
//! [`MAX_CALL_DEPTH`] processes deep, and a call's `input` fits the start form of the process
//! it calls. A process that fails any of them is left out of the catalog, like any other
//! process with an error.

use std::collections::{BTreeMap, BTreeSet};

use super::form::Form;
use super::load::Catalog;
use super::model::{Process, StepKind};
use crate::diagnostic::{Diagnostic, Loc};

/// Most processes in one chain of calls, the first one included.
pub const MAX_CALL_DEPTH: usize = 8;

/// Processes loaded elsewhere (already deployed) that a `call:` may name, each with the
/// processes it calls in turn.
pub type Known = BTreeMap<String, Vec<String>>;

/// The processes each process calls (each once, in the order first called): those loaded now,
/// and the known ones they do not replace.
fn graph(catalog: &Catalog, known: &Known) -> BTreeMap<String, Vec<String>> {
    let once = |callees: &mut dyn Iterator<Item = &str>| {
        let mut seen = BTreeSet::new();
        callees.filter(|c| seen.insert(*c)).map(str::to_string).collect::<Vec<_>>()
    };
    let mut g: BTreeMap<String, Vec<String>> =
        known.iter().map(|(p, callees)| (p.clone(), once(&mut callees.iter().map(String::as_str)))).collect();
    for p in catalog.processes.values() {
        g.insert(p.id.clone(), once(&mut calls(p).map(|(callee, _)| callee)));
    }
    g
}

/// The call steps of a process: the process each calls and where `call:` is written.
fn calls(p: &Process) -> impl Iterator<Item = (&str, Loc)> {
    p.steps.iter().filter_map(|s| match &s.kind {
        StepKind::Call { process, at, .. } => Some((process.as_str(), *at)),
        _ => None,
    })
}

/// A shortest chain of calls from `from` to `to`, both included, if there is one.
fn path(g: &BTreeMap<String, Vec<String>>, from: &str, to: &str) -> Option<Vec<String>> {
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([from]);
    let mut seen = BTreeSet::from([from]);
    while let Some(p) = queue.pop_front() {
        if p == to {
            let mut chain = vec![to.to_string()];
            let mut at = to;
            while let Some(before) = prev.get(at) {
                chain.push(before.to_string());
                at = before;
            }
            chain.reverse();
            return Some(chain);
        }
        for next in g.get(p).into_iter().flatten() {
            if seen.insert(next.as_str()) {
                prev.insert(next.as_str(), p);
                queue.push_back(next.as_str());
            }
        }
    }
    None
}

/// The longest chain of calls below a process: how many processes it holds, and the one called
/// first on it.
type Longest<'g> = (usize, Option<&'g str>);

/// The longest chain of calls starting at `p` (cycles cut), walked depth-first with a stack of
/// its own (a chain of processes is as long as a tree of files makes it). `memo` keeps, for each
/// process walked, the length of its longest chain and the process it calls next on it.
fn deepest<'g>(
    g: &'g BTreeMap<String, Vec<String>>,
    p: &'g str,
    memo: &mut BTreeMap<&'g str, Longest<'g>>,
) -> Vec<String> {
    if !memo.contains_key(p) {
        let mut on_path: BTreeSet<&str> = BTreeSet::from([p]);
        // (process, how many of its callees were looked at, the longest chain below it so far)
        let mut stack: Vec<(&str, usize, Longest)> = vec![(p, 0, (0, None))];
        while let Some((at, looked, best)) = stack.last_mut() {
            let callee = g.get(*at).and_then(|c| c.get(*looked)).map(String::as_str);
            *looked += 1;
            match callee {
                Some(next) if on_path.contains(next) => {}
                Some(next) => match memo.get(next) {
                    Some(&(len, _)) => {
                        if len > best.0 {
                            *best = (len, Some(next));
                        }
                    }
                    None => {
                        on_path.insert(next);
                        stack.push((next, 0, (0, None)));
                    }
                },
                None => {
                    let Some((done, _, (len, via))) = stack.pop() else { break };
                    on_path.remove(done);
                    memo.insert(done, (len + 1, via));
                    if let Some((_, _, parent)) = stack.last_mut()
                        && len + 1 > parent.0
                    {
                        *parent = (len + 1, Some(done));
                    }
                }
            }
        }
    }
    let mut chain = vec![p.to_string()];
    let mut at = p;
    while let Some(&(_, Some(next))) = memo.get(at) {
        chain.push(next.to_string());
        at = next;
    }
    chain
}

/// Runs the checks, leaving failing processes out of `catalog` and adding their diagnostics.
pub(crate) fn check(catalog: &mut Catalog, known: &Known, diags: &mut Vec<Diagnostic>) {
    let g = graph(catalog, known);
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let mut memo = BTreeMap::new();
    for p in catalog.processes.values() {
        // A process may call the same one from many steps: look for each cycle once.
        let mut cycles: BTreeMap<&str, Option<Vec<String>>> = BTreeMap::new();
        for (callee, at) in calls(p) {
            let cycle = cycles.entry(callee).or_insert_with(|| path(&g, callee, &p.id));
            if let Some(chain) = cycle {
                let mut shown = vec![p.id.as_str()];
                shown.extend(chain.iter().map(String::as_str));
                diags.push(
                    Diagnostic::new(&p.file, at, format!("call cycle: {}", quoted_chain(&shown)))
                        .help("a process may not call itself, directly or through the processes it calls; end the cycle with a task or an end step"),
                );
                failed.insert(p.id.clone());
            }
        }
        let chain = deepest(&g, &p.id, &mut memo);
        if chain.len() > MAX_CALL_DEPTH && !failed.contains(&p.id) {
            let first = chain.get(1).map(String::as_str).unwrap_or_default();
            let at = calls(p).find(|(c, _)| *c == first).map(|(_, at)| at).unwrap_or(Loc::new(1, 1));
            let shown: Vec<&str> = chain.iter().map(String::as_str).collect();
            diags.push(
                Diagnostic::new(
                    &p.file,
                    at,
                    format!(
                        "calls nest {} processes deep ({}); at most {MAX_CALL_DEPTH}",
                        chain.len(),
                        quoted_chain(&shown)
                    ),
                )
                .help("flatten the chain: let a process do the work of the one it calls"),
            );
            failed.insert(p.id.clone());
        }
        for d in input_problems(p, catalog) {
            diags.push(d);
            failed.insert(p.id.clone());
        }
    }
    catalog.processes.retain(|id, _| !failed.contains(id));
}

fn quoted_chain(chain: &[&str]) -> String {
    chain.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" → ")
}

/// Where a call's `input` does not fit the start form of the process it calls (when that
/// process is in this load and has a start form; without `input` the caller's whole data is
/// passed and checked when the sub-process starts).
fn input_problems(p: &Process, catalog: &Catalog) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for s in &p.steps {
        let StepKind::Call { process, input, at, .. } = &s.kind else { continue };
        if input.is_empty() {
            continue;
        }
        let Some(form) = start_form(catalog, process) else { continue };
        for (name, _, key_at) in input {
            if form.field(name).is_none() {
                let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
                let help = match crate::diagnostic::did_you_mean(name, names.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("its fields: {}", names.join(", ")),
                };
                out.push(
                    Diagnostic::new(
                        &p.file,
                        *key_at,
                        format!("`{name}` is not a field of `{}`, the start form of `{process}`", form.id),
                    )
                    .help(help),
                );
            }
        }
        for f in form.fields.iter().filter(|f| f.required || f.must_be_true) {
            if f.default.is_none() && !input.iter().any(|(name, _, _)| *name == f.name) {
                out.push(
                    Diagnostic::new(
                        &p.file,
                        *at,
                        format!("`{process}` needs `{}` to start (its start form `{}` requires it)", f.name, form.id),
                    )
                    .help(format!("add `{}: <expression>` under `input:`", f.name)),
                );
            }
        }
    }
    out
}

fn start_form<'c>(catalog: &'c Catalog, process: &str) -> Option<&'c Form> {
    catalog.processes.get(process)?.start.form.as_ref().and_then(|f| catalog.forms.get(f))
}
