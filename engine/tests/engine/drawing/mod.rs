//! Reading SVG flow drawings back in tests: the shipped definitions, a process from YAML, and
//! a drawing's XML parsed and checked for what every drawing must be.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tramite_engine::calendar::{BUILTIN, Calendar, builtin};
use tramite_engine::definition::{Catalog, Process, SourceFile, load};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn calendars() -> BTreeMap<String, Calendar> {
    BUILTIN.iter().map(|n| (n.to_string(), builtin(n).unwrap_or_else(|| panic!("calendar {n}")))).collect()
}

fn yaml_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()));
        for e in entries {
            let p = e.unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display())).path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "hbs") {
                // Message templates too: the processes that send messages name them.
                out.push(p);
            }
        }
    }
}

/// The shipped processes with their forms, loaded as `tramite check processes forms` does.
pub fn shipped() -> Catalog {
    let mut paths = Vec::new();
    yaml_under(&Path::new(ROOT).join("processes"), &mut paths);
    yaml_under(&Path::new(ROOT).join("forms"), &mut paths);
    paths.sort();
    let files: Vec<SourceFile> = paths
        .iter()
        .map(|p| SourceFile {
            path: p.strip_prefix(ROOT).unwrap_or(p).display().to_string(),
            text: fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display())),
        })
        .collect();
    let (catalog, diags) = load(&files, calendars());
    assert!(diags.is_empty(), "the shipped definitions do not load: {diags:#?}");
    assert!(catalog.processes.len() >= 15, "{:?}", catalog.processes.keys());
    catalog
}

pub fn one(yaml: &str) -> Process {
    let (catalog, diags) = load(&[SourceFile { path: "x.yaml".into(), text: yaml.into() }], calendars());
    assert!(diags.is_empty(), "{diags:#?}\n{yaml}");
    catalog.processes.into_values().next().unwrap_or_else(|| panic!("no process in\n{yaml}"))
}

/// A box in the drawing's coordinates.
#[derive(Debug, Clone, Copy)]
struct Box2 {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Box2 {
    fn point(x: f64, y: f64) -> Box2 {
        Box2 { x0: x, y0: y, x1: x, y1: y }
    }
    fn union(self, o: Box2) -> Box2 {
        Box2 { x0: self.x0.min(o.x0), y0: self.y0.min(o.y0), x1: self.x1.max(o.x1), y1: self.y1.max(o.y1) }
    }
    fn overlaps(&self, o: &Box2) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
    fn holds_inside(&self, x: f64, y: f64) -> bool {
        self.x0 + 1.0 < x && x < self.x1 - 1.0 && self.y0 + 1.0 < y && y < self.y1 - 1.0
    }
    /// Inside the diamond drawn in this box.
    fn diamond_holds_inside(&self, x: f64, y: f64) -> bool {
        let (hw, hh) = ((self.x1 - self.x0) / 2.0, (self.y1 - self.y0) / 2.0);
        let (dx, dy) = ((x - self.x0 - hw).abs() / hw, (y - self.y0 - hh).abs() / hh);
        dx + dy < 0.97
    }
}

fn f(n: roxmltree::Node, attr: &str) -> f64 {
    n.attribute(attr).map_or(0.0, |v| v.parse().unwrap_or_else(|_| panic!("{attr}={v} is not a number")))
}

fn numbers(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or_else(|_| panic!("`{s}` in `{text}`")))
        .collect()
}

/// The boxes a node group covers: its shapes, and its shapes with its text (widths estimated);
/// and whether its shape is a diamond.
fn node_box(g: roxmltree::Node) -> (Box2, Box2, bool) {
    let t = numbers(g.attribute("transform").unwrap_or_else(|| panic!("node without transform")));
    let (dx, dy) = (t[0], t[1]);
    let (mut shapes, mut texts): (Option<Box2>, Option<Box2>) = (None, None);
    let add = |b: &mut Option<Box2>, x: Box2| *b = Some(b.map_or(x, |b| b.union(x)));
    for n in g.descendants().filter(|n| n.is_element()) {
        match n.tag_name().name() {
            "rect" if n.parent().is_some_and(|p| p.attribute("class") != Some("visits")) => {
                let (x, y) = (f(n, "x"), f(n, "y"));
                add(&mut shapes, Box2 { x0: x, y0: y, x1: x + f(n, "width"), y1: y + f(n, "height") });
            }
            "circle" => {
                let (cx, cy, r) = (f(n, "cx"), f(n, "cy"), f(n, "r"));
                add(&mut shapes, Box2 { x0: cx - r, y0: cy - r, x1: cx + r, y1: cy + r });
            }
            "polygon" => {
                let p = numbers(n.attribute("points").unwrap_or_default());
                for xy in p.chunks(2) {
                    add(&mut shapes, Box2::point(xy[0], xy[1]));
                }
            }
            "tspan" => {
                let text = n.text().unwrap_or_default();
                let size = n.parent().map_or(12.0, |t| f(t, "font-size"));
                let half = text.chars().count() as f64 * 0.55 * size / 2.0;
                let (x, y) = (f(n, "x"), f(n, "y"));
                add(&mut texts, Box2 { x0: x - half, y0: y - size, x1: x + half, y1: y + 2.0 });
            }
            _ => {}
        }
    }
    let shapes = shapes.unwrap_or_else(|| panic!("a node draws no shape"));
    let all = texts.map_or(shapes, |t| t.union(shapes));
    let moved = |b: Box2| Box2 { x0: b.x0 + dx, y0: b.y0 + dy, x1: b.x1 + dx, y1: b.y1 + dy };
    let diamond = g.children().any(|c| c.has_tag_name("polygon"));
    (moved(shapes), moved(all), diamond)
}

