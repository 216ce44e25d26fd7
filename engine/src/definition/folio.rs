//! Folio patterns: how a process numbers its cases (`start.folio: COR-{year}-{seq:05}`).
//!
//! A pattern is literal text with placeholders: `{year}` (four digits), `{yy}`, `{month}`
//! (two digits), `{day}` (two digits) — the date of the start in the process calendar's zone —
//! and exactly one `{seq}` or `{seq:0N}` (the case's number, zero-padded to N digits). The
//! number counts per *scope*: the pattern with its date placeholders filled in, so
//! `COR-{year}-{seq:05}` starts again at 00001 each year, and `COR-{seq}` never does.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Widest zero padding of `{seq:0N}`.
const MAX_WIDTH: usize = 12;
/// Longest pattern, placeholders included.
const MAX_LEN: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Year,
    ShortYear,
    Month,
    Day,
    Seq { width: usize },
}

/// A parsed folio pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folio {
    source: String,
    parts: Vec<Part>,
}

impl Folio {
    /// Parses a pattern; the error says what is wrong, for a located diagnostic.
    pub fn parse(pattern: &str) -> Result<Folio, String> {
        if pattern.is_empty() {
            return Err("a folio pattern cannot be empty".into());
        }
        if pattern.chars().count() > MAX_LEN {
            return Err(format!("a folio pattern is at most {MAX_LEN} characters"));
        }
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = pattern;
        while let Some(c) = rest.chars().next() {
            if c == '}' {
                return Err("`}` without `{`".into());
            }
            if c != '{' {
                if !(c.is_alphanumeric() || "-_/. #".contains(c)) {
                    return Err(format!("`{c}` cannot be part of a folio; use letters, digits and - _ / . #"));
                }
                text.push(c);
                rest = &rest[c.len_utf8()..];
                continue;
            }
            let Some(close) = rest.find('}') else { return Err("`{` without `}`".into()) };
            let name = &rest[1..close];
            rest = &rest[close + 1..];
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(match name {
                "year" => Part::Year,
                "yy" => Part::ShortYear,
                "month" => Part::Month,
                "day" => Part::Day,
                "seq" => Part::Seq { width: 0 },
                _ => match name.strip_prefix("seq:0").map(str::parse::<usize>) {
                    Some(Ok(w)) if (1..=MAX_WIDTH).contains(&w) => Part::Seq { width: w },
                    Some(_) => return Err(format!("`{{{name}}}`: the width goes from 1 to {MAX_WIDTH}, e.g. `{{seq:05}}`")),
                    None => {
                        return Err(format!(
                            "unknown placeholder `{{{name}}}`; use {{year}}, {{yy}}, {{month}}, {{day}} and {{seq}} or {{seq:05}}"
                        ));
                    }
                },
            });
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        match parts.iter().filter(|p| matches!(p, Part::Seq { .. })).count() {
            1 => Ok(Folio { source: pattern.to_string(), parts }),
            0 => Err("a folio needs its number: add `{seq}` (or `{seq:05}` for five digits)".into()),
            _ => Err("`{seq}` can appear only once".into()),
        }
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// What the number counts within, for a case started at `now`: the pattern with its date
    /// placeholders filled in and `{seq}` left as is.
    pub fn scope(&self, now: Timestamp, zone: &TimeZone) -> String {
        self.fill(now, zone, "{seq}")
    }

    /// The folio of case number `n` (from 1) started at `now`.
    pub fn render(&self, now: Timestamp, zone: &TimeZone, n: u64) -> String {
        let width = self.parts.iter().find_map(|p| if let Part::Seq { width } = p { Some(*width) } else { None });
        self.fill(now, zone, &format!("{n:0w$}", w = width.unwrap_or(0)))
    }

    fn fill(&self, now: Timestamp, zone: &TimeZone, seq: &str) -> String {
        let date = now.to_zoned(zone.clone()).date();
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Year => out.push_str(&format!("{:04}", date.year())),
                Part::ShortYear => out.push_str(&format!("{:02}", date.year().rem_euclid(100))),
                Part::Month => out.push_str(&format!("{:02}", date.month())),
                Part::Day => out.push_str(&format!("{:02}", date.day())),
                Part::Seq { .. } => out.push_str(seq),
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_within_the_date_scope_in_the_calendar_zone() {
        let mx = TimeZone::get("America/Mexico_City").unwrap();
        let f = Folio::parse("COR-{year}-{seq:05}").unwrap();
        // 2027-01-01T03:00Z is still New Year's Eve in Mexico City.
        assert_eq!(f.scope(at("2027-01-01T03:00:00Z"), &mx), "COR-2026-{seq}");
        assert_eq!(f.render(at("2027-01-01T03:00:00Z"), &mx, 7), "COR-2026-00007");
        assert_eq!(f.render(at("2027-01-01T09:00:00Z"), &mx, 1), "COR-2027-00001");
        let f = Folio::parse("{yy}{month}{day}/{seq}").unwrap();
        assert_eq!(f.render(at("2026-03-05T18:00:00Z"), &mx, 123_456), "260305/123456");
        assert_eq!(Folio::parse("C45 #{seq:03}").unwrap().scope(at("2026-03-05T18:00:00Z"), &mx), "C45 #{seq}");
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        for (p, says) in [
            ("", "empty"),
            ("COR-{year}", "needs its number"),
            ("{seq}-{seq}", "only once"),
            ("COR-{anio}-{seq}", "unknown placeholder `{anio}`"),
            ("COR-{seq:5}", "unknown placeholder"),
            ("COR-{seq:013}", "width goes from 1 to 12"),
            ("COR-{seq", "without `}`"),
            ("COR}-{seq}", "without `{`"),
            ("COR<b>{seq}", "`<` cannot be part"),
        ] {
            let e = Folio::parse(p).unwrap_err();
            assert!(e.contains(says), "{p}: {e}");
        }
    }
}
