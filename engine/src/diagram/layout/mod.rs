//! A layered (Sugiyama-style) layout of a directed graph, top to bottom, for the SVG drawing.
//!
//! 1. Back edges (loops, approval returns) are found by a depth-first search from the root.
//! 2. Every node gets a rank by the longest path over the other edges. Ranks are doubled: nodes
//!    sit on even ranks and the odd ranks between them carry edge labels, so a label has a slot
//!    of its own and never lands on a node or on another label.
//! 3. An edge spanning several ranks passes through one item per rank between its ends (a
//!    *pass*); a back edge runs up a *lane* beside the nodes, from an item just right of its
//!    source to one just right of its target. The items of each rank are ordered to reduce
//!    crossings ([`order`]), then given x coordinates ([`place`]).
//! 4. Each rank is a horizontal band as tall as its tallest item; edges run vertically through
//!    bands and cross the gaps between bands as curves, so they never pass over a node.
//!
//! Every step is a loop over vectors (no recursion over nodes: definitions may have thousands of
//! steps), and the result depends only on the input order.

mod order;
mod place;

/// Width and height of a node or of a label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Size {
    pub w: f64,
    pub h: f64,
}

/// A box by its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub x: f64,
    pub y: f64,
}

/// What to lay out: node sizes, edges (with the size of their label) and the node flow starts at.
#[derive(Debug)]
pub(crate) struct Graph {
    pub nodes: Vec<Size>,
    pub edges: Vec<GraphEdge>,
    pub root: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct GraphEdge {
    pub from: usize,
    pub to: usize,
    pub label: Option<Size>,
}

/// Where everything goes.
#[derive(Debug)]
pub(crate) struct Layout {
    /// One box per node of the graph, in its order.
    pub nodes: Vec<Rect>,
    /// One route per edge of the graph, in its order.
    pub edges: Vec<Route>,
    pub width: f64,
    pub height: f64,
}

/// The path of one edge: straight segments, except that a segment going both across and down
/// (or up) crosses a gap between bands and is drawn as a curve leaving and arriving vertically.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    /// A back edge (a loop): drawn up the side of the flow.
    pub back: bool,
    pub points: Vec<Point>,
    pub label: Option<Rect>,
}

/// Empty space around the drawing.
pub(crate) const MARGIN: f64 = 16.0;
/// The vertical gap between two bands.
const BAND_GAP: f64 = 22.0;
/// Half the width kept free around an edge passing through a band.
const PASS_HALF: f64 = 3.0;
/// Space between an edge and its label.
const LABEL_GAP: f64 = 5.0;
/// How far a self-loop reaches right of its node.
const LOOP_REACH: f64 = 18.0;

