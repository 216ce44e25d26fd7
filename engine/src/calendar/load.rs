//! Reading a calendar file (`calendars/*.yaml`) into a [`Calendar`], with every problem reported
//! as a [`Diagnostic`] at its file:line:column. The format is documented in `docs/sla.md`.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::Calendar;
use super::load_holiday::{HolidayDoc, holiday, weekday_help};
use super::rules::parse_weekday;
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

pub(super) fn loc<T>(s: &Spanned<T>) -> Loc {
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
        let doc: CalendarDoc =
            crate::definition::raw::read_yaml(source).map_err(|e| vec![Diagnostic::from_yaml(file, &e)])?;
        let mut errs = Vec::new();
        let at = |s: &Spanned<String>| Diagnostic::new(file, loc(s), "");
        let name = doc.calendar.value.trim().to_string();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            errs.push(
                Diagnostic { message: format!("invalid calendar name `{name}`"), ..at(&doc.calendar) }.help(
                    "use letters, digits, `-` or `_`, matching the file name: `calendar: mx` in calendars/mx.yaml",
                ),
            );
        }
        let parent = match &doc.extends {
            Some(ext) if ext.value == name => {
                errs.push(
                    Diagnostic { message: "a calendar cannot extend itself".into(), ..at(ext) }
                        .help("name the calendar this one adds closure days to, e.g. `extends: mx`"),
                );
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
            observed: Default::default(),
        });
        let needs = |what: &str, example: &str, errs: &mut Vec<Diagnostic>| {
            if doc.extends.is_none() {
                errs.push(
                    Diagnostic::new(file, loc(&doc.calendar), format!("missing `{what}`"))
                        .help(format!("add `{what}: {example}`, or `extends: <calendar>` to inherit it")),
                );
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
        Ok(Calendar { name, title, zone, working_days, opens, closes, holidays, observed: Default::default() })
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
                errs.push(
                    Diagnostic::new(file, loc(d), format!("unknown weekday `{}`", d.value))
                        .help(weekday_help(&d.value)),
                );
            }
        }
    }
    if ok && !set.contains(&true) {
        errs.push(
            Diagnostic::new(file, loc(days), "a calendar needs at least one working day")
                .help("list them, e.g. `working_days: [mon, tue, wed, thu, fri]`"),
        );
        return None;
    }
    ok.then_some(set)
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
            errs.push(
                Diagnostic::new(file, loc(h), format!("working hours `{}` close before they open", h.value))
                    .help("write the opening time first, e.g. \"09:00-18:00\"; a working day cannot cross midnight"),
            );
            None
        }
        None => {
            errs.push(
                Diagnostic::new(file, loc(h), format!("cannot read working hours `{}`", h.value))
                    .help("write \"HH:MM-HH:MM\" in 24-hour local time, e.g. \"09:00-18:00\""),
            );
            None
        }
    }
}
