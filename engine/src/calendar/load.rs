//! Reading a calendar file (`calendars/*.yaml`) into a [`Calendar`], with every problem reported
//! as a [`Diagnostic`] at its file:line:column. The format is documented in `docs/sla.md`.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::rules::{Holiday, HolidayDate, Move, WEEKDAYS, parse_weekday};
use super::Calendar;
use crate::diagnostic::{Diagnostic, Loc, did_you_mean};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarDoc {
    calendar: Spanned<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    working_days: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    working_hours: Option<Spanned<String>>,
    #[serde(default)]
    extends: Option<Spanned<String>>,
    #[serde(default)]
    holidays: Vec<Spanned<HolidayDoc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayDoc {
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

fn loc<T>(s: &Spanned<T>) -> Loc {
    Loc::from(s.referenced)
}

impl Calendar {
    /// Reads a calendar file. `base` resolves `extends: <name>` to an already loaded calendar,
    /// whose zone, working days and hours are inherited unless overridden and whose holidays come
    /// first. Collects every problem it can find before giving up.
    pub fn from_yaml(
        file: &str,
        source: &str,
        base: &dyn Fn(&str) -> Option<Calendar>,
    ) -> Result<Calendar, Vec<Diagnostic>> {
        let doc: CalendarDoc = serde_saphyr::from_str(source).map_err(|e| vec![Diagnostic::from_yaml(file, &e)])?;
        let mut errs = Vec::new();
        let at = |s: &Spanned<String>| Diagnostic::new(file, loc(s), "");
        let name = doc.calendar.value.trim().to_string();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            errs.push(Diagnostic { message: format!("invalid calendar name `{name}`"), ..at(&doc.calendar) }
                .help("use letters, digits, `-` or `_`, matching the file name: `calendar: mx` in calendars/mx.yaml"));
        }
        let parent = match &doc.extends {
            Some(ext) if ext.value == name => {
                errs.push(Diagnostic { message: "a calendar cannot extend itself".into(), ..at(ext) }
                    .help("name the calendar this one adds closure days to, e.g. `extends: mx`"));
                None
            }
            Some(ext) => {
                let found = base(&ext.value);
                if found.is_none() {
                    errs.push(Diagnostic { message: format!("unknown calendar `{}`", ext.value), ..at(ext) }
                        .help("`extends` names another calendar file in the same folder, e.g. `extends: mx` for calendars/mx.yaml"));
                }
                found
            }
            None => None,
        };
        let fallback = parent.clone().unwrap_or(Calendar {
            name: name.clone(),
            title: String::new(),
            zone: TimeZone::UTC,
            working_days: [true, true, true, true, true, false, false],
            opens: Time::constant(9, 0, 0, 0),
            closes: Time::constant(18, 0, 0, 0),
            holidays: Vec::new(),
        });
        let needs = |what: &str, example: &str, errs: &mut Vec<Diagnostic>| {
            if doc.extends.is_none() {
                errs.push(Diagnostic::new(file, loc(&doc.calendar), format!("missing `{what}`"))
                    .help(format!("add `{what}: {example}`, or `extends: <calendar>` to inherit it")));
            }
        };

        let zone = match &doc.timezone {
            Some(tz) => zone(file, tz, &mut errs).unwrap_or(fallback.zone.clone()),
            None => {
                needs("timezone", "America/Mexico_City", &mut errs);
                fallback.zone.clone()
            }
        };
        let working_days = match &doc.working_days {
            Some(days) => working_days(file, days, &mut errs).unwrap_or(fallback.working_days),
            None => {
                needs("working_days", "[mon, tue, wed, thu, fri]", &mut errs);
                fallback.working_days
            }
        };
        let (opens, closes) = match &doc.working_hours {
            Some(h) => working_hours(file, h, &mut errs).unwrap_or((fallback.opens, fallback.closes)),
            None => {
                needs("working_hours", "\"09:00-18:00\"", &mut errs);
                (fallback.opens, fallback.closes)
            }
        };
        let mut holidays = fallback.holidays.clone();
        holidays.extend(doc.holidays.iter().filter_map(|h| holiday(file, h, &mut errs)));

        if !errs.is_empty() {
            return Err(errs);
        }
        let title = doc.title.unwrap_or_else(|| if parent.is_some() { fallback.title.clone() } else { name.clone() });
        Ok(Calendar { name, title, zone, working_days, opens, closes, holidays })
    }
}

fn zone(file: &str, tz: &Spanned<String>, errs: &mut Vec<Diagnostic>) -> Option<TimeZone> {
    match TimeZone::get(&tz.value) {
        Ok(z) => Some(z),
        Err(_) => {
            let names: Vec<String> = jiff::tz::db().available().map(|n| n.as_str().to_string()).collect();
            let help = match did_you_mean(&tz.value, names.iter().map(String::as_str)) {
                Some(best) => format!("did you mean `{best}`?"),
                None => "use an IANA time zone name such as America/Mexico_City, America/Bogota or America/Lima".into(),
            };
            errs.push(Diagnostic::new(file, loc(tz), format!("unknown time zone `{}`", tz.value)).help(help));
            None
        }
    }
}

fn working_days(file: &str, days: &Spanned<Vec<Spanned<String>>>, errs: &mut Vec<Diagnostic>) -> Option<[bool; 7]> {
    let mut set = [false; 7];
    let mut ok = true;
    for d in &days.value {
        match parse_weekday(&d.value) {
            Some(w) => set[usize::from(w.to_monday_zero_offset().unsigned_abs())] = true,
            None => {
                ok = false;
                errs.push(Diagnostic::new(file, loc(d), format!("unknown weekday `{}`", d.value)).help(weekday_help(&d.value)));
            }
        }
    }
    if ok && !set.contains(&true) {
        errs.push(Diagnostic::new(file, loc(days), "a calendar needs at least one working day")
            .help("list them, e.g. `working_days: [mon, tue, wed, thu, fri]`"));
        return None;
    }
    ok.then_some(set)
}

fn weekday_help(text: &str) -> String {
    match did_you_mean(&text.to_lowercase(), WEEKDAYS.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("weekdays are {} (Spanish `lun` … `dom` also work)", WEEKDAYS.join(", ")),
    }
}

fn working_hours(file: &str, h: &Spanned<String>, errs: &mut Vec<Diagnostic>) -> Option<(Time, Time)> {
    let parsed = h.value.split_once('-').and_then(|(a, b)| {
        let a: Time = a.trim().parse().ok()?;
        let b: Time = b.trim().parse().ok()?;
        Some((a, b))
    });
    match parsed {
        Some((a, b)) if a < b => Some((a, b)),
        Some(_) => {
            errs.push(Diagnostic::new(file, loc(h), format!("working hours `{}` close before they open", h.value))
                .help("write the opening time first, e.g. \"09:00-18:00\"; a working day cannot cross midnight"));
            None
        }
        None => {
            errs.push(Diagnostic::new(file, loc(h), format!("cannot read working hours `{}`", h.value))
                .help("write \"HH:MM-HH:MM\" in 24-hour local time, e.g. \"09:00-18:00\""));
            None
        }
    }
}

fn holiday(file: &str, h: &Spanned<HolidayDoc>, errs: &mut Vec<Diagnostic>) -> Option<Holiday> {
    let doc = &h.value;
    let before = errs.len();
    let err = |at: Loc, msg: String, help: &str| Diagnostic::new(file, at, msg).help(help);
    let name = doc.name.value.trim();
    if name.is_empty() {
        errs.push(err(loc(&doc.name), "a holiday needs a name".into(), "write its Spanish name, e.g. `name: Año Nuevo`"));
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
            errs.push(err(loc(&doc.name), format!("holiday `{name}` mixes rules: `{}`", many.join("` and `")), KINDS_HELP));
            None
        }
    };
    let moved = match &doc.moved {
        None => Move::None,
        Some(m) => match m.value.as_str() {
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
        },
    };
    let from_year = doc.from_year.as_ref().and_then(|y| year(file, y, errs));
    let until_year = doc.until_year.as_ref().and_then(|y| year(file, y, errs));
    if let (Some(f), Some(u), Some(uy)) = (from_year, until_year, &doc.until_year) {
        if u < f {
            errs.push(err(loc(uy), format!("`until_year` {u} is before `from_year` {f}"), "both years are inclusive; swap them"));
        }
    }
    let every = match &doc.every {
        None => None,
        Some(e) if doc.from_year.is_none() => {
            errs.push(err(loc(e), "`every` needs `from_year`".into(), "`every: 6` counts years from `from_year`, e.g. `from_year: 2024`"));
            None
        }
        Some(e) => match u8::try_from(e.value) {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                errs.push(err(loc(e), format!("`every` must be a number of years from 1 to 255, not {}", e.value), "e.g. `every: 6`"));
                None
            }
        },
    };
    if doc.date.is_some() && (doc.from_year.is_some() || doc.until_year.is_some() || doc.every.is_some()) {
        errs.push(err(loc(&doc.name), format!("one-off holiday `{name}` cannot have year limits"), "remove `from_year`, `until_year` and `every`, or write a yearly rule instead of `date`"));
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
            errs.push(Diagnostic::new(file, loc(d), format!("`{}` is not a date", d.value))
                .help("write a one-off date as YYYY-MM-DD, e.g. `date: 2024-10-01`"));
            None
        }
    }
}

