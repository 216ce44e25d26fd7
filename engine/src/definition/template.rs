//! Message templates: handlebars text next to the process (`messages/<name>.hbs`), its first
//! line the subject. Checked when the process loads: the syntax, and every variable it reads
//! against what a message carries (the case's form fields, its folio, the link) — each problem
//! located in the template file.

use std::collections::HashMap;

use super::form::FieldType;
use super::problems::Ctx;
use crate::diagnostic::{Loc, did_you_mean};

/// The values every message carries besides `data`.
pub const VARIABLES: [&str; 9] =
    ["folio", "instance", "process_title", "step_title", "sla_title", "sent_at", "due", "link", "link_expires"];

/// Helpers a template may call: handlebars' own.
const HELPERS: [&str; 16] =
    ["if", "unless", "each", "with", "lookup", "eq", "ne", "gt", "gte", "lt", "lte", "and", "or", "not", "len", "log"];

/// Blocks inside which names are read relative to an element (`{{#each data.lista}}{{nombre}}`).
const CONTEXT_BLOCKS: [&str; 2] = ["each", "with"];

/// What a template may read.
pub(crate) struct Scope<'a> {
    /// The process's form fields; `None` when it has no forms (any `data.*` goes).
    pub fields: Option<&'a HashMap<String, FieldType>>,
    /// Whether the message carries a link.
    pub link: bool,
}

