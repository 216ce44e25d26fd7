//! The nodes of the SVG drawing: a shape per kind of step, its size, its text (the title
//! wrapped to a few lines, the role under it) and how it is drawn, in coordinates local to the
//! node's box.

use std::fmt::Write;

use super::flow::NodeKey;
use super::layout::Size;
use super::text::{escape, num, width, wrap};
use crate::definition::{JoinMode, Process, StepKind};

pub(crate) const INK: &str = "#1f2933";
pub(crate) const MUTED: &str = "#52606d";
const PAPER: &str = "#ffffff";
const VISITED_FILL: &str = "#e6eef8";
const VISITED_STROKE: &str = "#3e6fa8";
const CURRENT_FILL: &str = "#fff1c2";
const CURRENT_STROKE: &str = "#b45309";
const START_FILL: &str = "#e7f5ec";
const START_STROKE: &str = "#2f855a";

/// The width of boxes (tasks, approvals, calls, parallel steps, waits): titles wrap inside it,
/// so a rank is as wide as its steps, however long their titles.
const BOX_W: f64 = 200.0;
const DIAMOND_W: f64 = 208.0;
const PAD: f64 = 10.0;
const TITLE_SIZE: f64 = 12.0;
const TITLE_LINE: f64 = 15.0;
const SUB_SIZE: f64 = 11.0;
const SUB_LINE: f64 = 14.0;
const TITLE_LINES: usize = 3;
const SUB_LINES: usize = 2;
/// Room kept on both sides of the text, so that it stays centred, where a kind of step has an
/// icon on its left (the approval tick, the parallel "+", the clock of a wait).
const ICON_ROOM: f64 = 22.0;
const CIRCLE: f64 = 32.0;
const END_LABEL_W: f64 = 150.0;
const JOIN: f64 = 36.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shape {
    Start,
    Task,
    Approval,
    Decision,
    Parallel,
    Join { any: bool },
    Wait,
    Call,
    End,
}

/// How far an instance got to a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Mark {
    Plain,
    Visited(u32),
    Current(u32),
}

/// A node ready to draw: its shape, size, text lines and accessible description.
#[derive(Debug)]
pub(crate) struct Node {
    pub key: NodeKey,
    pub shape: Shape,
    pub size: Size,
    lines: Vec<String>,
    /// The role (or the list of a `for_each`, the called process) in smaller type.
    sub: Option<Vec<String>>,
    /// The full text, for `<title>` (hover, screen readers).
    pub title: String,
}

impl Node {
    pub fn of(p: &Process, key: NodeKey) -> Node {
        match key {
            NodeKey::Start => Node::circle(key, Shape::Start, "inicio", "Inicio".into()),
            NodeKey::End => Node::circle(key, Shape::End, "fin", "Fin (completed)".into()),
            NodeKey::Join(i) => {
                let any = matches!(p.steps[i].kind, StepKind::Parallel { join: JoinMode::Any, .. });
                let how = if any { ": continúa con la primera rama que termine" } else { "" };
                Node {
                    key,
                    shape: Shape::Join { any },
                    size: Size { w: JOIN, h: JOIN },
                    lines: Vec::new(),
                    sub: None,
                    title: format!("Fin de las ramas de «{}»{how}", p.steps[i].title),
                }
            }
            NodeKey::Step(i) => {
                let s = &p.steps[i];
                let role = s.kind.work().map(|w| match &w.role_from {
                    Some(from) => format!("rol: {}", from.source()),
                    None => p.role_title(&w.role).unwrap_or(&w.role).to_string(),
                });
                let (shape, what, sub) = match &s.kind {
                    StepKind::Task { .. } => (Shape::Task, "Tarea".to_string(), role),
                    StepKind::Approval { .. } => (Shape::Approval, "Aprobación".to_string(), role),
                    StepKind::Decision { .. } => (Shape::Decision, "Decisión".to_string(), None),
                    StepKind::Parallel { for_each, .. } => {
                        let each = for_each.as_ref().map(|e| format!("por cada: {}", e.source()));
                        (Shape::Parallel, "En paralelo".to_string(), each)
                    }
                    StepKind::Wait { .. } => (Shape::Wait, "Espera".to_string(), None),
                    StepKind::Call { process, .. } => {
                        (Shape::Call, format!("Subproceso {process}"), Some(process.clone()))
                    }
                    StepKind::End { outcome } => {
                        return Node::circle(key, Shape::End, &s.title, format!("Fin ({outcome}): {}", s.title));
                    }
                };
                let title = match (&sub, shape) {
                    (Some(r), Shape::Task | Shape::Approval) => format!("{what}: {}. Rol: {r}", s.title),
                    (Some(e), Shape::Parallel) => format!("{what}: {} ({e})", s.title),
                    _ => format!("{what}: {}", s.title),
                };
                let (lines, sub, size) = if shape == Shape::Decision {
                    let lines = diamond_lines(&s.title);
                    let h = 14.0 * lines.len() as f64 + 52.0;
                    (lines, None, Size { w: DIAMOND_W, h })
                } else {
                    let icon = if matches!(shape, Shape::Task | Shape::Call) { 0.0 } else { ICON_ROOM };
                    let text_w = BOX_W - 2.0 * PAD - 2.0 * icon;
                    let lines = wrap(&s.title, TITLE_SIZE, &[text_w; TITLE_LINES]);
                    let sub = sub.map(|r| wrap(&r, SUB_SIZE, &[text_w; SUB_LINES]));
                    let marker = if shape == Shape::Call { 12.0 } else { 0.0 };
                    let block =
                        TITLE_LINE * lines.len() as f64 + sub.as_ref().map_or(0.0, |s| SUB_LINE * s.len() as f64);
                    (lines, sub, Size { w: BOX_W, h: (block + 2.0 * PAD + marker).max(44.0) })
                };
                Node { key, shape, size, lines, sub, title }
            }
        }
    }

