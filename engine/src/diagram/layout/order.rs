//! The order of the items in each rank, to reduce crossings: first the order of the flow (a
//! step's exits left to right as they are written), then barycenter sweeps down and up, keeping
//! the order with the fewest crossings. Items kept right after a node (the ends of the lanes of
//! back edges, self-loops) follow it: the lane that spans the fewest ranks nearest, self-loops
//! last.

use super::{ItemKind, Layered};

/// Sweeps down and up (each one pass over every rank).
const SWEEPS: usize = 8;

pub(super) fn order(l: &Layered) -> Vec<Vec<usize>> {
    let n = l.items.len();
    let mut span = vec![0usize; n];
    for chain in &l.chains {
        for &i in chain {
            span[i] = span[i].max(chain.len());
        }
    }
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); l.ranks];
    let mut attached: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, it) in l.items.iter().enumerate() {
        match it.owner {
            Some(o) => attached[o].push(i),
            None => rows[it.rank].push(i),
        }
    }
    // Nearest the node the lanes, shorter first; self-loops outermost, so that no lane's
    // connector runs through a loop and its label.
    for a in &mut attached {
        a.sort_by_key(|&i| (l.items[i].kind == ItemKind::SelfLoop, span[i], i));
    }
    let mut pos = vec![0usize; n];

    // The first order: under the first item linked above, in the order of that item's links.
    for slot in &mut rows {
        let mut row = std::mem::take(slot);
        row.sort_by_key(|&i| {
            l.up[i]
                .iter()
                .map(|&a| (pos[a], l.down[a].iter().position(|&b| b == i).unwrap_or(0)))
                .min()
                .unwrap_or((usize::MAX, i))
        });
        *slot = with_attached(&row, &attached);
        number(slot, &mut pos);
    }

    let mut best = rows.clone();
    let mut fewest = crossings(l, &rows, &pos);
    for sweep in 0..SWEEPS {
        if fewest == 0 {
            break;
        }
        let down = sweep % 2 == 0;
        let sequence: Vec<usize> =
            if down { (1..l.ranks).collect() } else { (0..l.ranks.saturating_sub(1)).rev().collect() };
        for r in sequence {
            let mut keyed: Vec<(f64, usize, usize)> = rows[r]
                .iter()
                .filter(|&&i| l.items[i].owner.is_none())
                .map(|&i| {
                    let linked = if down { &l.up[i] } else { &l.down[i] };
                    let key = if linked.is_empty() {
                        pos[i] as f64
                    } else {
                        linked.iter().map(|&j| pos[j] as f64).sum::<f64>() / linked.len() as f64
                    };
                    (key, pos[i], i)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let row: Vec<usize> = keyed.into_iter().map(|(_, _, i)| i).collect();
            rows[r] = with_attached(&row, &attached);
            number(&rows[r], &mut pos);
        }
        let c = crossings(l, &rows, &pos);
        if c < fewest {
            fewest = c;
            best = rows.clone();
        }
    }
    best
}

/// `row` with each item's attached items right after it.
fn with_attached(row: &[usize], attached: &[Vec<usize>]) -> Vec<usize> {
    let mut out = Vec::with_capacity(row.len());
    for &i in row {
        out.push(i);
        out.extend_from_slice(&attached[i]);
    }
    out
}

fn number(row: &[usize], pos: &mut [usize]) {
    for (k, &i) in row.iter().enumerate() {
        pos[i] = k;
    }
}

/// Pairs of links between neighbouring ranks that cross (counted as inversions, with a Fenwick
/// tree over the lower rank's positions).
pub(super) fn crossings(l: &Layered, rows: &[Vec<usize>], pos: &[usize]) -> u64 {
    let mut total = 0u64;
    for r in 0..rows.len().saturating_sub(1) {
        let mut links: Vec<(usize, usize)> =
            rows[r].iter().flat_map(|&a| l.down[a].iter().map(move |&b| (pos[a], pos[b]))).collect();
        links.sort_unstable();
        let mut tree = vec![0u64; rows[r + 1].len() + 1];
        for (seen, &(_, b)) in links.iter().enumerate() {
            let mut at_most_b = 0;
            let mut k = b + 1;
            while k > 0 {
                at_most_b += tree[k];
                k &= k - 1;
            }
            total += seen as u64 - at_most_b;
            let mut k = b + 1;
            while k < tree.len() {
                tree[k] += 1;
                k += k & k.wrapping_neg();
            }
        }
    }
    total
}
