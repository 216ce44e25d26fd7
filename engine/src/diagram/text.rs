//! Text for the SVG drawing: estimated widths, wrapping into a few lines with "…", and XML
//! escaping. There are no font metrics on the server, so widths are estimated from the advance
//! widths of DejaVu Sans (the default sans-serif on Linux and one of the widest common ones):
//! text set in a narrower face only leaves more room.

/// The estimated width of `text` at `size` pixels.
pub(crate) fn width(text: &str, size: f64) -> f64 {
    text.chars().map(advance).sum::<f64>() * size
}

/// Advance width of a character in em (DejaVu Sans, rounded up).
fn advance(c: char) -> f64 {
    let base = fold(c);
    match base {
        'i' | 'j' | 'l' | '\'' | '|' => 0.28,
        'I' | 'J' | '.' | ',' | ':' | ';' | '!' | ' ' => 0.34,
        'f' | 't' | '(' | ')' | '[' | ']' | '-' | '/' | '¡' => 0.4,
        'r' => 0.42,
        'c' | 'k' | 's' | 'v' | 'x' | 'y' | 'z' | '¿' | '?' | '"' | '_' => 0.6,
        'm' => 0.98,
        'w' => 0.82,
        'M' | 'W' | '…' | '%' | '@' => 1.0,
        'a'..='z' | '0'..='9' => 0.64,
        'A'..='Z' => 0.78,
        _ => 0.84,
    }
}

/// The unaccented letter, for the width table (á → a, Ñ → N).
fn fold(c: char) -> char {
    match c {
        'á' | 'à' | 'ä' | 'â' | 'ã' => 'a',
        'é' | 'è' | 'ë' | 'ê' => 'e',
        'í' | 'ì' | 'ï' | 'î' => 'i',
        'ó' | 'ò' | 'ö' | 'ô' | 'õ' => 'o',
        'ú' | 'ù' | 'ü' | 'û' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        'Á' | 'À' | 'Ä' | 'Â' => 'A',
        'É' | 'È' | 'Ë' | 'Ê' => 'E',
        'Í' | 'Ì' | 'Ï' | 'Î' => 'I',
        'Ó' | 'Ò' | 'Ö' | 'Ô' => 'O',
        'Ú' | 'Ù' | 'Ü' | 'Û' => 'U',
        'Ñ' => 'N',
        other => other,
    }
}

/// `text` broken into lines no wider than `widths[k]` for line `k` (the last width repeats),
/// at most `widths.len()` lines; what does not fit ends the last line with "…". Words longer
/// than a line are cut. Whitespace runs count as one space.
pub(crate) fn wrap(text: &str, size: f64, widths: &[f64]) -> Vec<String> {
    let max_lines = widths.len().max(1);
    let limit = |k: usize| widths.get(k).or(widths.last()).copied().unwrap_or(0.0);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let words = text.split_whitespace();
    let mut cut = false;
    for word in words {
        let k = lines.len();
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if width(&candidate, size) <= limit(k) {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            if lines.len() + 1 == max_lines {
                cut = true;
                break;
            }
            lines.push(std::mem::take(&mut line));
        }
        // The word starts a line of its own; cut it when it is wider than the line.
        let k = lines.len();
        if width(word, size) <= limit(k) {
            line = word.to_string();
            continue;
        }
        let mut rest = word;
        loop {
            let (head, tail) = split_at_width(rest, size, limit(lines.len()));
            if tail.is_empty() {
                line = head.to_string();
                break;
            }
            if lines.len() + 1 == max_lines {
                line = head.to_string();
                cut = true;
                break;
            }
            lines.push(head.to_string());
            rest = tail;
        }
        if cut {
            break;
        }
    }
    if cut {
        line = ellipsis(&line, size, limit(lines.len()));
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `line` shortened until it fits in `max` with "…" after it.
fn ellipsis(line: &str, size: f64, max: f64) -> String {
    let mut out: String = line.trim_end().to_string();
    while !out.is_empty() && width(&out, size) + width("…", size) > max {
        out.pop();
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
    }
    out.push('…');
    out
}

/// The longest prefix of `word` (at least one character) no wider than `max`, and the rest;
/// cut after a `.`, `_`, `-`, `(` or `,` when there is one in the second half of the prefix
/// (`data.requiere_` / `especialista`).
fn split_at_width(word: &str, size: f64, max: f64) -> (&str, &str) {
    let mut used = 0.0;
    let mut end = 0;
    let mut soft = None;
    for (i, c) in word.char_indices() {
        let w = advance(c) * size;
        if used + w > max && i > 0 {
            break;
        }
        used += w;
        end = i + c.len_utf8();
        if matches!(c, '.' | '_' | '-' | '(' | ',') && used > max / 2.0 {
            soft = Some(end);
        }
    }
    if end < word.len()
        && let Some(s) = soft
    {
        return word.split_at(s);
    }
    word.split_at(end)
}

/// `text` safe inside XML character data and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            '\u{FFFE}' | '\u{FFFF}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate as SVG text: one decimal, without a trailing ".0" (same input, same bytes).
pub(crate) fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() { format!("{}", r as i64) } else { format!("{r:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_stays_on_one_line() {
        assert_eq!(wrap("Redactar la respuesta", 12.0, &[200.0, 200.0]), ["Redactar la respuesta"]);
    }

    #[test]
    fn long_text_wraps_and_ends_with_an_ellipsis() {
        let text = "Enviar los correos de la campaña a las direcciones acordadas de la base proporcionada (11.1)";
        let lines = wrap(text, 12.0, &[150.0, 150.0, 150.0]);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[2].ends_with('…'), "{lines:?}");
        assert!(lines.iter().all(|l| width(l, 12.0) <= 150.0), "{lines:?}");
    }

    #[test]
    fn a_word_wider_than_the_line_is_cut() {
        let lines = wrap("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 12.0, &[60.0, 60.0]);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines.iter().all(|l| width(l, 12.0) <= 60.0), "{lines:?}");
        assert!(lines[1].ends_with('…'));
    }

    #[test]
    fn a_long_name_is_cut_after_a_dot_or_underscore() {
        let lines = wrap("data.requiere_especialista", 11.0, &[120.0, 120.0]);
        assert_eq!(lines, ["data.requiere_", "especialista"]);
    }

    #[test]
    fn text_that_fits_exactly_gets_no_ellipsis() {
        assert_eq!(wrap("uno dos", 12.0, &[width("uno", 12.0) + 1.0, 100.0]), ["uno", "dos"]);
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(escape("<a & \"b\" 'c'>\u{1}"), "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt; ");
    }

    #[test]
    fn numbers_print_the_same_way_every_time() {
        assert_eq!(
            (num(12.0), num(12.25), num(-0.04), num(3.96)),
            ("12".into(), "12.3".into(), "0".into(), "4".into())
        );
    }
}
