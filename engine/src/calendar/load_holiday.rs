//! The holiday entries of a calendar file: one date rule each, checked with a diagnostic per
//! mistake (mixed rules, impossible dates, `every` without `from_year`, …).

use jiff::civil::Date;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::load::loc;
use super::rules::{Holiday, HolidayDate, Move, WEEKDAYS, parse_weekday};
use crate::diagnostic::{Diagnostic, Loc, did_you_mean};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HolidayDoc {
    name: Spanned<String>,
    #[serde(default)]
    month: Option<Spanned<i64>>,
    #[serde(default)]
    day: Option<Spanned<i64>>,
    #[serde(default)]
    weekday: Option<Spanned<String>>,
    #[serde(default)]
    nth: Option<Spanned<NthDoc>>,
    #[serde(default)]
    easter: Option<Spanned<i64>>,
    #[serde(default)]
    date: Option<Spanned<String>>,
    #[serde(default, rename = "move")]
    moved: Option<Spanned<String>>,
    #[serde(default)]
    from_year: Option<Spanned<i64>>,
    #[serde(default)]
    until_year: Option<Spanned<i64>>,
    #[serde(default)]
    every: Option<Spanned<i64>>,
}

/// `nth: 3` or `nth: last`.
#[derive(Debug)]
enum NthDoc {
    Number(i64),
    Word(String),
}

