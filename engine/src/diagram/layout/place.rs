//! The x of every item. Nodes and the points of long edges (the *solid* items) are placed
//! first: each rank is packed left to right in its order, then sweeps move every solid item
//! towards the mean x of the items it is linked to in the rank before (down, then up; the last
//! sweeps look both ways), as close as the order and the gaps allow. For one rank that is a
//! least-squares problem under "x[k+1] ≥ x[k] + gap", solved exactly by pooling adjacent
//! violators; points of long edges weigh more than nodes, so long edges run straight. The gaps
//! keep room for the lanes of back edges and for self-loops, which are put in that room
//! afterwards, so they never push a node. Last, long edges and lanes are made straight
//! wherever the room beside them allows.

use super::{ItemKind, Layered};

const SWEEPS: usize = 12;
/// The last sweeps look at the items linked above and below.
const BOTH_WAYS: usize = 4;
/// Between two nodes.
const NODE_GAP: f64 = 28.0;
/// Between an edge point and anything else.
const PASS_GAP: f64 = 12.0;
/// Between a node and the items attached to it: as beside an edge, so that a lane starting
/// beside a node runs on straight past nodes as wide as it.
const ATTACHED_GAP: f64 = PASS_GAP;

/// Placed with the nodes; the others go in the room kept for them.
fn solid(l: &Layered, i: usize) -> bool {
    let it = &l.items[i];
    it.owner.is_none() && matches!(it.kind, ItemKind::Node | ItemKind::Pass)
}

pub(super) fn place(l: &Layered, order: &[Vec<usize>]) -> Vec<f64> {
    let mut x = vec![0.0; l.items.len()];
    let offsets: Vec<Vec<f64>> = order.iter().map(|row| offsets(l, row)).collect();
    for (row, offs) in order.iter().zip(&offsets) {
        let mid = offs.last().copied().unwrap_or(0.0) / 2.0;
        for (&i, o) in row.iter().zip(offs) {
            x[i] = o - mid;
        }
    }
    for sweep in 0..SWEEPS + BOTH_WAYS {
        let down = sweep % 2 == 0;
        let both = sweep >= SWEEPS;
        let sequence: Vec<usize> = if down { (1..order.len()).collect() } else { (0..order.len()).rev().collect() };
        for r in sequence {
            let (row, offs) = (&order[r], &offsets[r]);
            let ks: Vec<usize> = (0..row.len()).filter(|&k| solid(l, row[k])).collect();
            let mut target = Vec::with_capacity(ks.len());
            let mut weight = Vec::with_capacity(ks.len());
            for &k in &ks {
                let i = row[k];
                let linked: Vec<usize> = match (both, down) {
                    (true, _) => l.up[i].iter().chain(&l.down[i]).copied().collect(),
                    (false, true) => l.up[i].clone(),
                    (false, false) => l.down[i].clone(),
                };
                target.push(if linked.is_empty() {
                    x[i]
                } else {
                    linked.iter().map(|&j| x[j]).sum::<f64>() / linked.len() as f64
                });
                weight.push(if l.items[i].kind == ItemKind::Node { 1.0 } else { 2.0 });
            }
            let solid_offsets: Vec<f64> = ks.iter().map(|&k| offs[k]).collect();
            let placed = closest_in_order(&target, &weight, &solid_offsets);
            for (&k, p) in ks.iter().zip(placed) {
                x[row[k]] = p;
            }
        }
    }
    for (row, offs) in order.iter().zip(&offsets) {
        fill_room(l, row, offs, &mut x);
    }
    straighten(l, order, &offsets, &mut x);
    x
}

/// Puts the items that are not solid (lanes, the items attached to a node) right after the
/// item before them, at the least gap; those before the first solid item, right before it.
fn fill_room(l: &Layered, row: &[usize], offs: &[f64], x: &mut [f64]) {
    let Some(first) = (0..row.len()).find(|&k| solid(l, row[k])) else {
        // A rank of lanes only: packed from 0.
        for (&i, o) in row.iter().zip(offs) {
            x[i] = *o;
        }
        return;
    };
    for k in (0..first).rev() {
        x[row[k]] = x[row[k + 1]] - (offs[k + 1] - offs[k]);
    }
    for k in first + 1..row.len() {
        if !solid(l, row[k]) {
            x[row[k]] = x[row[k - 1]] + offs[k] - offs[k - 1];
        }
    }
}

