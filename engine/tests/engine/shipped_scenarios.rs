//! The scenario files shipped under `processes/` pass on the pure machine, as `tramite test`
//! runs them: a change to the transition function that moves an event breaks one of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tramite_engine::calendar::{self, Calendar};
use tramite_engine::definition::{self, Catalog, FileKind, SourceFile};
use tramite_engine::scenario;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml_under(dir: &Path, out: &mut Vec<SourceFile>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_under(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "hbs") {
            let path = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
            out.push(SourceFile { path, text: std::fs::read_to_string(&p).unwrap() });
        }
    }
}

/// Calendars from `calendars/` (in rounds, as one may extend another), the shipped ones besides.
fn calendars(files: &[SourceFile]) -> BTreeMap<String, Calendar> {
    let mut done: BTreeMap<String, Calendar> = BTreeMap::new();
    let mut pending: Vec<&SourceFile> = files.iter().filter(|f| FileKind::of(&f.text) == FileKind::Calendar).collect();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|f| {
            let lookup = |name: &str| done.get(name).cloned().or_else(|| calendar::builtin(name));
            match Calendar::from_yaml(&f.path, &f.text, &lookup) {
                Ok(c) => {
                    done.insert(c.name().to_string(), c);
                    false
                }
                Err(_) => true,
            }
        });
        assert!(pending.len() < before, "calendars that do not load: {:?}", pending.iter().map(|f| &f.path));
    }
    for name in calendar::BUILTIN {
        if let (false, Some(c)) = (done.contains_key(*name), calendar::builtin(name)) {
            done.insert(c.name().to_string(), c);
        }
    }
    done
}

/// The shipped tree (calendars, forms, processes) and its scenario files.
pub fn shipped() -> (Catalog, Vec<SourceFile>) {
    let mut files = Vec::new();
    for dir in ["calendars", "forms", "processes"] {
        yaml_under(&root().join(dir), &mut files);
    }
    let (catalog, diags) = definition::load(&files, calendars(&files));
    assert!(diags.is_empty(), "{diags:#?}");
    let scenarios = files.into_iter().filter(|f| FileKind::of(&f.text) == FileKind::Scenarios).collect();
    (catalog, scenarios)
}

#[test]
fn every_shipped_scenario_passes_on_the_engine() {
    // Scenario paths are relative to the repository, as `tramite test` is run there: the files
    // they attach (`{ file: files/… }`) are read beside them.
    std::env::set_current_dir(root()).unwrap();
    let (catalog, files) = shipped();
    assert!(files.len() >= 15, "only {} scenario files found", files.len());
    let mut failures = Vec::new();
    let mut passed = 0;
    for f in &files {
        for r in scenario::run_file(&f.path, &f.text, &catalog) {
            if r.failures.is_empty() {
                passed += 1;
            } else {
                failures.push(format!("{}:{} {}: {:?}", r.file, r.loc.line, r.name, r.failures));
            }
        }
    }
    assert!(failures.is_empty(), "{} failed:\n{}", failures.len(), failures.join("\n"));
    assert!(passed >= 50, "only {passed} scenarios ran");
}
