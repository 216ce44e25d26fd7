//! Flow diagrams of a process in Mermaid or Graphviz DOT, optionally with steps highlighted
//! (the instance page marks where an instance currently is).

use std::fmt::Write;

use crate::definition::{Next, Process, StepKind, Target};

/// The output language of a diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mermaid,
    Dot,
}

struct Edge {
    from: String,
    to: String,
    label: Option<String>,
}

fn node_id(id: &str) -> String {
    id.replace(['-', '.'], "_")
}

fn target_id(p: &Process, t: Target, join: Option<&str>) -> String {
    match t {
        Target::Step(i) => node_id(&p.steps[i].id),
        Target::End => "fin".to_string(),
        Target::Join => join.map(|j| format!("{}__join", node_id(j))).unwrap_or_else(|| "join".into()),
    }
}

fn label(text: &str) -> String {
    text.replace('"', "'")
}

/// Every edge of the flow; `join` targets point at the join node of their parallel step.
fn edges(p: &Process) -> Vec<Edge> {
    let mut owner = vec![None; p.steps.len()];
    for s in &p.steps {
        if let StepKind::Parallel { branches, .. } = &s.kind {
            for b in branches {
                let (steps, _, _) = crate::definition::validate::branch_walk(p, b.start);
                for i in steps {
                    owner[i].get_or_insert(s.id.clone());
                }
            }
        }
    }
    let mut out = Vec::new();
    for (i, s) in p.steps.iter().enumerate() {
        let from = node_id(&s.id);
        let join = owner[i].as_deref();
        let arms = |next: &Next, from: &str, out: &mut Vec<Edge>| {
            for a in &next.0 {
                let label = a
                    .when
                    .as_ref()
                    .map(|w| w.source().to_string())
                    .or_else(|| (next.0.len() > 1).then(|| "si no".to_string()));
                out.push(Edge { from: from.to_string(), to: target_id(p, a.target, join), label });
            }
        };
        match &s.kind {
            StepKind::Task { next, .. }
            | StepKind::Decision { next }
            | StepKind::Wait { next, .. }
            | StepKind::Call { next, .. } => arms(next, &from, &mut out),
            StepKind::Approval { approve, reject, .. } => {
                out.push(Edge { from: from.clone(), to: target_id(p, *approve, join), label: Some("aprobado".into()) });
                out.push(Edge { from: from.clone(), to: target_id(p, *reject, join), label: Some("rechazado".into()) });
            }
            StepKind::Parallel { branches, next, .. } => {
                for b in branches {
                    out.push(Edge { from: from.clone(), to: node_id(&p.steps[b.start].id), label: None });
                }
                let join_node = format!("{from}__join");
                let mut outer = Vec::new();
                for a in &next.0 {
                    let label = a.when.as_ref().map(|w| w.source().to_string());
                    outer.push(Edge { from: join_node.clone(), to: target_id(p, a.target, join), label });
                }
                out.extend(outer);
            }
            StepKind::End { .. } => {}
        }
    }
    out
}

/// Renders the process; steps named in `highlight` are marked.
pub fn render(p: &Process, format: Format, highlight: &[String]) -> String {
    let mut s = String::new();
    let edges = edges(p);
    let uses_end = edges.iter().any(|e| e.to == "fin");
    match format {
        Format::Mermaid => {
            let _ = writeln!(s, "flowchart TD");
            let _ = writeln!(s, "  inicio((inicio)) --> {}", node_id(&p.steps[0].id));
            for step in &p.steps {
                let id = node_id(&step.id);
                let role = step
                    .kind
                    .work()
                    .map(|w| format!("<br/><i>{}</i>", label(p.role_title(&w.role).unwrap_or(&w.role))))
                    .unwrap_or_default();
                let t = label(&step.title);
                let _ = match &step.kind {
                    StepKind::Task { .. } => writeln!(s, "  {id}[\"{t}{role}\"]"),
                    StepKind::Approval { .. } => writeln!(s, "  {id}{{\"{t}{role}\"}}"),
                    StepKind::Decision { .. } => writeln!(s, "  {id}{{\"{t}\"}}"),
                    StepKind::Parallel { for_each: Some(list), .. } => writeln!(
                        s,
                        "  {id}[[\"{t}<br/><i>por cada elemento de {}</i>\"]]\n  {id}__join[[\"fin de: {t}\"]]",
                        label(list.source())
                    ),
                    StepKind::Parallel { .. } => writeln!(s, "  {id}[[\"{t}\"]]\n  {id}__join[[\"fin de: {t}\"]]"),
                    StepKind::Wait { .. } => writeln!(s, "  {id}([\"{t}\"])"),
                    StepKind::Call { process, .. } => writeln!(s, "  {id}[[\"{t}<br/><i>{process}</i>\"]]"),
                    StepKind::End { outcome } => writeln!(s, "  {id}(((\"{}\")))", label(outcome)),
                };
            }
            if uses_end {
                let _ = writeln!(s, "  fin(((fin)))");
            }
            for e in &edges {
                let _ = match &e.label {
                    Some(l) => writeln!(s, "  {} -->|\"{}\"| {}", e.from, label(l), e.to),
                    None => writeln!(s, "  {} --> {}", e.from, e.to),
                };
            }
            for h in highlight {
                let _ = writeln!(s, "  style {} fill:#ffe08a,stroke:#b7791f,stroke-width:3px", node_id(h));
            }
        }
        Format::Dot => {
            let _ = writeln!(s, "digraph \"{}\" {{\n  rankdir=TB;\n  node [fontname=\"sans-serif\"];", label(&p.id));
            let _ = writeln!(s, "  inicio [shape=circle, label=\"inicio\"];\n  inicio -> {};", node_id(&p.steps[0].id));
            for step in &p.steps {
                let id = node_id(&step.id);
                let role = step
                    .kind
                    .work()
                    .map(|w| format!("\\n({})", label(p.role_title(&w.role).unwrap_or(&w.role))))
                    .unwrap_or_default();
                let t = label(&step.title);
                let shape = match &step.kind {
                    StepKind::Task { .. } => "box",
                    StepKind::Approval { .. } | StepKind::Decision { .. } => "diamond",
                    StepKind::Parallel { .. } => "box3d",
                    StepKind::Wait { .. } => "ellipse",
                    StepKind::Call { .. } => "component",
                    StepKind::End { .. } => "doublecircle",
                };
                let fill = if highlight.contains(&step.id) { ", style=filled, fillcolor=\"#ffe08a\"" } else { "" };
                let _ = writeln!(s, "  {id} [shape={shape}, label=\"{t}{role}\"{fill}];");
                if matches!(step.kind, StepKind::Parallel { .. }) {
                    let _ = writeln!(s, "  {id}__join [shape=box3d, label=\"fin de: {t}\"];");
                }
            }
            if uses_end {
                let _ = writeln!(s, "  fin [shape=doublecircle, label=\"fin\"];");
            }
            for e in &edges {
                let _ = match &e.label {
                    Some(l) => writeln!(s, "  {} -> {} [label=\"{}\"];", e.from, e.to, label(l)),
                    None => writeln!(s, "  {} -> {};", e.from, e.to),
                };
            }
            let _ = writeln!(s, "}}");
        }
    }
    s
}
