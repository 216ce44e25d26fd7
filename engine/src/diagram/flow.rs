//! The flow of a process as a graph, the one every format draws: a start node, one node per
//! step, a join node per parallel step, the `fin` node when some `next` is `end`, and the
//! labelled edges between them.

use crate::definition::{Next, Process, StepIx, StepKind, Target, validate};

/// A node of the drawn flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum NodeKey {
    /// Where every instance begins (before the first step).
    Start,
    Step(StepIx),
    /// Where the branches of the parallel step meet again.
    Join(StepIx),
    /// `next: end`: the instance ends with the outcome `completed`.
    End,
}

/// An edge of the flow: control goes from `from` to `to`, under `label` when there is a choice.
#[derive(Debug, Clone)]
pub(crate) struct FlowEdge {
    pub from: NodeKey,
    pub to: NodeKey,
    pub label: Option<String>,
    /// The `reject` exit of an approval.
    pub rejection: bool,
}

/// The nodes (start first, each join right after its parallel step, `fin` last when used) and
/// the edges in definition order (the start edge first).
#[derive(Debug)]
pub(crate) struct Flow {
    pub nodes: Vec<NodeKey>,
    pub edges: Vec<FlowEdge>,
}

impl Flow {
    pub fn of(p: &Process) -> Flow {
        let mut edges =
            vec![FlowEdge { from: NodeKey::Start, to: NodeKey::Step(p.first_step()), label: None, rejection: false }];
        edges.extend(step_edges(p));
        let mut nodes = vec![NodeKey::Start];
        for (i, s) in p.steps.iter().enumerate() {
            nodes.push(NodeKey::Step(i));
            if matches!(s.kind, StepKind::Parallel { .. }) {
                nodes.push(NodeKey::Join(i));
            }
        }
        if edges.iter().any(|e| e.to == NodeKey::End) {
            nodes.push(NodeKey::End);
        }
        Flow { nodes, edges }
    }
}

/// Every edge leaving a step; `join` targets point at the join node of their parallel step.
fn step_edges(p: &Process) -> Vec<FlowEdge> {
    // The parallel step whose branch holds each step (the first one in file order).
    let mut owner: Vec<Option<StepIx>> = vec![None; p.steps.len()];
    for (pi, s) in p.steps.iter().enumerate() {
        if let StepKind::Parallel { branches, .. } = &s.kind {
            for b in branches {
                let (steps, _, _) = validate::branch_walk(p, b.start);
                for i in steps {
                    owner[i].get_or_insert(pi);
                }
            }
        }
    }
    let target = |t: Target, join: Option<StepIx>| match t {
        Target::Step(i) => NodeKey::Step(i),
        Target::End => NodeKey::End,
        // `join` outside a branch is refused by the loader; draw it as the end if it ever comes.
        Target::Join => join.map(NodeKey::Join).unwrap_or(NodeKey::End),
    };
    let mut out = Vec::new();
    for (i, s) in p.steps.iter().enumerate() {
        let from = NodeKey::Step(i);
        let join = owner[i];
        let arms = |next: &Next, from: NodeKey, default_label: bool, out: &mut Vec<FlowEdge>| {
            for a in &next.0 {
                let label = a
                    .when
                    .as_ref()
                    .map(|w| w.source().to_string())
                    .or_else(|| (default_label && next.0.len() > 1).then(|| "si no".to_string()));
                out.push(FlowEdge { from, to: target(a.target, join), label, rejection: false });
            }
        };
        match &s.kind {
            StepKind::Task { next, .. }
            | StepKind::Decision { next }
            | StepKind::Wait { next, .. }
            | StepKind::Call { next, .. } => arms(next, from, true, &mut out),
            StepKind::Approval { approve, reject, .. } => {
                let label = |l: &str| Some(l.to_string());
                out.push(FlowEdge { from, to: target(*approve, join), label: label("aprobado"), rejection: false });
                out.push(FlowEdge { from, to: target(*reject, join), label: label("rechazado"), rejection: true });
            }
            StepKind::Parallel { branches, next, .. } => {
                for b in branches {
                    out.push(FlowEdge { from, to: NodeKey::Step(b.start), label: None, rejection: false });
                }
                arms(next, NodeKey::Join(i), false, &mut out);
            }
            StepKind::End { .. } => {}
        }
    }
    out
}
