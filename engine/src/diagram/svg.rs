//! The flow of a process drawn as a standalone SVG document, laid out by [`super::layout`].
//!
//! Every element carries CSS classes (`step task current`, `edge back`…) and the presentation
//! attributes (`fill`, `stroke`…) that make it look right on its own, with no stylesheet: a
//! page under a CSP without inline styles embeds it as is, and may still restyle the classes.
//! The document has its natural size in `width`/`height` and a `viewBox`, so it scales: a page
//! shows it with `max-width: 100%; height: auto` inside a container with `overflow-x: auto`,
//! where a flow too wide for a phone scrolls sideways instead of shrinking its text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::flow::{Flow, FlowEdge, NodeKey};
use super::layout::{self, Graph, GraphEdge, Point, Rect, Route, Size};
use super::nodes::{INK, MUTED, Mark, Node, Shape};
use super::text::{escape, num, width, wrap};
use crate::definition::Process;

const BACK: &str = "#c2410c";
const LABEL_SIZE: f64 = 11.0;
const LABEL_LINE: f64 = 13.0;
const LABEL_W: f64 = 160.0;
const CORNER: f64 = 6.0;

/// What an instance has done, to mark on its process's flow: the steps it is at now and how
/// many times it entered each step. `Marks::default()` marks nothing (a process page).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    current: BTreeSet<String>,
    visits: BTreeMap<String, u32>,
}

impl Marks {
    /// `current`: the active steps; `entered`: the step of every `Entered` event of the
    /// instance's history, repeated as often as it was entered.
    pub fn new<S: AsRef<str>>(current: &[S], entered: &[S]) -> Marks {
        let mut visits = BTreeMap::new();
        for s in entered {
            *visits.entry(s.as_ref().to_string()).or_insert(0) += 1;
        }
        Marks { current: current.iter().map(|s| s.as_ref().to_string()).collect(), visits }
    }

    fn of(&self, step: &str) -> Mark {
        let n = self.visits.get(step).copied().unwrap_or(0);
        if self.current.contains(step) {
            Mark::Current(n)
        } else if n > 0 {
            Mark::Visited(n)
        } else {
            Mark::Plain
        }
    }
}