fn easter(file: &str, e: &Spanned<i64>, errs: &mut Vec<Diagnostic>) -> Option<HolidayDate> {
    match i16::try_from(e.value) {
        Ok(offset) if offset.abs() <= 200 => Some(HolidayDate::Easter { offset }),
        _ => {
            errs.push(Diagnostic::new(file, loc(e), format!("Easter offset {} is out of range", e.value))
                .help("days from Easter Sunday, -200 to 200: -3 Jueves Santo, -2 Viernes Santo, 39 Ascensión"));
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
            errs.push(err(loc(m), format!("month {} is out of range", m.value), "months are numbered 1 (January) to 12 (December)"));
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
                errs.push(Diagnostic::new(file, loc(w), format!("unknown weekday `{}`", w.value)).help(weekday_help(&w.value)));
            }
            let nth = match &n.value {
                NthDoc::Number(k @ (1..=5 | -1)) => i8::try_from(*k).ok(),
                NthDoc::Word(word) if word.eq_ignore_ascii_case("last") => Some(-1),
                _ => None,
            };
            if nth.is_none() {
                errs.push(err(loc(n), "`nth` must be 1 to 5, or `last`".into(), "e.g. `nth: 3` for the third Monday, `nth: last` for the last one"));
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
            errs.push(Diagnostic::new(file, loc(y), format!("year {} is out of range", y.value)).help("years run from 1 to 9999"));
            None
        }
    }
}
