//! Flow diagrams of a process: Mermaid or Graphviz DOT text, optionally with steps highlighted,
//! and an SVG drawing laid out here ([`svg()`]), with an instance's current and visited steps
//! marked, for pages that must work without JavaScript.
//!
//! All formats draw the same graph (`flow.rs`): a start node, one node per step, a join node per
//! parallel step and a `fin` node for `next: end`, with edges labelled by their condition,
//! `si no` (the default of a choice), `aprobado` and `rechazado`. The SVG drawing lays it out in
//! layers (`layout/`), draws each kind of step with its own shape (`nodes.rs`) and estimates
//! text widths without fonts (`text.rs`). `goto`s of `on_overdue` are not drawn, in any format.

use std::fmt::Write;

use crate::definition::{Process, StepKind};

mod flow;
mod layout;
mod nodes;
mod svg;
mod text;

use flow::{Flow, NodeKey};
pub use svg::{Marks, svg};

/// The output language of a diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mermaid,
    Dot,
    /// A standalone SVG document ([`svg()`]); the highlighted steps are marked as current.
    Svg,
}

fn node_id(id: &str) -> String {
    id.replace(['-', '.'], "_")
}

/// A node's name in Mermaid and DOT.
fn name(p: &Process, k: NodeKey) -> String {
    match k {
        NodeKey::Start => "inicio".to_string(),
        NodeKey::Step(i) => node_id(&p.steps[i].id),
        NodeKey::Join(i) => format!("{}__join", node_id(&p.steps[i].id)),
        NodeKey::End => "fin".to_string(),
    }
}

fn label(text: &str) -> String {
    text.replace('"', "'")
}

/// Renders the process; steps named in `highlight` are marked.
pub fn render(p: &Process, format: Format, highlight: &[String]) -> String {
    let mut s = String::new();
    let flow = Flow::of(p);
    // The start edge is written with the start node.
    let edges: Vec<(String, String, Option<&String>)> = flow
        .edges
        .iter()
        .filter(|e| e.from != NodeKey::Start)
        .map(|e| (name(p, e.from), name(p, e.to), e.label.as_ref()))
        .collect();
    let uses_end = flow.nodes.contains(&NodeKey::End);
    match format {
        Format::Svg => return svg(p, &Marks::new(highlight, &[])),
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
            for (from, to, l) in &edges {
                let _ = match l {
                    Some(l) => writeln!(s, "  {from} -->|\"{}\"| {to}", label(l)),
                    None => writeln!(s, "  {from} --> {to}"),
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
            for (from, to, l) in &edges {
                let _ = match l {
                    Some(l) => writeln!(s, "  {from} -> {to} [label=\"{}\"];", label(l)),
                    None => writeln!(s, "  {from} -> {to};"),
                };
            }
            let _ = writeln!(s, "}}");
        }
    }
    s
}
