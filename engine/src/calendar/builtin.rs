//! The shipped calendars (`calendars/mx.yaml`, `co.yaml`, `pe.yaml`), compiled into the engine so
//! tests and the pure core can use them without IO. The files stay the single source of truth.

use std::sync::OnceLock;

use super::Calendar;

/// Names of the shipped calendars.
pub const BUILTIN: &[&str] = &["mx", "co", "pe"];

/// The YAML text of a shipped calendar.
pub fn builtin_source(name: &str) -> Option<&'static str> {
    match name {
        "mx" => Some(include_str!("../../../calendars/mx.yaml")),
        "co" => Some(include_str!("../../../calendars/co.yaml")),
        "pe" => Some(include_str!("../../../calendars/pe.yaml")),
        _ => None,
    }
}

/// A shipped calendar, parsed once per process (shipped calendars may extend one another).
/// `None` for an unknown name; the tests make sure every shipped file parses.
pub fn builtin(name: &str) -> Option<Calendar> {
    static PARSED: OnceLock<Vec<Option<Calendar>>> = OnceLock::new();
    let index = BUILTIN.iter().position(|n| *n == name)?;
    PARSED.get_or_init(|| BUILTIN.iter().map(|n| parse(n)).collect()).get(index)?.clone()
}

fn parse(name: &str) -> Option<Calendar> {
    let source = builtin_source(name)?;
    Calendar::from_yaml(&format!("calendars/{name}.yaml"), source, &parse).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_calendar_parses() {
        for name in BUILTIN {
            let source = builtin_source(name).unwrap_or_default();
            let file = format!("calendars/{name}.yaml");
            if let Err(errs) = Calendar::from_yaml(&file, source, &parse) {
                let shown: Vec<String> = errs.iter().map(|e| e.render(Some(source))).collect();
                panic!("{}", shown.join("\n"));
            }
            assert_eq!(builtin(name).map(|c| c.name().to_string()).as_deref(), Some(*name));
        }
        assert!(builtin("xx").is_none());
    }
}