/// An entry in a rank: a node, or a point an edge passes through.
#[derive(Debug, Clone)]
struct Item {
    kind: ItemKind,
    rank: usize,
    /// Extent left and right of the item's x.
    left: f64,
    right: f64,
    height: f64,
    /// An item kept right after another one (the ends of a back edge's lane, a self-loop).
    owner: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ItemKind {
    Node,
    /// A point of a forward edge spanning more than one rank (the first one carries its label).
    Pass,
    /// A point of a back edge's lane.
    Lane,
    /// The drawn loop of an edge from a node to itself.
    SelfLoop,
}

/// The graph cut into ranks: items, the links between items of neighbouring ranks, and for each
/// edge the items it runs through, from its source's end to its target's.
#[derive(Debug)]
struct Layered {
    items: Vec<Item>,
    /// Per item, the linked items one rank above and one rank below.
    up: Vec<Vec<usize>>,
    down: Vec<Vec<usize>>,
    chains: Vec<Vec<usize>>,
    ranks: usize,
}

pub(crate) fn layout(g: &Graph) -> Layout {
    let back = back_edges(g);
    let rank = ranks(g, &back);
    let layered = layered(g, &back, &rank);
    let order = order::order(&layered);
    let xs = place::place(&layered, &order);
    routes(g, &back, &layered, &xs)
}

/// Edges that close a cycle, found by an iterative depth-first search from the root (then from
/// any node not reached, in order), following edges in their order.
fn back_edges(g: &Graph) -> Vec<bool> {
    let n = g.nodes.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (e, edge) in g.edges.iter().enumerate() {
        out[edge.from].push(e);
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        No,
        OnPath,
        Done,
    }
    let mut seen = vec![Seen::No; n];
    let mut back = vec![false; g.edges.len()];
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in std::iter::once(g.root).chain(0..n) {
        if seen[root] != Seen::No {
            continue;
        }
        seen[root] = Seen::OnPath;
        path.push((root, 0));
        while let Some((u, next)) = path.last_mut() {
            let u = *u;
            if let Some(&e) = out[u].get(*next) {
                *next += 1;
                let v = g.edges[e].to;
                match seen[v] {
                    Seen::No => {
                        seen[v] = Seen::OnPath;
                        path.push((v, 0));
                    }
                    Seen::OnPath => back[e] = true,
                    Seen::Done => {}
                }
            } else {
                seen[u] = Seen::Done;
                path.pop();
            }
        }
    }
    back
}

/// The rank of every node: twice the longest path to it over the forward edges.
fn ranks(g: &Graph, back: &[bool]) -> Vec<usize> {
    let n = g.nodes.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for (e, edge) in g.edges.iter().enumerate() {
        if !back[e] && edge.from != edge.to {
            out[edge.from].push(edge.to);
            indegree[edge.to] += 1;
        }
    }
    let mut rank = vec![0usize; n];
    let mut ready: std::collections::VecDeque<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
    while let Some(u) = ready.pop_front() {
        for &v in &out[u] {
            rank[v] = rank[v].max(rank[u] + 2);
            indegree[v] -= 1;
            if indegree[v] == 0 {
                ready.push_back(v);
            }
        }
    }
    rank
}

fn layered(g: &Graph, back: &[bool], rank: &[usize]) -> Layered {
    let mut items: Vec<Item> = g
        .nodes
        .iter()
        .zip(rank)
        .map(|(s, &r)| Item {
            kind: ItemKind::Node,
            rank: r,
            left: s.w / 2.0,
            right: s.w / 2.0,
            height: s.h,
            owner: None,
        })
        .collect();
    let label_item = |kind, rank, label: Option<Size>, owner| match label {
        Some(l) => Item { kind, rank, left: PASS_HALF, right: LABEL_GAP + l.w, height: l.h, owner },
        None => Item { kind, rank, left: PASS_HALF, right: PASS_HALF, height: 0.0, owner },
    };
    let mut chains = Vec::with_capacity(g.edges.len());
    for (e, edge) in g.edges.iter().enumerate() {
        let (ru, rv) = (rank[edge.from], rank[edge.to]);
        let mut chain = Vec::new();
        if edge.from == edge.to {
            let right = LOOP_REACH + edge.label.map(|l| LABEL_GAP + l.w).unwrap_or(0.0);
            chain.push(items.len());
            items.push(Item {
                kind: ItemKind::SelfLoop,
                rank: ru,
                left: 0.0,
                right,
                height: 0.0,
                owner: Some(edge.from),
            });
        } else if !back[e] {
            chain.push(edge.from);
            for r in ru + 1..rv {
                chain.push(items.len());
                items.push(label_item(ItemKind::Pass, r, edge.label.filter(|_| r == ru + 1), None));
            }
            chain.push(edge.to);
        } else {
            // Up the side: an item right of the source, the lane, an item right of the target.
            for r in (rv..=ru).rev() {
                chain.push(items.len());
                let owner = if r == ru {
                    Some(edge.from)
                } else if r == rv {
                    Some(edge.to)
                } else {
                    None
                };
                let label = edge.label.filter(|_| r + 1 == ru);
                items.push(label_item(ItemKind::Lane, r, if owner.is_some() { None } else { label }, owner));
            }
        }
        chains.push(chain);
    }
    let mut up = vec![Vec::new(); items.len()];
    let mut down = vec![Vec::new(); items.len()];
    for chain in &chains {
        for w in chain.windows(2) {
            let (a, b) = if items[w[0]].rank < items[w[1]].rank { (w[0], w[1]) } else { (w[1], w[0]) };
            down[a].push(b);
            up[b].push(a);
        }
    }
    let ranks = items.iter().map(|i| i.rank + 1).max().unwrap_or(0);
    Layered { items, up, down, chains, ranks }
}

/// Bands, boxes and paths from the x of every item.
fn routes(g: &Graph, back: &[bool], l: &Layered, xs: &[f64]) -> Layout {
    let mut band_h = vec![0.0f64; l.ranks];
    for it in &l.items {
        band_h[it.rank] = band_h[it.rank].max(it.height);
    }
    let mut top = Vec::with_capacity(l.ranks);
    let mut y = MARGIN;
    for h in &band_h {
        top.push(y);
        y += h + BAND_GAP;
    }
    let height = y - BAND_GAP + MARGIN;
    let bottom = |r: usize| top[r] + band_h[r];
    let min_x = l.items.iter().zip(xs).map(|(it, x)| x - it.left).fold(f64::INFINITY, f64::min);
    let max_x = l.items.iter().zip(xs).map(|(it, x)| x + it.right).fold(f64::NEG_INFINITY, f64::max);
    let shift = MARGIN - if min_x.is_finite() { min_x } else { 0.0 };
    let x = |i: usize| xs[i] + shift;
    let nodes: Vec<Rect> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let r = l.items[i].rank;
            Rect { x: x(i) - s.w / 2.0, y: top[r] + (band_h[r] - s.h) / 2.0, w: s.w, h: s.h }
        })
        .collect();
    let lanes_at = attached_heights(l, &nodes, xs);
    let label_at = |i: usize, size: Option<Size>| {
        let r = l.items[i].rank;
        size.map(|s| Rect { x: x(i) + LABEL_GAP, y: top[r] + (band_h[r] - s.h) / 2.0, w: s.w, h: s.h })
    };
    let mut edges = Vec::with_capacity(g.edges.len());
    for (e, edge) in g.edges.iter().enumerate() {
        let chain = &l.chains[e];
        let (u, v) = (nodes[edge.from], nodes[edge.to]);
        let mut points = Vec::new();
        let mut label = None;
        if edge.from == edge.to {
            let reach = x(chain[0]) + LOOP_REACH;
            let dy = (u.h / 4.0).min(10.0);
            let cy = u.y + u.h / 2.0;
            points = vec![pt(u.x + u.w, cy + dy), pt(reach, cy + dy), pt(reach, cy - dy), pt(u.x + u.w, cy - dy)];
            label = edge.label.map(|s| Rect { x: reach + LABEL_GAP, y: cy - s.h / 2.0, w: s.w, h: s.h });
        } else if !back[e] {
            points.push(pt(u.x + u.w / 2.0, u.y + u.h));
            points.push(pt(u.x + u.w / 2.0, bottom(l.items[edge.from].rank)));
            for &i in &chain[1..chain.len() - 1] {
                let r = l.items[i].rank;
                if band_h[r] > 0.0 {
                    points.push(pt(x(i), top[r]));
                    points.push(pt(x(i), bottom(r)));
                }
                label = label.or_else(|| label_at(i, edge.label.filter(|_| r == l.items[edge.from].rank + 1)));
            }
            points.push(pt(v.x + v.w / 2.0, top[l.items[edge.to].rank]));
            points.push(pt(v.x + v.w / 2.0, v.y));
        } else {
            let (first, last) = (chain[0], chain[chain.len() - 1]);
            points.push(pt(u.x + u.w, lanes_at[first]));
            points.push(pt(x(first), lanes_at[first]));
            points.push(pt(x(first), top[l.items[first].rank]));
            for &i in &chain[1..chain.len() - 1] {
                let r = l.items[i].rank;
                if band_h[r] > 0.0 {
                    points.push(pt(x(i), bottom(r)));
                    points.push(pt(x(i), top[r]));
                }
                if r + 1 == l.items[first].rank {
                    label = label_at(i, edge.label);
                }
            }
            points.push(pt(x(last), bottom(l.items[last].rank)));
            points.push(pt(x(last), lanes_at[last]));
            points.push(pt(v.x + v.w, lanes_at[last]));
        }
        points.dedup();
        edges.push(Route { back: back[e], points, label });
    }
    let width = if min_x.is_finite() { max_x - min_x } else { 0.0 } + 2.0 * MARGIN;
    Layout { nodes, edges, width, height }
}