/// Checks a template's syntax and variables; problems go to `ctx` (the template's file).
pub(crate) fn check(ctx: &mut Ctx, text: &str, scope: &Scope) {
    if let Err(e) = handlebars::Template::compile(text) {
        let (line, column) = e.pos().unwrap_or((1, 1));
        let at = Loc::new(line as u64, column as u64);
        ctx.err(at, format!("this template does not parse: {}", e.reason()), "see docs/messages.md for the syntax");
        return;
    }
    if text.lines().next().is_none_or(|l| l.trim().is_empty()) {
        ctx.err(Loc::new(1, 1), "the template's first line (the subject) is empty", "write the subject on line 1");
    }
    let mut depth = 0usize;
    for (at, inner) in mustaches(text) {
        let inner = inner.trim_matches('~').trim();
        let inner = inner.strip_prefix('{').and_then(|i| i.strip_suffix('}')).unwrap_or(inner);
        let inner = inner.strip_prefix('&').unwrap_or(inner).trim();
        if inner.starts_with('!') || inner.is_empty() {
            continue;
        }
        if let Some(rest) = inner.strip_prefix('/') {
            if CONTEXT_BLOCKS.contains(&rest.trim()) {
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        if inner.starts_with('>') {
            ctx.err(at, "partials are not available in message templates", "write the text in the template itself");
            continue;
        }
        let (block, body) = match inner.strip_prefix('#') {
            Some(b) => (true, b),
            None => (false, inner),
        };
        if body == "else" || body.starts_with("else ") {
            continue;
        }
        let words = words(body);
        let Some(first) = words.first() else { continue };
        let is_helper = block || words.len() > 1;
        if is_helper && !HELPERS.contains(&first.as_str()) {
            let help = match did_you_mean(first, HELPERS) {
                Some(h) => format!("did you mean `{h}`? helpers: {}", HELPERS.join(", ")),
                None => format!("helpers: {}", HELPERS.join(", ")),
            };
            ctx.err(at, format!("unknown helper `{first}`"), help);
            continue;
        }
        let args = if is_helper { &words[1..] } else { &words[..] };
        for a in args {
            let value = a.split_once('=').map_or(a.as_str(), |(_, v)| v);
            variable(ctx, at, value, depth > 0, scope);
        }
        if block && CONTEXT_BLOCKS.contains(&first.as_str()) {
            depth += 1;
        }
    }
}

/// Checks one name a template reads (`data.correo`, `folio`, `@root.data.x`).
fn variable(ctx: &mut Ctx, at: Loc, word: &str, in_context: bool, scope: &Scope) {
    let literal =
        word.starts_with(['"', '\'']) || word.parse::<f64>().is_ok() || ["true", "false", "null"].contains(&word);
    if literal || word.is_empty() {
        return;
    }
    let (rooted, path) = match word.strip_prefix("@root.") {
        Some(p) => (true, p),
        None => (false, word),
    };
    if !rooted && (in_context || word.starts_with('@') || word.starts_with("this") || word.starts_with("../")) {
        return;
    }
    let mut parts = path.split(['.', '/']);
    let head = parts.next().unwrap_or("");
    match head {
        "data" => {
            let Some(field) = parts.next() else { return };
            let Some(fields) = scope.fields else { return };
            if !fields.contains_key(field) {
                let mut known: Vec<&str> = fields.keys().map(String::as_str).collect();
                known.sort_unstable();
                let help = match did_you_mean(field, known.iter().copied()) {
                    Some(best) => format!("did you mean `data.{best}`?"),
                    None => "name a field of one of the process's forms".to_string(),
                };
                ctx.err(at, format!("`data.{field}` is not a field of any form of this process"), help);
            }
        }
        "link" | "link_expires" if !scope.link => ctx.err(
            at,
            format!("`{head}` is empty: this message links to no task"),
            "add `link: <step>` to the `send:` entry that uses this template",
        ),
        _ if VARIABLES.contains(&head) => {}
        _ => {
            let help = match did_you_mean(head, VARIABLES.iter().copied().chain(["data"])) {
                Some(best) => format!("did you mean `{best}`? a message has `data.<field>`, {}", VARIABLES.join(", ")),
                None => format!("a message has `data.<field>`, {}", VARIABLES.join(", ")),
            };
            ctx.err(at, format!("unknown variable `{head}`"), help);
        }
    }
}

/// Every `{{…}}` of the text with where it begins (1-based line and column) and its inside.
fn mustaches(text: &str) -> Vec<(Loc, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        let start = offset + open;
        let after = &text[start + 2..];
        // `{{{x}}}` closes with three braces; a comment `{{!-- … --}}` may hold `}}`.
        let close = if after.starts_with("!--") { after.find("--}}").map(|i| i + 2) } else { after.find("}}") };
        let Some(close) = close else { break };
        let mut inner = &after[..close];
        let mut end = start + 2 + close + 2;
        if inner.starts_with('{') && text[end..].starts_with('}') {
            inner = &after[..=close];
            end += 1;
        }
        out.push((loc_of(text, start), inner));
        offset = end;
        rest = &text[end..];
    }
    out
}

fn loc_of(text: &str, byte: usize) -> Loc {
    let before = &text[..byte];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Loc::new(line as u64, column as u64)
}

/// The words of a mustache's inside: quoted strings kept whole, parentheses (sub-expressions)
/// opened up.
fn words(inner: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in inner.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                cur.push(c);
                quote = None;
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                cur.push(c);
                quote = Some(c);
            }
            (None, c) if c.is_whitespace() || c == '(' || c == ')' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str, link: bool) -> Vec<String> {
        let fields: HashMap<String, FieldType> =
            [("correo".to_string(), FieldType::Email), ("nombre".to_string(), FieldType::Text)].into();
        let mut ctx = Ctx::new("m.hbs", text);
        check(&mut ctx, text, &Scope { fields: Some(&fields), link });
        ctx.finish().iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn a_template_reading_known_names_passes() {
        let t = "Respuesta a su correo {{folio}}\n\nHola {{data.nombre}}:\n{{#if data.correo}}{{data.correo}}{{else}}-{{/if}}\n{{#each data.nombre}}{{this}} {{campo}}{{/each}}\n{{!-- nota {{x}} --}}{{link}}";
        assert_eq!(problems(t, true), Vec::<String>::new());
    }

    #[test]
    fn an_unknown_variable_is_located_with_a_suggestion() {
        let p = problems("Asunto\n\nHola {{data.nombr}} y {{folo}}", false);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("m.hbs:3:6: error: `data.nombr` is not a field"), "{p:?}");
        assert!(p[0].contains("did you mean `data.nombre`?"), "{p:?}");
        assert!(p[1].starts_with("m.hbs:3:23: error: unknown variable `folo`"), "{p:?}");
        assert!(p[1].contains("did you mean `folio`?"), "{p:?}");
    }

    #[test]
    fn a_link_needs_a_linked_task_and_helpers_are_known_ones() {
        let p = problems("Asunto {{link}}\n{{#iff data.correo}}x{{/iff}}", false);
        assert!(p[0].contains("`link` is empty: this message links to no task"), "{p:?}");
        assert!(p[1].starts_with("m.hbs:2:1: error: unknown helper `iff`"), "{p:?}");
    }

    #[test]
    fn a_syntax_error_is_located() {
        let p = problems("Asunto\n{{#if data.correo}}sin cierre", false);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("does not parse"), "{p:?}");
    }
}
