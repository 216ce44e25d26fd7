//! Definition files as `tramite check` reads them: the input is one or more YAML files separated
//! by NUL bytes (a process with the forms and calendars it names), loaded through the engine's
//! loader after the calendars, as `api/src/files.rs` does. Every diagnostic is rendered with its
//! snippet, and every process that loads is drawn in the three diagram formats.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tramite_engine::definition::{self, SourceFile};
use tramite_engine::diagram::{self, Format};

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let files: Vec<SourceFile> = text
        .split('\0')
        .enumerate()
        .map(|(i, t)| SourceFile { path: format!("fuzz/{i}.yaml"), text: t.to_string() })
        .collect();
    let mut diagnostics = Vec::new();
    let calendars = definition::load_calendars(&files, &mut diagnostics);
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
