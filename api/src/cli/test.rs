//! `tramite test`: runs scenario files on the pure engine with a virtual clock.

use std::path::PathBuf;
use std::process::ExitCode;

use tramite_engine::scenario;

use crate::files;

pub fn run(paths: &[PathBuf]) -> ExitCode {
    let loaded = files::load(paths);
    for d in loaded.render() {
        eprintln!("{d}\n");
    }
    if !loaded.diagnostics.is_empty() {
        eprintln!("definitions have errors; fix them before running scenarios");
        return ExitCode::FAILURE;
    }
    let (mut passed, mut failed) = (0, 0);
    for f in &loaded.scenario_files {
        for r in scenario::run_file(&f.path, &f.text, &loaded.catalog) {
            if r.failures.is_empty() {
                passed += 1;
                println!("PASS {}:{}: {}", r.file, r.loc.line, r.name);
            } else {
                failed += 1;
                println!("FAIL {}:{}: {}", r.file, r.loc.line, r.name);
                for d in &r.failures {
                    println!("  {}", d.render(loaded.sources.get(&d.file).map(String::as_str)).replace('\n', "\n  "));
                }
            }
        }
    }
    println!("scenarios: {passed} passed, {failed} failed");
    if failed == 0 && passed > 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
