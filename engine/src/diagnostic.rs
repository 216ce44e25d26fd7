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

    /// A YAML syntax or shape error from the parser, in the words of a process owner
    /// (`unknown key`, `missing key`, `duplicate key`), with our own hint where we have one.
    pub fn from_yaml(file: &str, err: &serde_saphyr::Error) -> Diagnostic {
        let loc = err.location().map(Loc::from).unwrap_or(Loc::new(1, 1));
        let raw = err.without_snippet().to_string();
        let (message, help) = plain_yaml_message(strip_location_suffix(&raw));
        Diagnostic { file: file.to_string(), loc, message, help }
    }

    /// [`Diagnostic::from_yaml`], pointing a missing key at the first key of the mapping that
    /// lacks it (the parser reports the mapping's last key, which reads as if that key were
    /// wrong).
    pub fn from_yaml_in(file: &str, source: &str, err: &serde_saphyr::Error) -> Diagnostic {
        let mut d = Diagnostic::from_yaml(file, err);
        if d.message.starts_with("missing key") {
            d.loc = first_key_of_mapping(source, d.loc);
        }
        d
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

/// The parser's message rewritten for process owners, and a hint.
fn plain_yaml_message(message: &str) -> (String, Option<String>) {
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_string);
    if let (true, Some(name)) = (message.starts_with("unknown field"), quoted(message)) {
        return (format!("unknown key `{name}`"), suggestion(&name, &expected_names(message), "allowed keys here"));
    }
    if let (true, Some(name)) = (message.starts_with("unknown variant"), quoted(message)) {
        let expected = expected_names(message);
        let help = suggestion(&name, &expected, "allowed here");
        return (format!("`{name}` is not one of: {}", expected.join(", ")), help);
    }
    if let (true, Some(name)) = (message.starts_with("missing field"), quoted(message)) {
        let help = format!("add `{name}:` to this mapping; see docs/language.md for the format");
        return (format!("missing key `{name}`"), Some(help));
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key") {
        let key = rest.trim_start_matches(':').split(", set DuplicateKeyPolicy").next().unwrap_or("").trim();
        let message = if key.is_empty() { "duplicate key".to_string() } else { format!("duplicate key `{key}`") };
        return (message, Some("each key may appear once in a mapping; rename or merge the repeated entry".into()));
    }
    if message.contains("budget breached: Depth") || message.contains("recursion limit exceeded") {
        let limit = crate::definition::raw::MAX_YAML_NESTING;
        return (
            format!("nested more than {limit} levels deep"),
            Some("flatten the value: no definition needs lists and mappings this deep".into()),
        );
    }
    let message = match message {
        "expected mapping start" => "expected a mapping (`key: value` lines) here",
        "expected sequence start" => "expected a list (`- item` lines or `[a, b]`) here",
        "expected string scalar" => "expected a single text value here",
        other => other,
    };
    let hint = if message.contains("quote") {
        "close the quoted string on the same line, or use a block scalar (`|`) for long text"
    } else if message.contains("flow mapping") {
        "a `{` opened above is never closed: close it with `}`, or write the mapping as indented `key: value` lines"
    } else if message.contains("flow sequence") {
        "a `[` opened above is never closed: close it with `]`, or write the list as `- item` lines"
    } else if message.contains("mapping values are not allowed") {
        "this `key:` is indented deeper than the keys above it, or an unquoted value contains `: `; align the key with its siblings or quote the value"
    } else if message.contains("tab") {
        "YAML is indented with spaces only; replace the tab characters with spaces"
    } else if message.starts_with("invalid boolean") {
        "write `true` or `false`"
    } else if message.starts_with("invalid")
        && ["integer", "floating", "u8", "u16", "u32", "u64", "i64"].iter().any(|w| message.contains(w))
    {
        "write a number, e.g. `18` or `2.5`"
    } else if message.starts_with("invalid") || message.starts_with("expected") {
        "check the value's type against docs/language.md"
    } else {
        "check the indentation and the `key: value` shape around this point"
    };
    (message.to_string(), Some(hint.to_string()))
}

/// The names after `expected one of` / `expected` in a serde message.
fn expected_names(message: &str) -> Vec<String> {
    message
        .split_once("expected one of ")
        .or_else(|| message.split_once("expected "))
        .map(|(_, rest)| rest.split(", ").map(|s| s.trim_matches('`').to_string()).collect())
        .unwrap_or_default()
}

