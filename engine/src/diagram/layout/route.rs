//! Bands, boxes and paths, once every item has its x: each rank is a band as tall as its
//! tallest item, nodes are centred in their band, and an edge runs vertically through the bands
//! it crosses and as a curve across the gaps between them.

use super::{GUTTER_STEP, Graph, ItemKind, LABEL_GAP, LOOP_REACH, Layered, Layout, MARGIN, Point, Rect, Route, Size};

/// The vertical gap between two bands.
const BAND_GAP: f64 = 22.0;

/// Bands, boxes and paths from the x of every item.
pub(super) fn routes(g: &Graph, back: &[bool], direct: &[bool], l: &Layered, xs: &[f64]) -> Layout {
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
    // Where a horizontal line at `y` meets the right side of a node (a diamond's slanted side).
    let right = |n: usize, y: f64| {
        let r = nodes[n];
        if g.pointed[n] {
            let half = r.h / 2.0;
            r.x + r.w / 2.0 * (1.0 + (1.0 - (y - r.y - half).abs() / half).clamp(0.0, 1.0))
        } else {
            r.x + r.w
        }
    };
    let mut edges = Vec::with_capacity(g.edges.len());
    let mut gutter = max_x + shift;
    for (e, edge) in g.edges.iter().enumerate() {
        let chain = &l.chains[e];
        let (u, v) = (nodes[edge.from], nodes[edge.to]);
        let mut points = Vec::new();
        let mut label = None;
        if direct[e] && back[e] {
            gutter += GUTTER_STEP;
            let (yu, yv) = (u.y + u.h / 2.0, v.y + v.h / 2.0);
            points = vec![pt(right(edge.from, yu), yu), pt(gutter, yu), pt(gutter, yv), pt(right(edge.to, yv), yv)];
        } else if direct[e] {
            points = vec![pt(u.x + u.w / 2.0, u.y + u.h), pt(v.x + v.w / 2.0, v.y)];
        } else if edge.from == edge.to {
            let reach = x(chain[0]) + LOOP_REACH;
            let dy = (u.h / 4.0).min(10.0);
            let cy = u.y + u.h / 2.0;
            let (below, above) = (right(edge.from, cy + dy), right(edge.from, cy - dy));
            points = vec![pt(below, cy + dy), pt(reach, cy + dy), pt(reach, cy - dy), pt(above, cy - dy)];
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
            points.push(pt(right(edge.from, lanes_at[first]), lanes_at[first]));
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
            points.push(pt(right(edge.to, lanes_at[last]), lanes_at[last]));
        }
        edges.push(Route { back: back[e], points: simplified(points), label });
    }
    let width = if min_x.is_finite() { gutter - shift - min_x } else { 0.0 } + 2.0 * MARGIN;
    Layout { nodes, edges, width, height }
}

fn pt(x: f64, y: f64) -> Point {
    Point { x, y }
}

/// `points` without repeats and without the middle points of straight vertical or horizontal
/// runs (a lane straight across a hundred ranks is one line).
fn simplified(points: Vec<Point>) -> Vec<Point> {
    let mut out: Vec<Point> = Vec::with_capacity(points.len());
    for p in points {
        if out.last() == Some(&p) {
            continue;
        }
        if let [.., a, b] = out[..]
            && ((a.x == b.x && b.x == p.x) || (a.y == b.y && b.y == p.y))
        {
            out.pop();
        }
        out.push(p);
    }
    out
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