fn pt(x: f64, y: f64) -> Point {
    Point { x, y }
}

/// The height at which each lane end meets its node: lane ends on one node are spread over its
/// middle, the lanes going up above the ones going down, so their connectors do not cross.
fn attached_heights(l: &Layered, nodes: &[Rect], xs: &[f64]) -> Vec<f64> {
    let mut by_owner: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, it) in l.items.iter().enumerate() {
        if let (Some(o), ItemKind::Lane) = (it.owner, it.kind) {
            by_owner[o].push(i);
        }
    }
    let mut at = vec![0.0; l.items.len()];
    for (o, ends) in by_owner.iter().enumerate() {
        let n = nodes[o];
        let cy = n.y + n.h / 2.0;
        let step = if ends.len() > 1 { (n.h / 2.0 / (ends.len() - 1) as f64).min(8.0) } else { 0.0 };
        // Nearest lane first. Lanes going up (from a source) meet the node top down, nearest
        // highest; lanes going down (to a target) below them, nearest lowest.
        let mut ends = ends.clone();
        ends.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
        let (mut ups, mut downs): (Vec<usize>, Vec<usize>) = ends.iter().partition(|&&i| !l.up[i].is_empty());
        downs.reverse();
        ups.extend(downs);
        let mid = (ups.len() as f64 - 1.0) / 2.0;
        for (k, &i) in ups.iter().enumerate() {
            at[i] = cy + (k as f64 - mid) * step;
        }
    }
    at
}