/// `did you mean `role`?`, or the list of what is allowed.
fn suggestion(name: &str, expected: &[String], allowed: &str) -> Option<String> {
    match did_you_mean(name, expected.iter().map(String::as_str)) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None if expected.is_empty() => None,
        None => Some(format!("{allowed}: {}", expected.join(", "))),
    }
}

/// The first key of the block mapping that has a key at `at`, found by walking up the lines
/// while they stay at the same column (deeper lines are nested values). Returns `at` when the
/// text there does not look like a block mapping key.
fn first_key_of_mapping(source: &str, at: Loc) -> Loc {
    /// The 1-based column where a line's key starts (after indentation and `- ` markers), and
    /// whether a `- ` marker comes right before it.
    fn key_column(line: &str) -> Option<(u64, bool)> {
        let (mut col, mut rest, mut item) = (1u64, line, false);
        loop {
            let trimmed = rest.trim_start_matches(' ');
            col += (rest.len() - trimmed.len()) as u64;
            rest = trimmed;
            match rest.strip_prefix("- ") {
                Some(r) => {
                    col += 2;
                    rest = r;
                    item = true;
                }
                None => break,
            }
        }
        let skip = rest.is_empty() || rest.starts_with('#') || rest.starts_with("---") || rest.starts_with("...");
        (!skip).then_some((col, item))
    }
    let lines: Vec<&str> = source.lines().collect();
    let Some(at_line) = (at.line as usize).checked_sub(1).and_then(|i| lines.get(i)) else { return at };
    match key_column(at_line) {
        Some((col, item)) if col == at.column => {
            if item {
                return at;
            }
        }
        _ => return at,
    }
    let mut first = at;
    for i in (0..at.line as usize - 1).rev() {
        match key_column(lines[i]) {
            None => {}
            Some((col, _)) if col > at.column => {}
            Some((col, item)) if col == at.column => {
                first = Loc::new(i as u64 + 1, col);
                if item {
                    break;
                }
            }
            Some(_) => break,
        }
    }
    first
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
    fn rewrites_parser_messages_for_process_owners() {
        let (m, h) = plain_yaml_message("unknown field `rol`, expected one of `task`, `role`, `next`");
        assert_eq!((m.as_str(), h.as_deref()), ("unknown key `rol`", Some("did you mean `role`?")));
        let (m, h) = plain_yaml_message("unknown variant `escalate`, expected one of `notify`, `reassign`, `goto`");
        assert_eq!(
            (m.as_str(), h.as_deref()),
            ("`escalate` is not one of: notify, reassign, goto", Some("allowed here: notify, reassign, goto"))
        );
        let (m, _) =
            plain_yaml_message("duplicate mapping key: registrar, set DuplicateKeyPolicy in Options if acceptable");
        assert_eq!(m, "duplicate key `registrar`");
        assert_eq!(plain_yaml_message("missing field `steps`").0, "missing key `steps`");
    }

    #[test]
    fn missing_keys_point_at_the_first_key_of_their_mapping() {
        let text = "process: p\ntitle: t\nroles:\n  a: A\n  b: B\n";
        assert_eq!(first_key_of_mapping(text, Loc::new(3, 1)), Loc::new(1, 1));
        assert_eq!(first_key_of_mapping(text, Loc::new(5, 3)), Loc::new(4, 3));
        let list = "next:\n  - when: x\n    goto: a\n  - when: y\n    then: b\n";
        assert_eq!(first_key_of_mapping(list, Loc::new(5, 5)), Loc::new(4, 5));
        assert_eq!(first_key_of_mapping(list, Loc::new(4, 5)), Loc::new(4, 5));
        assert_eq!(first_key_of_mapping("a: {b: 1}\n", Loc::new(1, 5)), Loc::new(1, 5), "flow mappings are left alone");
    }

    #[test]
    fn renders_caret_under_column() {
        let d = Diagnostic::new("p.yaml", Loc::new(2, 5), "unknown key").help("remove it");
        let r = d.render(Some("a: 1\nb:  xyz\n"));
        assert_eq!(r, "p.yaml:2:5: error: unknown key\n  |\n2 | b:  xyz\n  |     ^\n  = help: remove it");
    }
}
