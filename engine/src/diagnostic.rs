//! Errors in definition files, as process owners read them:
//! `path:line:column: error: message`, the offending line with a caret, and a `help:` line.
//!
//! Every layer that reads a YAML file (processes, forms, calendars, scenarios) reports through
//! [`Diagnostic`]; loaders collect as many as they can find in one run.

use std::fmt;

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Loc {
    pub line: u64,
    pub column: u64,
}

impl Loc {
    pub const fn new(line: u64, column: u64) -> Loc {
        Loc { line, column }
    }
}

impl From<serde_saphyr::Location> for Loc {
    fn from(l: serde_saphyr::Location) -> Loc {
        Loc { line: l.line(), column: l.column() }
    }
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub loc: Loc,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(file: &str, loc: Loc, message: impl Into<String>) -> Diagnostic {
        Diagnostic { file: file.to_string(), loc, message: message.into(), help: None }
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// A YAML syntax or shape error from the parser, with our own hint where we have one.
    pub fn from_yaml(file: &str, err: &serde_saphyr::Error) -> Diagnostic {
        let loc = err.location().map(Loc::from).unwrap_or(Loc::new(1, 1));
        let raw = err.without_snippet().to_string();
        let message = strip_location_suffix(&raw).to_string();
        let help = yaml_hint(&message);
        Diagnostic { file: file.to_string(), loc, message, help }
    }

    /// The diagnostic with the offending source line and a caret under the column.
    pub fn render(&self, source: Option<&str>) -> String {
        let mut out = self.to_string();
        if let Some(line) = source.and_then(|s| s.lines().nth(self.loc.line.saturating_sub(1) as usize)) {
            let number = self.loc.line.to_string();
            let pad = " ".repeat(number.len());
            let caret_pad: String = line
                .chars()
                .take(self.loc.column.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out = format!(
                "{file}:{l}:{c}: error: {msg}\n{pad} |\n{number} | {line}\n{pad} | {caret_pad}^",
                file = self.file,
                l = self.loc.line,
                c = self.loc.column,
                msg = self.message,
            );
            if let Some(help) = &self.help {
                out.push_str(&format!("\n{pad} = help: {help}"));
            }
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: error: {}", self.file, self.loc.line, self.loc.column, self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

fn strip_location_suffix(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => &message[..i],
        _ => message,
    }
}

fn yaml_hint(message: &str) -> Option<String> {
    let hint = if message.starts_with("unknown field") {
        return unknown_field_hint(message);
    } else if message.starts_with("duplicate mapping key") {
        "each key may appear once in a mapping; rename or merge the repeated entry"
    } else if message.starts_with("missing field") {
        "add the missing key; see `tramite schema` or docs/language.md for the format"
    } else if message.contains("quote") {
        "close the quoted string on the same line, or use a block scalar (`|`) for long text"
    } else if message.starts_with("invalid") || message.starts_with("expected") {
        "check the value's type against docs/language.md"
    } else {
        "check the indentation and the `key: value` shape around this point"
    };
    Some(hint.to_string())
}

/// `unknown field `rol`, expected one of task, role, next` → "did you mean `role`?"
fn unknown_field_hint(message: &str) -> Option<String> {
    let name = message.split('`').nth(1)?;
    let expected: Vec<&str> = message
        .split_once("expected one of ")
        .or_else(|| message.split_once("expected "))
        .map(|(_, rest)| rest.split(", ").map(|s| s.trim_matches('`')).collect())
        .unwrap_or_default();
    match did_you_mean(name, expected.iter().copied()) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None => Some(format!("allowed keys here: {}", expected.join(", "))),
    }
}

/// The closest candidate to `name` by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(row[j]).min(row[j + 1]) };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("rol", ["task", "role", "next"]), Some("role"));
        assert_eq!(did_you_mean("operdor", ["operador", "direccion"]), Some("operador"));
        assert_eq!(did_you_mean("zzzzzz", ["operador", "direccion"]), None);
    }

    #[test]
    fn renders_caret_under_column() {
        let d = Diagnostic::new("p.yaml", Loc::new(2, 5), "unknown key").help("remove it");
        let r = d.render(Some("a: 1\nb:  xyz\n"));
        assert_eq!(r, "p.yaml:2:5: error: unknown key\n  |\n2 | b:  xyz\n  |     ^\n  = help: remove it");
    }
}
