//! Definition files as `tramite check` reads them: the input is one or more YAML files separated
//! by NUL bytes (a process with the forms and calendars it names), loaded through the engine's
//! loader after the calendars, as `api/src/files.rs` does. Every diagnostic is rendered with its
//! snippet, and every process that loads is drawn in the three diagram formats.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tramite_engine::calendar::{self, Calendar};
use tramite_engine::definition::{self, FileKind, SourceFile};
use tramite_engine::diagram::{self, Format};

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let files: Vec<SourceFile> = text
        .split('\0')
        .enumerate()
        .map(|(i, t)| SourceFile { path: format!("fuzz/{i}.yaml"), text: t.to_string() })
        .collect();
    let mut diagnostics = Vec::new();
    let calendars = load_calendars(&files, &mut diagnostics);
    let (catalog, more) = definition::load(&files, calendars);
    diagnostics.extend(more);
    for d in &diagnostics {
        let source = files.iter().find(|f| f.path == d.file).map(|f| f.text.as_str());
        let _ = d.render(source);
    }
    for p in catalog.processes.values() {
        for format in [Format::Mermaid, Format::Dot, Format::Svg] {
            let _ = diagram::render(p, format, &[]);
        }
    }
});

/// The calendar files among `files`, in rounds so that one may extend another, then the shipped
/// calendars no file defines (the loop of `api/src/files.rs`).
fn load_calendars(
    files: &[SourceFile],
    diags: &mut Vec<tramite_engine::diagnostic::Diagnostic>,
) -> BTreeMap<String, Calendar> {
    let mut pending: Vec<&SourceFile> = files.iter().filter(|f| FileKind::of(&f.text) == FileKind::Calendar).collect();
    let mut done: BTreeMap<String, Calendar> = BTreeMap::new();
    loop {
        let mut progressed = false;
        let mut failed = Vec::new();
        for f in std::mem::take(&mut pending) {
            let lookup = |name: &str| done.get(name).cloned().or_else(|| calendar::builtin(name));
            match Calendar::from_yaml(&f.path, &f.text, &lookup) {
                Ok(c) => {
                    done.insert(c.name().to_string(), c);
                    progressed = true;
                }
                Err(errs) => failed.push((f, errs)),
            }
        }
        if !progressed || failed.is_empty() {
            for (_, mut errs) in failed {
                diags.append(&mut errs);
            }
            break;
        }
        pending = failed.into_iter().map(|(f, _)| f).collect();
    }
    for name in calendar::BUILTIN {
        if !done.contains_key(*name)
            && let Some(c) = calendar::builtin(name)
        {
            done.insert(c.name().to_string(), c);
        }
    }
    done
}
