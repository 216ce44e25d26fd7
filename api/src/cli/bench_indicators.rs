//! `tramite bench --indicators N`: N case values of one indicator loaded straight into the
//! `measures` table (over two years of months and eight groups, one in ten not counting), then
//! the queries an indicator page runs — totals per period and group, and for a median or a
//! 90th percentile the totals and then each group's value at its rank — over every period and
//! over one quarter, each twenty times.

use std::time::{Duration, Instant};

use crate::store::Store;

/// The indicator the benchmark loads.
const KEY: &str = "bench.indicadores/tiempo_respuesta";

pub async fn run(url: &str, n: usize) -> Result<(), String> {
    let store = Store::open(url).await.map_err(|e| e.to_string())?;
    let held = store.measure_count(KEY).await.map_err(|e| e.to_string())? as usize;
    if held == n {
        println!("{:<28} {n} indicator values already there (kept from an earlier run)", store.backend());
    } else if held != 0 {
        return Err(format!("the database holds {held} values of {KEY}, not none nor {n}"));
    } else {
        let t0 = Instant::now();
        let chunk = 20_000;
        for from in (0..n).step_by(chunk) {
            let rows: Vec<(String, String, String, Option<f64>)> = (from..(from + chunk).min(n))
                .map(|i| {
                    let month = i % 24;
                    let period = format!("{}-{:02}", 2025 + month / 12, month % 12 + 1);
                    let group = format!("tema {}", i % 8);
                    // A business-day time from 0 to 6; one case in ten does not count (NULL).
                    let value = (!i.is_multiple_of(10)).then(|| ((i * 7919) % 61) as f64 / 10.0);
                    (format!("c{i:08}"), period, group, value)
                })
                .collect();
            store.load_bench_measures(KEY, &rows).await.map_err(|e| e.to_string())?;
        }
        println!("{:<28} {n} indicator values loaded in {:.1} s", store.backend(), t0.elapsed().as_secs_f64());
    }
    let queries: [(&str, &str, &str, Option<i64>); 5] = [
        ("totals, every period", "", "~", None),
        ("totals, one quarter", "2026-01", "2026-03~", None),
        ("median, every period", "", "~", Some(50)),
        ("90th percentile, every period", "", "~", Some(90)),
        ("median, one quarter", "2026-01", "2026-03~", Some(50)),
    ];
    for (label, from, to, percentile) in queries {
        let mut lat: Vec<Duration> = Vec::new();
        let mut rows = 0;
        for _ in 0..20 {
            let s = Instant::now();
            let totals = store.measure_totals(KEY, from, to).await.map_err(|e| e.to_string())?;
            rows = match percentile {
                None => totals.len(),
                Some(p) => store.measure_percentile(KEY, &totals, p).await.map_err(|e| e.to_string())?.len(),
            };
            lat.push(s.elapsed());
        }
        lat.sort();
        let at = |q: f64| lat[((lat.len() as f64 * q).ceil() as usize).clamp(1, lat.len()) - 1].as_secs_f64() * 1e3;
        println!(
            "  {label:<30} p50 {:>8.1} ms   p99 {:>8.1} ms   ({rows} values: periods × groups)",
            at(0.5),
            at(0.99)
        );
    }
    Ok(())
}