    /// A circle with its label under it (start, end).
    fn circle(key: NodeKey, shape: Shape, label: &str, title: String) -> Node {
        if shape == Shape::Start {
            return Node { key, shape, size: Size { w: 40.0, h: 40.0 }, lines: vec![label.into()], sub: None, title };
        }
        let lines = wrap(label, SUB_SIZE, &[END_LABEL_W, END_LABEL_W]);
        let w = lines.iter().map(|l| width(l, SUB_SIZE)).fold(CIRCLE + 8.0, f64::max).ceil();
        let h = CIRCLE + 4.0 + SUB_LINE * lines.len() as f64;
        Node { key, shape, size: Size { w, h }, lines, sub: None, title }
    }

    /// The node's elements inside `<g transform="translate(x y)">`.
    pub fn draw(&self, out: &mut String, mark: Mark) {
        let Size { w, h } = self.size;
        let (fill, stroke, sw) = match mark {
            Mark::Plain => (PAPER, MUTED, 1.5),
            Mark::Visited(_) => (VISITED_FILL, VISITED_STROKE, 1.5),
            Mark::Current(_) => (CURRENT_FILL, CURRENT_STROKE, 3.0),
        };
        let paint = |sw: f64| format!(r#"fill="{fill}" stroke="{stroke}" stroke-width="{}""#, num(sw));
        let (cx, cy) = (w / 2.0, h / 2.0);
        match self.shape {
            Shape::Start => {
                let _ = write!(
                    out,
                    r#"<circle class="shape" cx="{c}" cy="{c}" r="{r}" fill="{START_FILL}" stroke="{START_STROKE}" stroke-width="2"/><text x="{c}" y="{ty}" text-anchor="middle" font-size="10" fill="{INK}">inicio</text>"#,
                    c = num(cx),
                    r = num(cx - 1.0),
                    ty = num(cy + 3.5),
                );
                return;
            }
            Shape::End => {
                let r = CIRCLE / 2.0;
                let _ = write!(
                    out,
                    r#"<circle class="shape" cx="{}" cy="{}" r="{}" {}/>"#,
                    num(cx),
                    num(r),
                    num(r - 2.0),
                    paint(sw + 2.5)
                );
                let _ = write!(out, r#"<text text-anchor="middle" font-size="{}" fill="{INK}">"#, num(SUB_SIZE));
                for (k, line) in self.lines.iter().enumerate() {
                    let y = CIRCLE + 4.0 + SUB_LINE * k as f64 + 10.5;
                    let _ = write!(out, r#"<tspan x="{}" y="{}">{}</tspan>"#, num(cx), num(y), escape(line));
                }
                out.push_str("</text>");
                return;
            }
            Shape::Join { any } => {
                let _ = write!(out, r#"<polygon class="shape" points="{}" {}/>"#, diamond(w, h), paint(sw));
                let glyph = if any {
                    format!(r#"<circle cx="{0}" cy="{0}" r="7" fill="none" stroke="{INK}" stroke-width="2"/>"#, num(cx))
                } else {
                    plus(cx, cy, 8.0, 2.5)
                };
                out.push_str(&glyph);
                return;
            }
            Shape::Decision => {
                let _ = write!(out, r#"<polygon class="shape" points="{}" {}/>"#, diamond(w, h), paint(sw));
            }
            Shape::Wait => {
                let _ = write!(
                    out,
                    r#"<rect class="shape" width="{}" height="{}" rx="{}" {}/>"#,
                    num(w),
                    num(h),
                    num(h / 2.0),
                    paint(sw)
                );
                clock(out, PAD + 8.0, cy);
            }
            Shape::Task | Shape::Parallel | Shape::Approval | Shape::Call => {
                let thick = if self.shape == Shape::Call { 1.5 } else { 0.0 };
                let _ = write!(
                    out,
                    r#"<rect class="shape" width="{}" height="{}" rx="8" {}/>"#,
                    num(w),
                    num(h),
                    paint(sw + thick)
                );
            }
        }
        match self.shape {
            Shape::Approval => {
                let _ = write!(
                    out,
                    r#"<rect x="3.5" y="3.5" width="{}" height="{}" rx="5" fill="none" stroke="{stroke}" stroke-width="1"/><path d="M9 {a}l4 4l8 -9" fill="none" stroke="{stroke}" stroke-width="2"/>"#,
                    num(w - 7.0),
                    num(h - 7.0),
                    a = num(cy),
                );
            }
            Shape::Parallel => {
                let _ = write!(
                    out,
                    r#"<path d="M8 4h{bar}M8 {b}h{bar}" stroke="{stroke}" stroke-width="3"/>"#,
                    bar = num(w - 16.0),
                    b = num(h - 4.0),
                );
                out.push_str(&plus(PAD + 6.0, cy, 6.0, 2.0));
            }
            Shape::Call => {
                let _ = write!(
                    out,
                    r#"<rect x="{}" y="{}" width="12" height="12" fill="none" stroke="{stroke}" stroke-width="1"/>"#,
                    num(cx - 6.0),
                    num(h - 15.0)
                );
                out.push_str(&plus(cx, h - 9.0, 4.0, 1.2));
            }
            _ => {}
        }
        self.draw_text(out);
        if let Mark::Visited(n) | Mark::Current(n) = mark
            && n > 1
        {
            badge(out, w, n);
        }
    }

    fn draw_text(&self, out: &mut String) {
        let Size { w, h } = self.size;
        let centre = if self.shape == Shape::Wait { (2.0 * PAD + 16.0 + w - PAD) / 2.0 } else { w / 2.0 };
        let (line, size) =
            if self.shape == Shape::Decision { (14.0, TITLE_SIZE - 1.0) } else { (TITLE_LINE, TITLE_SIZE) };
        let marker = if self.shape == Shape::Call { 12.0 } else { 0.0 };
        let block = line * self.lines.len() as f64 + self.sub.as_ref().map_or(0.0, |s| SUB_LINE * s.len() as f64);
        let top = (h - marker - block) / 2.0;
        let _ = write!(out, r#"<text text-anchor="middle" font-size="{}" fill="{INK}">"#, num(size));
        for (k, l) in self.lines.iter().enumerate() {
            let y = top + line * k as f64 + size - 0.5;
            let _ = write!(out, r#"<tspan x="{}" y="{}">{}</tspan>"#, num(centre), num(y), escape(l));
        }
        out.push_str("</text>");
        if let Some(sub) = &self.sub {
            let _ = write!(
                out,
                r#"<text class="role" text-anchor="middle" font-size="{}" font-style="italic" fill="{MUTED}">"#,
                num(SUB_SIZE)
            );
            for (k, l) in sub.iter().enumerate() {
                let y = top + line * self.lines.len() as f64 + SUB_LINE * k as f64 + SUB_SIZE;
                let _ = write!(out, r#"<tspan x="{}" y="{}">{}</tspan>"#, num(centre), num(y), escape(l));
            }
            out.push_str("</text>");
        }
    }
}

/// A decision's title in one, two or three lines, each as wide as the diamond is at its height.
fn diamond_lines(title: &str) -> Vec<String> {
    let whole = title.split_whitespace().collect::<Vec<_>>().join(" ");
    let size = TITLE_SIZE - 1.0;
    let mut lines = Vec::new();
    for n in 1..=3 {
        let half_h = 7.0 * n as f64 + 26.0;
        let widths: Vec<f64> = (0..n)
            .map(|k| {
                let dy = (k as f64 - (n as f64 - 1.0) / 2.0).abs() * 14.0;
                DIAMOND_W * (1.0 - (dy + 7.0) / half_h) - 16.0
            })
            .collect();
        lines = wrap(title, size, &widths);
        if lines.join(" ") == whole {
            break;
        }
    }
    lines
}

fn diamond(w: f64, h: f64) -> String {
    format!("{} 0 {} {} {} {} 0 {}", num(w / 2.0), num(w), num(h / 2.0), num(w / 2.0), num(h), num(h / 2.0))
}

fn plus(cx: f64, cy: f64, r: f64, sw: f64) -> String {
    format!(
        r#"<path d="M{} {}h{}M{} {}v{}" stroke="{INK}" stroke-width="{}"/>"#,
        num(cx - r),
        num(cy),
        num(2.0 * r),
        num(cx),
        num(cy - r),
        num(2.0 * r),
        num(sw)
    )
}

fn clock(out: &mut String, cx: f64, cy: f64) {
    let _ = write!(
        out,
        r#"<circle cx="{x}" cy="{y}" r="8" fill="none" stroke="{INK}" stroke-width="1.5"/><path d="M{x} {top}v5h4" fill="none" stroke="{INK}" stroke-width="1.5"/>"#,
        x = num(cx),
        y = num(cy),
        top = num(cy - 5.0),
    );
}

/// "×3": how many times an instance entered the step (a loop went round).
fn badge(out: &mut String, w: f64, n: u32) {
    let text = format!("×{n}");
    let bw = width(&text, 10.0) + 10.0;
    let _ = write!(
        out,
        r#"<g class="visits"><rect x="{x}" y="-7" width="{bw}" height="14" rx="7" fill="{VISITED_STROKE}"/><text x="{tx}" y="3.5" text-anchor="middle" font-size="10" fill="{PAPER}">{text}</text></g>"#,
        x = num(w - bw - 4.0),
        bw = num(bw),
        tx = num(w - 4.0 - bw / 2.0),
    );
}
