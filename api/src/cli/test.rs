//! `tramite test`: runs scenario files on the pure engine with a virtual clock and, for each
//! `--store`, through the server (router, runtime, store, scheduler) on a manual clock, with
//! the same expectations.

use std::path::PathBuf;
use std::process::ExitCode;

use tramite_engine::scenario::{self, ScenarioResult};

use super::scenario_db::Backend;
use super::server_driver::ServerDriver;
use crate::files::{self, Loaded};

pub fn run(paths: &[PathBuf], stores: &[String]) -> ExitCode {
    let loaded = files::load(paths);
    for d in loaded.render() {
        eprintln!("{d}\n");
    }
    if !loaded.diagnostics.is_empty() {
        eprintln!("definitions have errors; fix them before running scenarios");
        return ExitCode::FAILURE;
    }
    let backends = match stores.iter().map(|s| Backend::parse(s)).collect::<Result<Vec<_>, _>>() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut passed, mut failed) = (0, 0);
    let mut tally = |mode: &str, results: Vec<ScenarioResult>| {
        for r in results {
            if r.failures.is_empty() {
                passed += 1;
                println!("PASS [{mode}] {}:{}: {}", r.file, r.loc.line, r.name);
            } else {
                failed += 1;
                println!("FAIL [{mode}] {}:{}: {}", r.file, r.loc.line, r.name);
                for d in &r.failures {
                    println!("  {}", d.render(loaded.sources.get(&d.file).map(String::as_str)).replace('\n', "\n  "));
                }
            }
        }
    };
    for f in &loaded.scenario_files {
        tally("engine", scenario::run_file(&f.path, &f.text, &loaded.catalog));
    }
    if !backends.is_empty() {
        let tokio = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        for backend in &backends {
            tally(backend.name(), through_server(&tokio, backend, &loaded));
        }
    }
    println!("scenarios: {passed} passed, {failed} failed");
    if failed == 0 && passed > 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Every scenario of the tree through the server, each on a database of its own.
fn through_server(tokio: &tokio::runtime::Runtime, backend: &Backend, loaded: &Loaded) -> Vec<ScenarioResult> {
    let mut n = 0;
    let mut out = Vec::new();
    for f in &loaded.scenario_files {
        out.extend(scenario::run_file_with(&f.path, &f.text, &loaded.catalog, &mut |setup| {
            n += 1;
            ServerDriver::new(tokio.handle().clone(), backend, n, loaded, setup)
        }));
    }
    out
}
