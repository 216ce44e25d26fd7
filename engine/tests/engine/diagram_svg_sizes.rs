//! The SVG drawing of flows of every shape and size: random flows with loops draw without
//! overlaps, very long ones on a small stack, and huge ones in bounded memory.

use crate::drawing;

use drawing::{one, read};
use proptest::prelude::*;
use tramite_engine::diagram::{self, Marks};

/// A process of `n` steps: each one goes on to the next, may branch forward to later steps and
/// back to earlier ones (or itself); approvals reject to any step; the last step ends.
fn random_process(n: usize, picks: &[(u8, usize, usize)]) -> String {
    let mut y = String::from("process: prueba.azar\ntitle: Azar\ncalendar: mx\nroles:\n  r: Rol\nsteps:\n");
    for i in 0..n {
        let (kind, a, b) = picks[i % picks.len()];
        let (fwd, any) = (i + 1 + a % (n - i).max(1), b % n);
        let fwd = fwd.min(n - 1);
        if i == n - 1 {
            y += &format!("  s{i}:\n    end: fin{}\n", i % 3);
            continue;
        }
        match kind % 3 {
            0 => {
                y += &format!(
                    "  s{i}:\n    task: Paso número {i} con un título largo que se parte\n    role: r\n    next: s{}\n",
                    i + 1
                )
            }
            1 => {
                y += &format!(
                    "  s{i}:\n    decision: ¿Sigue {i}?\n    next:\n      - when: data.x == {a}\n        goto: s{any}\n      - when: data.y == {b}\n        goto: s{fwd}\n      - goto: s{}\n",
                    i + 1
                )
            }
            _ => {
                y += &format!(
                    "  s{i}:\n    approval: ¿Aprueba {i}?\n    role: r\n    approve: s{}\n    reject: s{any}\n",
                    i + 1
                )
            }
        }
    }
    y
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_flows_draw_without_overlaps(n in 2usize..28, picks in prop::collection::vec((0u8..3, 0usize..40, 0usize..40), 1..28)) {
        let p = one(&random_process(n, &picks));
        let visited: Vec<String> = p.steps.iter().step_by(2).map(|s| s.id.clone()).collect();
        let svg = diagram::svg(&p, &Marks::new(&visited[..1], &visited));
        let d = read(&svg);
        prop_assert_eq!(d.steps.len(), n);
    }
}

#[test]
fn a_chain_of_five_thousand_steps_draws_on_a_small_stack() {
    let n = 5000;
    let mut y = String::from("process: prueba.larga\ntitle: Larga\ncalendar: mx\nroles:\n  r: Rol\nsteps:\n");
    for i in 0..n - 1 {
        if i % 100 == 99 {
            y += &format!(
                "  s{i}:\n    approval: Revisar {i}\n    role: r\n    approve: s{}\n    reject: s{}\n",
                i + 1,
                i - 50
            );
        } else {
            y += &format!("  s{i}:\n    task: Paso {i}\n    role: r\n    next: s{}\n", i + 1);
        }
    }
    y += &format!("  s{}:\n    end: hecho\n", n - 1);
    let p = one(&y);
    let svg = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn_scoped(s, || diagram::svg(&p, &Marks::default()))
            .unwrap_or_else(|e| panic!("cannot start a thread: {e}"))
            .join()
            .unwrap_or_else(|_| panic!("drawing 5000 steps failed"))
    });
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.descendants().filter(|n| n.attribute("data-step").is_some()).count(), n);
    assert_eq!(doc.descendants().filter(|n| n.attribute("class") == Some("edge back rejection")).count(), 49);
}

#[test]
fn a_long_flow_where_every_step_may_jump_to_one_end_stays_small() {
    let n = 1500;
    let mut y = String::from("process: prueba.salida\ntitle: Salida\ncalendar: mx\nsteps:\n");
    for i in 0..n {
        y += &format!(
            "  s{i}:\n    decision: Paso {i}\n    next:\n      - when: data.cancelar\n        goto: cancelado\n      - goto: {}\n",
            if i + 1 < n { format!("s{}", i + 1) } else { "hecho".into() }
        );
    }
    y += "  hecho:\n    end: hecho\n  cancelado:\n    end: cancelado\n";
    let p = one(&y);
    let svg = diagram::svg(&p, &Marks::default());
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.descendants().filter(|n| n.attribute("data-step").is_some()).count(), n + 2);
    // Each of the 1500 jumps spans the flow; drawn point by point they would take ~2.25M points.
    assert!(svg.len() < 4_000_000, "{} bytes", svg.len());
}