/// The flow of `p` as an SVG document, with `marks` on its steps. The same input gives the
/// same bytes.
pub fn svg(p: &Process, marks: &Marks) -> String {
    let flow = Flow::of(p);
    let nodes: Vec<Node> = flow.nodes.iter().map(|&k| Node::of(p, k)).collect();
    let index: BTreeMap<NodeKey, usize> = flow.nodes.iter().enumerate().map(|(i, &k)| (k, i)).collect();
    let labels: Vec<Option<Vec<String>>> =
        flow.edges.iter().map(|e| e.label.as_ref().map(|l| wrap(l, LABEL_SIZE, &[LABEL_W, LABEL_W]))).collect();
    let graph = Graph {
        nodes: nodes.iter().map(|n| n.size).collect(),
        pointed: nodes.iter().map(|n| matches!(n.shape, Shape::Decision | Shape::Join { .. })).collect(),
        edges: flow
            .edges
            .iter()
            .zip(&labels)
            .map(|(e, l)| GraphEdge {
                from: index[&e.from],
                to: index[&e.to],
                label: l.as_ref().map(|l| label_size(l)),
            })
            .collect(),
        root: index[&NodeKey::Start],
    };
    let placed = layout::layout(&graph);

    let id = format!("flow-{}", slug(&p.id));
    let mut out = String::with_capacity(1024 + 700 * nodes.len());
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="flow" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="{id}-title {id}-desc" font-family="DejaVu Sans, Verdana, sans-serif" font-size="12">"#,
        w = num(placed.width.ceil()),
        h = num(placed.height.ceil()),
    );
    let _ = write!(out, r#"<title id="{id}-title">Flujo del proceso: {}</title>"#, escape(&p.title));
    let loops = placed.edges.iter().any(|r| r.back);
    let _ = write!(out, r#"<desc id="{id}-desc">{}</desc>"#, escape(&description(p, marks, loops)));
    let _ = write!(
        out,
        r#"<defs><marker id="{id}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto"><path d="M0 0L10 5L0 10z" fill="{MUTED}"/></marker><marker id="{id}-back" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto"><path d="M0 0L10 5L0 10z" fill="{BACK}"/></marker></defs>"#
    );

    out.push_str(r#"<g class="edges">"#);
    for ((edge, route), lines) in flow.edges.iter().zip(&placed.edges).zip(&labels) {
        edge_svg(&mut out, &id, p, edge, route, lines.as_deref());
    }
    out.push_str("</g>");

    out.push_str(r#"<g class="nodes">"#);
    for (n, rect) in nodes.iter().zip(&placed.nodes) {
        node_svg(&mut out, p, n, *rect, marks);
    }
    out.push_str("</g></svg>\n");
    out
}

/// A node as a group at its place, with its classes, its `data-` name and its `<title>`.
fn node_svg(out: &mut String, p: &Process, n: &Node, rect: Rect, marks: &Marks) {
    let (class, data, mark) = match n.key {
        NodeKey::Start => ("start".to_string(), r#"data-node="start""#.to_string(), Mark::Plain),
        NodeKey::End => ("end fin".to_string(), r#"data-node="end""#.to_string(), Mark::Plain),
        NodeKey::Join(i) => ("join".to_string(), format!(r#"data-join="{}""#, escape(&p.steps[i].id)), Mark::Plain),
        NodeKey::Step(i) => {
            let s = &p.steps[i];
            let mark = marks.of(&s.id);
            let state = match mark {
                Mark::Plain => "",
                Mark::Visited(_) => " visited",
                Mark::Current(_) => " current",
            };
            (format!("step {}{state}", s.kind.name()), format!(r#"data-step="{}""#, escape(&s.id)), mark)
        }
    };
    let state = match mark {
        Mark::Plain => String::new(),
        Mark::Current(n) if n > 1 => format!(". Paso actual, al que se ha llegado {n} veces"),
        Mark::Current(_) => ". Paso actual".to_string(),
        Mark::Visited(1) => ". Visitado".to_string(),
        Mark::Visited(n) => format!(". Visitado {n} veces"),
    };
    let _ = write!(
        out,
        r#"<g class="{class}" {data} transform="translate({} {})"><title>{}{}</title>"#,
        num(rect.x),
        num(rect.y),
        escape(&n.title),
        state
    );
    n.draw(out, mark);
    out.push_str("</g>");
}

fn label_size(lines: &[String]) -> Size {
    let w = lines.iter().map(|l| width(l, LABEL_SIZE)).fold(0.0, f64::max);
    Size { w: (w + 6.0).ceil(), h: LABEL_LINE * lines.len() as f64 + 4.0 }
}

/// An edge as a group: its path with an arrowhead, its label, and a `<title>` with the whole
/// label (or, for a return without one, where it returns to).
fn edge_svg(out: &mut String, id: &str, p: &Process, edge: &FlowEdge, route: &Route, lines: Option<&[String]>) {
    let class = match (route.back, edge.rejection) {
        (true, true) => "edge back rejection",
        (true, false) => "edge back",
        (false, true) => "edge rejection",
        (false, false) => "edge",
    };
    let (from, to) = (key_name(p, edge.from), key_name(p, edge.to));
    let _ = write!(out, r#"<g class="{class}" data-from="{}" data-to="{}">"#, escape(&from), escape(&to));
    let full = match &edge.label {
        Some(l) => l.clone(),
        None if route.back => format!("regresa a «{}»", title_of(p, edge.to)),
        None => String::new(),
    };
    if !full.is_empty() {
        let _ = write!(out, "<title>{}</title>", escape(&full));
    }
    let (colour, dash, marker) =
        if route.back { (BACK, r#" stroke-dasharray="6 4""#, "back") } else { (MUTED, "", "arrow") };
    let _ = write!(
        out,
        r#"<path d="{}" fill="none" stroke="{colour}" stroke-width="1.5"{dash} marker-end="url(#{id}-{marker})"/>"#,
        path(&route.points)
    );
    if let (Some(r), Some(lines)) = (route.label, lines) {
        label_svg(out, r, lines, if route.back { BACK } else { INK });
    }
    out.push_str("</g>");
}

fn label_svg(out: &mut String, r: Rect, lines: &[String], colour: &str) {
    let _ = write!(
        out,
        r##"<g class="label"><rect x="{}" y="{}" width="{}" height="{}" rx="3" fill="#ffffff" fill-opacity="0.9"/><text font-size="{}" fill="{colour}">"##,
        num(r.x),
        num(r.y),
        num(r.w),
        num(r.h),
        num(LABEL_SIZE)
    );
    for (k, line) in lines.iter().enumerate() {
        let y = r.y + 2.0 + LABEL_LINE * k as f64 + 10.0;
        let _ = write!(out, r#"<tspan x="{}" y="{}">{}</tspan>"#, num(r.x + 3.0), num(y), escape(line));
    }
    out.push_str("</text></g>");
}

/// SVG path data for a route: straight lines, rounded where a horizontal and a vertical
/// segment meet, and a curve leaving and arriving vertically where a segment goes both across
/// and up or down (the gap between two bands).
fn path(points: &[Point]) -> String {
    let mut d = String::new();
    let Some(&first) = points.first() else { return d };
    let _ = write!(d, "M{} {}", num(first.x), num(first.y));
    let mut at = first;
    for (k, &b) in points.iter().enumerate().skip(1) {
        let next = points.get(k + 1).copied();
        let turn = next.filter(|&c| {
            let straight = |p: Point, q: Point| p.x == q.x || p.y == q.y;
            straight(at, b) && straight(b, c) && ((at.x == b.x) != (b.x == c.x))
        });
        let r = turn.map_or(0.0, |c| CORNER.min(dist(at, b) / 2.0).min(dist(b, c) / 2.0));
        let end = if turn.is_some() { toward(b, at, r) } else { b };
        if at.x != end.x && at.y != end.y {
            let mid = (at.y + end.y) / 2.0;
            let _ = write!(d, "C{} {} {} {} {} {}", num(at.x), num(mid), num(end.x), num(mid), num(end.x), num(end.y));
        } else {
            let _ = write!(d, "L{} {}", num(end.x), num(end.y));
        }
        at = end;
        if let Some(c) = turn {
            let out = toward(b, c, r);
            let _ = write!(d, "Q{} {} {} {}", num(b.x), num(b.y), num(out.x), num(out.y));
            at = out;
        }
    }
    d
}

fn dist(a: Point, b: Point) -> f64 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// The point `r` from `from` toward `to`.
fn toward(from: Point, to: Point, r: f64) -> Point {
    let d = dist(from, to);
    if d == 0.0 {
        return from;
    }
    Point { x: from.x + (to.x - from.x) * r / d, y: from.y + (to.y - from.y) * r / d }
}

/// How a node is named in `data-from` / `data-to`: the step id, or a name no step id can have.
fn key_name(p: &Process, k: NodeKey) -> String {
    match k {
        NodeKey::Start => ":start".into(),
        NodeKey::End => ":end".into(),
        NodeKey::Step(i) => p.steps[i].id.clone(),
        NodeKey::Join(i) => format!("{}:join", p.steps[i].id),
    }
}

fn title_of(p: &Process, k: NodeKey) -> String {
    match k {
        NodeKey::Start => "inicio".into(),
        NodeKey::End => "fin".into(),
        NodeKey::Step(i) | NodeKey::Join(i) => p.steps[i].title.clone(),
    }
}

fn description(p: &Process, marks: &Marks, loops: bool) -> String {
    let mut d = format!("Diagrama de flujo de arriba abajo con {} pasos.", p.steps.len());
    if loops {
        d.push_str(" Las flechas discontinuas regresan a un paso anterior (ciclos y rechazos).");
    }
    let current: Vec<&str> =
        p.steps.iter().filter(|s| marks.current.contains(&s.id)).map(|s| s.title.as_str()).collect();
    if !current.is_empty() {
        let _ = write!(d, " Paso actual: {}.", current.join("; "));
    }
    d
}

/// `id` as a fragment of an XML id: letters, digits and `-`.
fn slug(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}