/// Makes every long edge and every lane vertical where the items beside it leave room: its
/// points, from one end, are taken in runs as long as one x fits them all, and each run is put
/// at one x (a long edge's at the median of its points, a lane's as close to the items on its
/// left as it can be).
fn straighten(l: &Layered, order: &[Vec<usize>], offsets: &[Vec<f64>], x: &mut [f64]) {
    let mut at = vec![(0usize, 0usize); l.items.len()];
    for (r, row) in order.iter().enumerate() {
        for (k, &i) in row.iter().enumerate() {
            at[i] = (r, k);
        }
    }
    let room = |i: usize, x: &[f64]| {
        let (r, k) = at[i];
        let (row, offs) = (&order[r], &offsets[r]);
        let lo = if k > 0 { x[row[k - 1]] + offs[k] - offs[k - 1] } else { f64::NEG_INFINITY };
        let hi = if k + 1 < row.len() { x[row[k + 1]] - (offs[k + 1] - offs[k]) } else { f64::INFINITY };
        (lo, hi)
    };
    // Long edges, shorter first; then lanes, longer (outer) first: a lane only moves right,
    // into room its outer neighbour has left.
    let is_lane = |c: &[usize]| c.iter().any(|&i| l.items[i].kind == ItemKind::Lane);
    let mut chains: Vec<&Vec<usize>> = l.chains.iter().collect();
    chains.sort_by_key(|c| if is_lane(c) { (1, usize::MAX - c.len()) } else { (0, c.len()) });
    for chain in chains {
        let inner: Vec<usize> = chain
            .iter()
            .copied()
            .filter(|&i| matches!(l.items[i].kind, ItemKind::Pass | ItemKind::Lane) && l.items[i].owner.is_none())
            .collect();
        let lane = inner.first().is_some_and(|&i| l.items[i].kind == ItemKind::Lane);
        let mut start = 0;
        while start < inner.len() {
            let (mut lo, mut hi) = room(inner[start], x);
            let mut end = start + 1;
            while end < inner.len() {
                let (a, b) = room(inner[end], x);
                if a.max(lo) > b.min(hi) + 1e-6 {
                    break;
                }
                (lo, hi) = (a.max(lo), b.min(hi));
                end += 1;
            }
            let run = &inner[start..end];
            let mut xs: Vec<f64> = run.iter().map(|&i| x[i]).collect();
            xs.sort_by(f64::total_cmp);
            // `lo` and `hi` may cross by a rounding error: the item's own room.
            let line = match lane {
                true if lo.is_finite() => lo.min(hi),
                true => xs[0].min(hi),
                false => xs[xs.len() / 2].max(lo).min(hi),
            };
            for &i in run {
                x[i] = line;
            }
            start = end;
        }
    }
}

/// Where each item of `row` would be if packed from 0 with the least gaps.
fn offsets(l: &Layered, row: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(row.len());
    let mut at = 0.0;
    for (k, &i) in row.iter().enumerate() {
        if k > 0 {
            let (a, b) = (&l.items[row[k - 1]], &l.items[i]);
            let gap = if b.owner.is_some() {
                ATTACHED_GAP
            } else if a.kind == ItemKind::Node && b.kind == ItemKind::Node {
                NODE_GAP
            } else {
                PASS_GAP
            };
            at += a.right + gap + b.left;
        }
        out.push(at);
    }
    out
}

/// The x closest to `target` (weighted least squares) keeping the order and gaps of `offset`:
/// x[k] - offset[k] must not decrease, which makes it isotonic regression (pool adjacent
/// violators).
fn closest_in_order(target: &[f64], weight: &[f64], offset: &[f64]) -> Vec<f64> {
    struct Block {
        start: usize,
        weight: f64,
        sum: f64,
    }
    let mut blocks: Vec<Block> = Vec::with_capacity(target.len());
    for k in 0..target.len() {
        blocks.push(Block { start: k, weight: weight[k], sum: weight[k] * (target[k] - offset[k]) });
        while blocks.len() >= 2 {
            let (a, b) = (&blocks[blocks.len() - 2], &blocks[blocks.len() - 1]);
            if a.sum * b.weight <= b.sum * a.weight {
                break;
            }
            let Some(b) = blocks.pop() else { break };
            if let Some(a) = blocks.last_mut() {
                a.weight += b.weight;
                a.sum += b.sum;
            }
        }
    }
    let mut out = vec![0.0; target.len()];
    for (n, b) in blocks.iter().enumerate() {
        let end = blocks.get(n + 1).map_or(target.len(), |next| next.start);
        for k in b.start..end {
            out[k] = b.sum / b.weight + offset[k];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::closest_in_order;

    #[test]
    fn items_wanting_the_same_place_are_spread_around_it() {
        let x = closest_in_order(&[10.0, 10.0, 10.0], &[1.0, 1.0, 1.0], &[0.0, 20.0, 40.0]);
        assert_eq!(x, [-10.0, 10.0, 30.0]);
    }

    #[test]
    fn items_far_apart_keep_their_place() {
        let x = closest_in_order(&[0.0, 100.0], &[1.0, 1.0], &[0.0, 20.0]);
        assert_eq!(x, [0.0, 100.0]);
    }
}
