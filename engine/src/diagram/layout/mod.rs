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
mod route;

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
    /// Per node, whether it is a diamond: edges meeting its side stop at the slanted side.
    pub pointed: Vec<bool>,
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
const MARGIN: f64 = 16.0;
/// Half the width kept free around an edge passing through a band.
const PASS_HALF: f64 = 3.0;
/// Space between an edge and its label.
const LABEL_GAP: f64 = 5.0;
/// How far a self-loop reaches right of its node.
const LOOP_REACH: f64 = 18.0;
/// The most points long edges and lanes may pass through in all. A flow whose edges span more
/// ranks than this (thousands of steps that all may jump to one end) draws its longest edges
/// straight from end to end instead, so the memory a drawing takes stays bounded.
const MAX_EDGE_POINTS: usize = 100_000;
/// Between two edges drawn in the gutter right of the flow (back edges too long for a lane).
const GUTTER_STEP: f64 = 8.0;

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
    let direct = too_long(g, &back, &rank);
    let layered = layered(g, &back, &rank, &direct);
    let order = order::order(&layered);
    let xs = place::place(&layered, &order);
    route::routes(g, &back, &direct, &layered, &xs)
}

/// The edges drawn directly, without points of their own in the ranks they span: the longest
/// ones, when all of them together would pass through more than [`MAX_EDGE_POINTS`].
fn too_long(g: &Graph, back: &[bool], rank: &[usize]) -> Vec<bool> {
    let points = |e: usize| {
        let (ru, rv) = (rank[g.edges[e].from], rank[g.edges[e].to]);
        if back[e] { ru - rv + 1 } else { rv.saturating_sub(ru + 1) }
    };
    let mut total: usize = (0..g.edges.len()).map(points).sum();
    let mut direct = vec![false; g.edges.len()];
    if total > MAX_EDGE_POINTS {
        let mut longest: Vec<usize> = (0..g.edges.len()).collect();
        longest.sort_by_key(|&e| (usize::MAX - points(e), e));
        for e in longest {
            if total <= MAX_EDGE_POINTS {
                break;
            }
            total -= points(e);
            direct[e] = true;
        }
    }
    direct
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

fn layered(g: &Graph, back: &[bool], rank: &[usize], direct: &[bool]) -> Layered {
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
        if direct[e] {
            // Drawn from end to end, with no place in the ranks.
        } else if edge.from == edge.to {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, edges: &[(usize, usize)]) -> Graph {
        Graph {
            nodes: vec![Size { w: 40.0, h: 20.0 }; n],
            pointed: vec![false; n],
            edges: edges.iter().map(|&(from, to)| GraphEdge { from, to, label: None }).collect(),
            root: 0,
        }
    }

    #[test]
    fn the_edge_closing_a_loop_is_the_back_edge() {
        let g = graph(4, &[(0, 1), (1, 2), (2, 1), (2, 3), (3, 3)]);
        assert_eq!(back_edges(&g), [false, false, true, false, true]);
        assert_eq!(ranks(&g, &back_edges(&g)), [0, 2, 4, 6]);
    }

    #[test]
    fn a_node_is_ranked_below_its_longest_way_in() {
        let g = graph(4, &[(0, 1), (1, 2), (0, 2), (2, 3), (0, 3)]);
        assert_eq!(ranks(&g, &back_edges(&g)), [0, 2, 4, 6]);
    }

    #[test]
    fn edges_too_long_to_route_point_by_point_are_drawn_directly() {
        let n = 1200;
        let mut edges: Vec<(usize, usize)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        edges.extend((0..n - 2).map(|i| (i, n - 1)));
        let g = graph(n, &edges);
        let back = back_edges(&g);
        let rank = ranks(&g, &back);
        let direct = too_long(&g, &back, &rank);
        assert!(direct.iter().any(|&d| d) && !direct[..n - 1].iter().any(|&d| d));
        let l = layered(&g, &back, &rank, &direct);
        assert!(l.items.len() <= n + MAX_EDGE_POINTS, "{} items", l.items.len());
        let placed = layout(&g);
        for (route, _) in placed.edges.iter().zip(&direct).filter(|(_, d)| **d) {
            assert_eq!(route.points.len(), 2, "{route:?}");
        }
    }
}
