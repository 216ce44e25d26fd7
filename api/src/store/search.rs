//! The words a case is found by: its folio, its id and the text of its data, folded to lower
//! case without accents, punctuation as spaces — written with the instance, matched word by
//! word (as prefixes) by the case list's search on both backends.

use serde_json::Value;
use tramite_engine::machine::Instance;

/// Most characters of search text kept per instance.
const MAX_TEXT: usize = 4_000;

/// `Pérez-Gómez, JUANA` → `perez gomez juana`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        };
        if c != ' ' || !(out.is_empty() || out.ends_with(' ')) {
            out.push(c);
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The words of a search query, at most a few, each as it is indexed.
pub fn terms(q: &str) -> Vec<String> {
    fold(q).split(' ').filter(|w| !w.is_empty()).take(8).map(str::to_string).collect()
}

/// The search text of an instance.
pub fn text_of(inst: &Instance) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if let Some(f) = &inst.folio {
        parts.push(f);
    }
    parts.push(&inst.id);
    let mut len = parts.iter().map(|p| p.len()).sum::<usize>();
    let mut stack: Vec<(&Value, usize)> = inst.data.values().rev().map(|v| (v, 0)).collect();
    while let Some((v, depth)) = stack.pop() {
        if len >= MAX_TEXT {
            break;
        }
        match v {
            Value::String(s) if !s.is_empty() => {
                len += s.len() + 1;
                parts.push(s);
            }
            Value::Array(items) if depth < 3 => stack.extend(items.iter().rev().map(|x| (x, depth + 1))),
            Value::Object(m) if depth < 3 => stack.extend(m.values().rev().map(|x| (x, depth + 1))),
            _ => {}
        }
    }
    let mut text = fold(&parts.join(" "));
    if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_to_plain_lower_case() {
        assert_eq!(fold("  Pérez-Gómez, JUANA  "), "perez gomez juana");
        assert_eq!(fold("COR-2026-00001"), "cor 2026 00001");
        assert_eq!(fold("¿Cómo me certifico? Ñandú"), "como me certifico nandu");
        assert_eq!(terms("  'COR\" 2026 ;-- "), vec!["cor", "2026"]);
        assert!(terms("*** ").is_empty());
    }
}