/// What a drawing is made of, read back from its XML.
#[derive(Debug)]
pub struct Drawing {
    /// `data-step` of every step node, in document order.
    pub steps: Vec<String>,
    /// (`data-from`, `data-to`, class, label text) of every edge.
    pub edges: Vec<(String, String, String, String)>,
    pub classes: BTreeMap<String, String>,
    pub badges: BTreeMap<String, String>,
}

/// Parses `svg` and checks what every drawing must be: well-formed, labelled for screen readers,
/// no two node or label boxes overlapping, no edge corner inside a node.
pub fn read(svg: &str) -> Drawing {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!((root.tag_name().name(), root.tag_name().namespace()), ("svg", Some("http://www.w3.org/2000/svg")));
    assert_eq!(root.attribute("role"), Some("img"));
    assert!(root.attribute("viewBox").is_some_and(|v| v.starts_with("0 0 ")));
    for id in root.attribute("aria-labelledby").unwrap_or_default().split(' ') {
        assert!(doc.descendants().any(|n| n.attribute("id") == Some(id)), "aria-labelledby names `{id}`");
    }
    let is_node = |n: &roxmltree::Node| {
        n.has_tag_name("g") && ["data-step", "data-join", "data-node"].iter().any(|a| n.attribute(*a).is_some())
    };
    let mut boxes: Vec<(String, Box2)> = Vec::new();
    let mut shapes: Vec<(String, Box2, bool)> = Vec::new();
    let mut d = Drawing { steps: Vec::new(), edges: Vec::new(), classes: BTreeMap::new(), badges: BTreeMap::new() };
    for g in doc.descendants().filter(is_node) {
        let name = ["data-step", "data-join", "data-node"].iter().find_map(|a| g.attribute(*a)).unwrap_or_default();
        assert!(g.children().any(|c| c.has_tag_name("title")), "node {name} has no <title>");
        let (shape, all, diamond) = node_box(g);
        shapes.push((name.to_string(), shape, diamond));
        boxes.push((name.to_string(), all));
        if let Some(step) = g.attribute("data-step") {
            d.steps.push(step.to_string());
            d.classes.insert(step.to_string(), g.attribute("class").unwrap_or_default().to_string());
            if let Some(badge) = g.descendants().find(|n| n.attribute("class") == Some("visits")) {
                let text: String = badge.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect();
                d.badges.insert(step.to_string(), text);
            }
        }
    }
    for e in doc.descendants().filter(|n| n.has_tag_name("g") && n.attribute("data-from").is_some()) {
        let attr = |a: &str| e.attribute(a).unwrap_or_default().to_string();
        let label: String =
            e.descendants().filter(|n| n.has_tag_name("tspan")).filter_map(|n| n.text()).collect::<Vec<_>>().join(" ");
        for r in e.descendants().filter(|n| n.has_tag_name("rect")) {
            let (x, y) = (f(r, "x"), f(r, "y"));
            boxes.push((
                format!("label of {}", attr("data-from")),
                Box2 { x0: x, y0: y, x1: x + f(r, "width"), y1: y + f(r, "height") },
            ));
        }
        let path = e.children().find(|n| n.has_tag_name("path")).unwrap_or_else(|| panic!("edge without a path"));
        let corners = numbers(path.attribute("d").unwrap_or_default());
        for xy in corners.chunks(2) {
            for (name, b, diamond) in &shapes {
                let (x, y) = (xy[0], xy[1]);
                let inside = if *diamond { b.diamond_holds_inside(x, y) } else { b.holds_inside(x, y) };
                assert!(
                    !inside,
                    "the edge {} → {} runs through {name} at ({x}, {y})",
                    attr("data-from"),
                    attr("data-to")
                );
            }
        }
        d.edges.push((attr("data-from"), attr("data-to"), attr("class"), label));
    }
    for (i, (a, ba)) in boxes.iter().enumerate() {
        for (b, bb) in &boxes[i + 1..] {
            assert!(!ba.overlaps(bb), "{a} {ba:?} overlaps {b} {bb:?}");
        }
    }
    d
}
