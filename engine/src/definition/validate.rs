//! Checks on the shape of the flow: every step reachable, every step able to finish, every
//! parallel branch joining and `join` used only inside a branch.

use std::collections::BTreeSet;

use super::load::{Ctx, loc};
use super::model::*;
use super::raw::RawProcess;

/// Where control can go from a step (branch starts included; `join` and `end` are not steps).
pub fn successors(step: &Step) -> Vec<Target> {
    let mut out = Vec::new();
    let arms = |n: &Next, out: &mut Vec<Target>| out.extend(n.0.iter().map(|a| a.target));
    match &step.kind {
        StepKind::Task { work, next } => {
            arms(next, &mut out);
            overdue_gotos(work.due.as_ref(), &mut out);
        }
        StepKind::Approval { work, approve, reject } => {
            out.extend([*approve, *reject]);
            overdue_gotos(work.due.as_ref(), &mut out);
        }
        StepKind::Decision { next } | StepKind::Wait { next, .. } | StepKind::Call { next, .. } => arms(next, &mut out),
        StepKind::Parallel { branches, next, .. } => {
            out.extend(branches.iter().map(|b| Target::Step(b.start)));
            arms(next, &mut out);
        }
        StepKind::End { .. } => {}
    }
    out
}

fn overdue_gotos(due: Option<&Due>, out: &mut Vec<Target>) {
    for a in due.iter().flat_map(|d| &d.on_overdue) {
        if let Action::Goto(i) = a {
            out.push(Target::Step(*i));
        }
    }
}

/// Steps reachable from `start` inside one branch: nested parallels are crossed to their `next`,
/// and `join` stops the walk. Returns the steps and whether `join` / an end was reached.
pub fn branch_walk(p: &Process, start: StepIx) -> (BTreeSet<StepIx>, bool, bool) {
    let (mut seen, mut joins, mut ends) = (BTreeSet::new(), false, false);
    let mut todo = vec![start];
    while let Some(i) = todo.pop() {
        if !seen.insert(i) {
            continue;
        }
        let step = &p.steps[i];
        let targets = match &step.kind {
            StepKind::Parallel { next, .. } => next.0.iter().map(|a| a.target).collect(),
            StepKind::End { .. } => {
                ends = true;
                Vec::new()
            }
            _ => successors(step),
        };
        for t in targets {
            match t {
                Target::Step(j) => todo.push(j),
                Target::Join => joins = true,
                Target::End => ends = true,
            }
        }
    }
    (seen, joins, ends)
}

pub(crate) fn graph(ctx: &mut Ctx, p: &Process, raw: &RawProcess) {
    let step_loc = |i: StepIx| loc(&raw.steps.0[i].0);

    // Reachability from the first step.
    let mut reached = BTreeSet::new();
    let mut todo = vec![p.first_step()];
    while let Some(i) = todo.pop() {
        if reached.insert(i) {
            todo.extend(successors(&p.steps[i]).into_iter().filter_map(step_of));
        }
    }
    for (i, s) in p.steps.iter().enumerate() {
        if !reached.contains(&i) {
            ctx.err(
                step_loc(i),
                format!("step `{}` can never be reached", s.id),
                format!(
                    "point a `next`, `goto` or branch at it, or remove it (instances begin at `{}`)",
                    p.steps[0].id
                ),
            );
        }
    }

    // Parallel branches: each must reach `join` and must not end the process.
    let mut in_branch = BTreeSet::new();
    for (i, s) in p.steps.iter().enumerate() {
        if let StepKind::Parallel { branches, .. } = &s.kind {
            for (k, b) in branches.iter().enumerate() {
                let (steps, joins, ends) = branch_walk(p, b.start);
                let name = &p.steps[b.start].id;
                // Point at the branch's entry under `branches:`.
                let at = raw.steps.0[i].1.branches.as_ref().and_then(|v| v.get(k)).map(loc).unwrap_or(s.loc);
                if !joins {
                    ctx.err(
                        at,
                        format!("branch `{name}` of parallel `{}` never joins", s.id),
                        format!("end the branch with `next: join` so `{}` can continue", s.id),
                    );
                } else if ends {
                    ctx.err(
                        at,
                        format!("branch `{name}` of parallel `{}` can end the whole process", s.id),
                        "a branch finishes with `next: join`; put the end after the parallel step's `next`",
                    );
                }
                in_branch.extend(steps);
            }
        }
    }
    for (i, s) in p.steps.iter().enumerate() {
        let joins = successors(s).contains(&Target::Join);
        if joins && !in_branch.contains(&i) {
            ctx.err(
                step_loc(i),
                format!("step `{}` goes to `join` but is not inside a parallel branch", s.id),
                "use `next: join` only in the branches of a `parallel` step",
            );
        }
    }

    // Every step must be able to reach an end; a `join` counts as reaching the parallel's `next`.
    let finishes = finishing_steps(p);
    for (i, s) in p.steps.iter().enumerate() {
        if reached.contains(&i) && !finishes.contains(&i) {
            ctx.err(
                step_loc(i),
                format!("step `{}` can never reach an end", s.id),
                "every path needs to lead to an `end` step or `next: end`; this looks like an endless loop",
            );
        }
    }
}

fn step_of(t: Target) -> Option<StepIx> {
    match t {
        Target::Step(i) => Some(i),
        _ => None,
    }
}

/// Steps from which some path leads to the end of the instance: walked backward from the steps
/// that end it (or reach `join`), each step once.
fn finishing_steps(p: &Process) -> BTreeSet<StepIx> {
    // A step inside a branch reaches `join`, which continues at the parallel's `next`: count the
    // branch steps as finishing when the parallel step finishes through its `next`.
    let mut before: Vec<Vec<StepIx>> = vec![Vec::new(); p.steps.len()];
    let mut done: BTreeSet<StepIx> = BTreeSet::new();
    for (i, s) in p.steps.iter().enumerate() {
        let targets = match &s.kind {
            StepKind::End { .. } => {
                done.insert(i);
                continue;
            }
            // A nested parallel step whose `next` is `join` finishes its outer branch.
            StepKind::Parallel { next, .. } => next.0.iter().map(|a| a.target).collect(),
            _ => successors(s),
        };
        for t in targets {
            match t {
                Target::End | Target::Join => {
                    done.insert(i);
                }
                Target::Step(j) => before[j].push(i),
            }
        }
    }
    let mut todo: Vec<StepIx> = done.iter().copied().collect();
    while let Some(j) = todo.pop() {
        for &i in &before[j] {
            if done.insert(i) {
                todo.push(i);
            }
        }
    }
    done
}