impl<'de> Deserialize<'de> for NthDoc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NthDoc, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = NthDoc;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number from 1 to 5, or `last`")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NthDoc, E> {
                Ok(NthDoc::Number(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NthDoc, E> {
                Ok(NthDoc::Number(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NthDoc, E> {
                Ok(NthDoc::Word(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

const KINDS_HELP: &str = "write one rule: `month` + `day` (fixed date), `month` + `weekday` + `nth` \
(e.g. third Monday; `nth: last` for the last one), `easter: -2` (days from Easter Sunday) or \
`date: 2024-10-01` (a one-off date)";

pub(super) fn weekday_help(text: &str) -> String {
    match did_you_mean(&text.to_lowercase(), WEEKDAYS.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("weekdays are {} (Spanish `lun` … `dom` also work)", WEEKDAYS.join(", ")),
    }
}

pub(super) fn holiday(file: &str, h: &Spanned<HolidayDoc>, errs: &mut Vec<Diagnostic>) -> Option<Holiday> {
    let doc = &h.value;
    let before = errs.len();
    let err = |at: Loc, msg: String, help: &str| Diagnostic::new(file, at, msg).help(help);
    let name = doc.name.value.trim();
    if name.is_empty() {
        errs.push(err(
            loc(&doc.name),
            "a holiday needs a name".into(),
            "write its Spanish name, e.g. `name: Año Nuevo`",
        ));
    }
    let kinds: Vec<&str> = [
        (doc.date.is_some(), "date"),
        (doc.easter.is_some(), "easter"),
        (doc.month.is_some() || doc.day.is_some() || doc.weekday.is_some() || doc.nth.is_some(), "month"),
    ]
    .into_iter()
    .filter_map(|(has, k)| has.then_some(k))
    .collect();
    let date = match kinds.as_slice() {
        ["date"] => one_off(file, doc, errs),
        ["easter"] => doc.easter.as_ref().and_then(|e| easter(file, e, errs)),
        ["month"] => month_rule(file, doc, errs),
        [] => {
            errs.push(err(loc(&doc.name), format!("holiday `{name}` has no date rule"), KINDS_HELP));
            None
        }
        many => {
            errs.push(err(
                loc(&doc.name),
                format!("holiday `{name}` mixes rules: `{}`", many.join("` and `")),
                KINDS_HELP,
            ));
            None
        }
    };
    let moved = match &doc.moved {
        None => Move::None,
        Some(m) => {
            match m.value.as_str() {
                "next_monday" => Move::NextMonday,
                "none" => Move::None,
                other => {
                    let help = match did_you_mean(other, ["next_monday", "none"]) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => "`move: next_monday` observes the holiday on the following Monday (Colombia's Ley 51 de 1983)".into(),
                };
                    errs.push(Diagnostic::new(file, loc(m), format!("unknown move `{other}`")).help(help));
                    Move::None
                }
            }
        }
    };
    let from_year = doc.from_year.as_ref().and_then(|y| year(file, y, errs));
    let until_year = doc.until_year.as_ref().and_then(|y| year(file, y, errs));
    if let (Some(f), Some(u), Some(uy)) = (from_year, until_year, &doc.until_year)
        && u < f
    {
        errs.push(err(
            loc(uy),
            format!("`until_year` {u} is before `from_year` {f}"),
            "both years are inclusive; swap them",
        ));
    }
    let every = match &doc.every {
        None => None,
        Some(e) if doc.from_year.is_none() => {
            errs.push(err(
                loc(e),
                "`every` needs `from_year`".into(),
                "`every: 6` counts years from `from_year`, e.g. `from_year: 2024`",
            ));
            None
        }
        Some(e) => match u8::try_from(e.value) {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                errs.push(err(
                    loc(e),
                    format!("`every` must be a number of years from 1 to 255, not {}", e.value),
                    "e.g. `every: 6`",
                ));
                None
            }
        },
    };
    if doc.date.is_some() && (doc.from_year.is_some() || doc.until_year.is_some() || doc.every.is_some()) {
        errs.push(err(
            loc(&doc.name),
            format!("one-off holiday `{name}` cannot have year limits"),
            "remove `from_year`, `until_year` and `every`, or write a yearly rule instead of `date`",
        ));
    }
    if errs.len() > before {
        return None;
    }
    Some(Holiday { name: name.to_string(), date: date?, moved, from_year, until_year, every })
}

fn one_off(file: &str, doc: &HolidayDoc, errs: &mut Vec<Diagnostic>) -> Option<HolidayDate> {
    let d = doc.date.as_ref()?;
    match d.value.trim().parse::<Date>() {
        Ok(date) => Some(HolidayDate::Once(date)),
        Err(_) => {
            errs.push(
                Diagnostic::new(file, loc(d), format!("`{}` is not a date", d.value))
                    .help("write a one-off date as YYYY-MM-DD, e.g. `date: 2024-10-01`"),
            );
            None
        }
    }
}

fn easter(file: &str, e: &Spanned<i64>, errs: &mut Vec<Diagnostic>) -> Option<HolidayDate> {
    match i16::try_from(e.value) {
        Ok(offset) if offset.abs() <= 200 => Some(HolidayDate::Easter { offset }),
        _ => {
            errs.push(
                Diagnostic::new(file, loc(e), format!("Easter offset {} is out of range", e.value))
                    .help("days from Easter Sunday, -200 to 200: -3 Jueves Santo, -2 Viernes Santo, 39 Ascensión"),
            );
            None
        }
    }
}

fn month_rule(file: &str, doc: &HolidayDoc, errs: &mut Vec<Diagnostic>) -> Option<HolidayDate> {
    let err = |at: Loc, msg: String, help: &str| Diagnostic::new(file, at, msg).help(help);
    let Some(m) = &doc.month else {
        errs.push(err(loc(&doc.name), "missing `month`".into(), KINDS_HELP));
        return None;
    };
    let month = match i8::try_from(m.value) {
        Ok(month @ 1..=12) => month,
        _ => {
            errs.push(err(
                loc(m),
                format!("month {} is out of range", m.value),
                "months are numbered 1 (January) to 12 (December)",
            ));
            return None;
        }
    };
    match (&doc.day, &doc.weekday, &doc.nth) {
        (Some(d), None, None) => match i8::try_from(d.value).ok().filter(|day| Date::new(2024, month, *day).is_ok()) {
            Some(day) => Some(HolidayDate::Fixed { month, day }),
            None => {
                errs.push(err(loc(d), format!("month {month} has no day {}", d.value), "check the day of the month"));
                None
            }
        },
        (None, Some(w), Some(n)) => {
            let weekday = parse_weekday(&w.value);
            if weekday.is_none() {
                errs.push(
                    Diagnostic::new(file, loc(w), format!("unknown weekday `{}`", w.value))
                        .help(weekday_help(&w.value)),
                );
            }
            let nth = match &n.value {
                NthDoc::Number(k @ (1..=5 | -1)) => i8::try_from(*k).ok(),
                NthDoc::Word(word) if word.eq_ignore_ascii_case("last") => Some(-1),
                _ => None,
            };
            if nth.is_none() {
                errs.push(err(
                    loc(n),
                    "`nth` must be 1 to 5, or `last`".into(),
                    "e.g. `nth: 3` for the third Monday, `nth: last` for the last one",
                ));
            }
            Some(HolidayDate::NthWeekday { month, weekday: weekday?, nth: nth? })
        }
        (None, Some(w), None) => {
            errs.push(err(loc(w), "`weekday` needs `nth`".into(), "add `nth: 1` … `nth: 5` or `nth: last`"));
            None
        }
        (None, None, Some(n)) => {
            errs.push(err(loc(n), "`nth` needs `weekday`".into(), "add e.g. `weekday: mon`"));
            None
        }
        (Some(d), _, _) => {
            errs.push(err(loc(d), "a holiday has either `day` or `weekday` + `nth`, not both".into(), KINDS_HELP));
            None
        }
        (None, None, None) => {
            errs.push(err(loc(m), "`month` needs `day`, or `weekday` + `nth`".into(), KINDS_HELP));
            None
        }
    }
}

fn year(file: &str, y: &Spanned<i64>, errs: &mut Vec<Diagnostic>) -> Option<i16> {
    match i16::try_from(y.value) {
        Ok(v @ 1..=9999) => Some(v),
        _ => {
            errs.push(
                Diagnostic::new(file, loc(y), format!("year {} is out of range", y.value))
                    .help("years run from 1 to 9999"),
            );
            None
        }
    }
}
