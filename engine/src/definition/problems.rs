//! The file being checked and the problems found in it: where a problem is (a line and
//! column inside a scalar, through quotes and folded lines) and how many are worth reporting.

use serde_saphyr::Spanned;

use super::load::loc;
use crate::calendar::{Duration, DurationError};
use crate::diagnostic::{Diagnostic, Loc, did_you_mean};
use crate::expr::Expr;

/// Most problems reported for one file; past them, one more line says how many were left out. A
/// generated file with thousands of broken references would otherwise be answered with thousands
/// of "did you mean" searches over thousands of names.
pub const MAX_PROBLEMS_PER_FILE: usize = 100;
/// Most names listed in a "known: …" hint.
const MAX_NAMES_IN_HINT: usize = 20;

/// The file being checked and the problems found in it.
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub text: &'a str,
    pub diags: Vec<Diagnostic>,
    /// The byte offset where each line of `text` begins: [`Ctx::inside`] is asked for every
    /// field an expression reads, and scanning the text from the top each time made loading a
    /// large file quadratic.
    line_starts: Vec<usize>,
    /// Problems found past [`MAX_PROBLEMS_PER_FILE`], and where the first of them is.
    left_out: usize,
    first_left_out: Option<Loc>,
}

impl<'a> Ctx<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Ctx<'a> {
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Ctx { file, text, diags: Vec::new(), line_starts, left_out: 0, first_left_out: None }
    }

    /// Whether the file has as many problems as are reported: further ones are only counted.
    fn full(&mut self, at: Loc) -> bool {
        if self.diags.len() < MAX_PROBLEMS_PER_FILE {
            return false;
        }
        self.left_out += 1;
        self.first_left_out.get_or_insert(at);
        true
    }

    pub fn push(&mut self, d: Diagnostic) {
        if !self.full(d.loc) {
            self.diags.push(d);
        }
    }

    pub fn err(&mut self, at: Loc, message: impl Into<String>, help: impl Into<String>) {
        self.push(Diagnostic::new(self.file, at, message).help(help));
    }

    /// The problems found, with a last one saying how many were left out.
    pub fn finish(mut self) -> Vec<Diagnostic> {
        if let Some(at) = self.first_left_out {
            let message = format!("{} more problems in this file are not shown", self.left_out);
            self.diags.push(
                Diagnostic::new(self.file, at, message)
                    .help(format!("fix the first {MAX_PROBLEMS_PER_FILE} and run `tramite check` again")),
            );
        }
        self.diags
    }

    /// Location of the `col`-th character (1-based) of the scalar whose text starts at `at`,
    /// following it through an opening quote, escapes (`\"`, `''`) and folded lines (a line
    /// break and the next line's indentation are one character of the value).
    pub fn inside(&self, at: Loc, col: u64) -> Loc {
        let line = usize::try_from(at.line.saturating_sub(1)).unwrap_or(usize::MAX);
        let start = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        let mut chars = self.text[start..].chars().skip(at.column.saturating_sub(1) as usize).peekable();
        let (mut line, mut column) = (at.line, at.column);
        let quote = chars.next_if(|c| *c == '\'' || *c == '"');
        column += u64::from(quote.is_some());
        let mut left = col.saturating_sub(1);
        while left > 0 {
            let Some(c) = chars.next() else { break };
            match c {
                '\r' => continue,
                '\n' => {
                    (line, column) = (line + 1, 1);
                    while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {
                        column += 1;
                    }
                }
                '\\' if quote == Some('"') => {
                    let extra = match chars.next() {
                        Some('x') => 2,
                        Some('u') => 4,
                        Some('U') => 8,
                        _ => 0,
                    };
                    chars.by_ref().take(extra).for_each(drop);
                    column += 2 + extra as u64;
                }
                '\'' if quote == Some('\'') && chars.peek() == Some(&'\'') => {
                    chars.next();
                    column += 2;
                }
                _ => column += 1,
            }
            left -= 1;
        }
        Loc::new(line, column)
    }

    pub fn expr(&mut self, s: &Spanned<String>) -> Option<Expr> {
        match Expr::compile(&s.value) {
            Ok(e) => Some(e),
            Err(e) => {
                let at = self.inside(loc(s), e.column);
                self.push(Diagnostic::new(self.file, at, e.message).help(e.help.unwrap_or_default()));
                None
            }
        }
    }

    /// Compiles `text`, the part of scalar `s` that begins at its `col`-th character.
    pub fn expr_inside(&mut self, s: &Spanned<String>, text: &str, col: u64) -> Option<Expr> {
        match Expr::compile(text) {
            Ok(e) => Some(e),
            Err(e) => {
                let at = self.inside(loc(s), col + e.column.saturating_sub(1));
                self.push(Diagnostic::new(self.file, at, e.message).help(e.help.unwrap_or_default()));
                None
            }
        }
    }

    pub fn duration(&mut self, s: &Spanned<String>, text: &str) -> Option<Duration> {
        match Duration::parse(text) {
            Ok(d) => Some(d),
            Err(e) => {
                let help = match &e {
                    DurationError::TooLong { max, .. } => format!("a duration runs at most {max}; check the amount"),
                    _ => format!("write `N unit` with a unit among: {}", Duration::UNITS.join(", ")),
                };
                self.err(loc(s), format!("bad duration `{text}`: {e}"), help);
                None
            }
        }
    }

    /// `did you mean` help for a name that is not among `known`.
    pub fn unknown<'k>(&mut self, at: Loc, what: &str, name: &str, known: impl IntoIterator<Item = &'k str> + Clone) {
        if self.full(at) {
            return;
        }
        let help = match did_you_mean(name, known.clone()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => {
                let list: Vec<&str> = known.into_iter().collect();
                match list.len() {
                    0 => format!("no {what} is defined"),
                    n if n > MAX_NAMES_IN_HINT => {
                        format!("known: {}, … ({n} in all)", list[..MAX_NAMES_IN_HINT].join(", "))
                    }
                    _ => format!("known: {}", list.join(", ")),
                }
            }
        };
        self.err(at, format!("unknown {what} `{name}`"), help);
    }
}
