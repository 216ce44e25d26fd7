//! `tramite calendar …`: look at a business calendar from the command line — its holidays for a
//! year, a deadline from an instant, the business time between two instants.
//!
//! Calendars are read from `<calendars_dir>/<name>.yaml`; `extends:` is resolved in the same
//! folder. Exit codes: 0 done, 1 a calendar file is missing or invalid, 2 an argument is invalid.

use std::cell::RefCell;
use std::path::Path;
use std::process::ExitCode;

use jiff::civil::{Date, DateTime};
use jiff::{SignedDuration, Timestamp};
use tramite_engine::calendar::{Calendar, Offset};
use tramite_engine::diagnostic::{Diagnostic, Loc};

/// How deep `extends` chains may go (also what stops a cycle).
const MAX_EXTENDS_DEPTH: usize = 8;

#[derive(Debug, clap::Subcommand)]
pub enum CalendarCmd {
    /// List a year's holidays, one `YYYY-MM-DD<TAB>name` line each.
    Holidays {
        /// Calendar name, e.g. `mx` for calendars/mx.yaml.
        cal: String,
        year: i16,
    },
    /// Print the deadline DURATION after START (or before, with `N unit before`).
    Add {
        /// Calendar name, e.g. `mx`.
        cal: String,
        /// RFC 3339 (2026-03-13T16:00:00-06:00), local date-time (2026-03-13T16:00) or date.
        start: String,
        /// E.g. "2 business days", "4 business hours", "90 days before".
        duration: String,
    },
    /// Print the business days and business hours between START and END.
    Between {
        /// Calendar name, e.g. `mx`.
        cal: String,
        start: String,
        end: String,
    },
}

/// Why a command failed, already worded for the terminal.
#[derive(Debug, PartialEq, Eq)]
pub enum CalendarError {
    /// A calendar file is missing or invalid (rendered diagnostics).
    Calendar(String),
    /// START, END or DURATION could not be read.
    Argument(String),
}

/// Runs the command, printing its result to stdout or its error to stderr.
pub fn run(cmd: CalendarCmd, calendars_dir: &Path) -> ExitCode {
    match execute(cmd, calendars_dir) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(CalendarError::Calendar(msg)) => {
            eprintln!("{msg}");
            ExitCode::from(1)
        }
        Err(CalendarError::Argument(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

/// The command's standard output.
pub fn execute(cmd: CalendarCmd, calendars_dir: &Path) -> Result<String, CalendarError> {
    match cmd {
        CalendarCmd::Holidays { cal, year } => {
            let cal = load(calendars_dir, &cal)?;
            Ok(cal.holidays(year).into_iter().map(|(d, name)| format!("{d}\t{name}\n")).collect())
        }
        CalendarCmd::Add { cal, start, duration } => {
            let cal = load(calendars_dir, &cal)?;
            let start = instant(&cal, &start)?;
            let offset = Offset::parse(&duration).map_err(|e| {
                CalendarError::Argument(format!(
                    "cannot read duration `{duration}`: {e}\n  help: write `N unit` or `N unit before`; units: business days, business hours, days, hours, minutes"
                ))
            })?;
            Ok(format!("{}\n", rfc3339(&cal, cal.offset(start, offset))))
        }
        CalendarCmd::Between { cal, start, end } => {
            let cal = load(calendars_dir, &cal)?;
            let (from, to) = (instant(&cal, &start)?, instant(&cal, &end)?);
            if to < from {
                return Err(CalendarError::Argument(format!("END `{end}` is before START `{start}`")));
            }
            Ok(format!(
                "business days\t{}\nbusiness hours\t{}\n",
                cal.business_days_between(from, to),
                hours(cal.working_time_between(from, to))
            ))
        }
    }
}

/// Loads `<dir>/<name>.yaml`, resolving `extends` from the same folder.
pub fn load(dir: &Path, name: &str) -> Result<Calendar, CalendarError> {
    load_at(dir, name, 0).map_err(|errs| CalendarError::Calendar(errs.join("\n")))
}

fn load_at(dir: &Path, name: &str, depth: usize) -> Result<Calendar, Vec<String>> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(vec![format!(
            "error: `{name}` is not a calendar name\n  help: use the file name without `.yaml`, e.g. `mx`"
        )]);
    }
    let path = dir.join(format!("{name}.yaml"));
    let file = path.display().to_string();
    let source = std::fs::read_to_string(&path).map_err(|e| {
        let known = known_calendars(dir);
        vec![format!(
            "{file}: error: cannot read calendar `{name}`: {e}\n  help: calendars here: {}",
            if known.is_empty() { "none".into() } else { known.join(", ") }
        )]
    })?;
    if depth > MAX_EXTENDS_DEPTH {
        return Err(vec![format!("{file}: error: `extends` chain deeper than {MAX_EXTENDS_DEPTH} (is it circular?)")]);
    }
    let parent_errors: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let base = |parent: &str| match load_at(dir, parent, depth + 1) {
        Ok(c) => Some(c),
        Err(errs) => {
            parent_errors.borrow_mut().extend(errs);
            None
        }
    };
    let loaded = Calendar::from_yaml(&file, &source, &base);
    let parent_errors = parent_errors.into_inner();
    let render = |d: &Diagnostic| d.render(Some(&source));
    match loaded {
        Ok(cal) if cal.name() == name => Ok(cal),
        Ok(cal) => {
            let line = source.lines().position(|l| l.starts_with("calendar:")).map_or(1, |i| i + 1);
            let d = Diagnostic::new(
                &file,
                Loc::new(line as u64, 11),
                format!("calendar `{}` is in {name}.yaml", cal.name()),
            )
            .help(format!("the name must match the file name: `calendar: {name}`, or rename the file"));
            Err(vec![render(&d)])
        }
        Err(diags) => {
            // A parent that failed is reported with its own errors, not as "unknown calendar".
            let own = diags.iter().filter(|d| parent_errors.is_empty() || !d.message.starts_with("unknown calendar"));
            Err(parent_errors.iter().cloned().chain(own.map(render)).collect())
        }
    }
}

fn known_calendars(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".yaml").map(str::to_string))
        .collect();
    names.sort();
    names
}

/// Reads an instant: RFC 3339, a local date-time in the calendar's zone, or a date (its close
/// of business, as docs/sla.md rule 7 says).
fn instant(cal: &Calendar, text: &str) -> Result<Timestamp, CalendarError> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    if !text.contains(['T', 't', ' '])
        && let Ok(d) = text.parse::<Date>()
    {
        return Ok(cal.close_of(d));
    }
    if let Ok(dt) = text.parse::<DateTime>()
        && let Ok(z) = dt.to_zoned(cal.zone().clone())
    {
        return Ok(z.timestamp());
    }
    Err(CalendarError::Argument(format!(
        "cannot read `{text}` as an instant\n  help: write RFC 3339 (2026-03-13T16:00:00-06:00), a local date-time in the calendar's zone (2026-03-13T16:00) or a date (2026-06-15, read as its close of business)"
    )))
}

/// RFC 3339 in the calendar's local offset at that instant.
fn rfc3339(cal: &Calendar, t: Timestamp) -> String {
    t.display_with_offset(cal.zone().to_offset(t)).to_string()
}

/// `14h`, `14h 30m`, `0h 0m 20s`.
fn hours(d: SignedDuration) -> String {
    let secs = d.as_secs().max(0);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (m, s) {
        (0, 0) => format!("{h}h"),
        (_, 0) => format!("{h}h {m}m"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn shipped() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../calendars")
    }

    fn ok(cmd: CalendarCmd) -> String {
        execute(cmd, &shipped()).unwrap()
    }

    fn add(cal: &str, start: &str, duration: &str) -> Result<String, CalendarError> {
        execute(CalendarCmd::Add { cal: cal.into(), start: start.into(), duration: duration.into() }, &shipped())
    }

    /// A fresh folder with the given calendar files.
    fn folder(files: &[(&str, &str)]) -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tramite-cal-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn holidays_one_tab_separated_line_each() {
        let out = ok(CalendarCmd::Holidays { cal: "mx".into(), year: 2026 });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 9);
        assert_eq!(lines[2], "2026-03-16\tNatalicio de Benito Juárez");
        assert_eq!(lines[8], "2026-12-25\tNavidad");
    }

    #[test]
    fn add_over_a_holiday_prints_local_rfc3339() {
        assert_eq!(add("mx", "2026-03-13T16:00:00-06:00", "2 business days").unwrap(), "2026-03-18T18:00:00-06:00\n");
        assert_eq!(add("mx", "2026-03-13T22:00:00Z", "2 business days").unwrap(), "2026-03-18T18:00:00-06:00\n");
        assert_eq!(add("mx", "2026-03-13T16:00", "4 business hours").unwrap(), "2026-03-17T11:00:00-06:00\n");
        assert_eq!(add("mx", "2026-06-15", "90 days before").unwrap(), "2026-03-17T18:00:00-06:00\n");
        assert_eq!(add("co", "2026-06-18", "10 business days before").unwrap(), "2026-06-02T17:00:00-05:00\n");
    }

    #[test]
    fn between_prints_days_and_hours() {
        let out = ok(CalendarCmd::Between {
            cal: "mx".into(),
            start: "2026-03-13T16:00".into(),
            end: "2026-03-18T12:30".into(),
        });
        assert_eq!(out, "business days\t2\nbusiness hours\t14h 30m\n");
    }

    #[test]
    fn bad_arguments_are_argument_errors() {
        assert!(
            matches!(add("mx", "next friday", "2 business days"), Err(CalendarError::Argument(m)) if m.contains("cannot read `next friday`"))
        );
        assert!(
            matches!(add("mx", "2026-03-13", "2 fortnights"), Err(CalendarError::Argument(m)) if m.contains("unknown duration unit `fortnights`"))
        );
        let backwards = CalendarCmd::Between { cal: "mx".into(), start: "2026-03-13".into(), end: "2026-03-12".into() };
        assert!(matches!(execute(backwards, &shipped()), Err(CalendarError::Argument(_))));
    }

    #[test]
    fn missing_calendar_lists_the_known_ones() {
        let Err(CalendarError::Calendar(msg)) = add("mxx", "2026-03-13", "1 day") else { panic!() };
        assert!(msg.contains("cannot read calendar `mxx`") && msg.contains("co, mx, pe"), "{msg}");
        let Err(CalendarError::Calendar(msg)) = add("../mx", "2026-03-13", "1 day") else { panic!() };
        assert!(msg.contains("not a calendar name"), "{msg}");
    }

    #[test]
    fn extends_resolves_in_the_same_folder() {
        let dir = folder(&[
            (
                "base.yaml",
                "calendar: base\ntimezone: America/Lima\nworking_days: [mon, tue, wed, thu, fri]\nworking_hours: \"08:00-17:00\"\nholidays:\n  - name: Uno\n    month: 1\n    day: 2\n",
            ),
            ("inst.yaml", "calendar: inst\nextends: base\nholidays:\n  - name: Dos\n    date: 2026-01-05\n"),
        ]);
        let out = execute(CalendarCmd::Holidays { cal: "inst".into(), year: 2026 }, &dir).unwrap();
        assert_eq!(out, "2026-01-02\tUno\n2026-01-05\tDos\n");
    }

    #[test]
    fn a_broken_parent_is_reported_with_its_own_errors() {
        let dir = folder(&[
            (
                "base.yaml",
                "calendar: base\ntimezone: Mars/Olympus\nworking_days: [mon]\nworking_hours: \"08:00-17:00\"\n",
            ),
            ("inst.yaml", "calendar: inst\nextends: base\n"),
            ("loop.yaml", "calendar: loop\nextends: loop2\n"),
            ("loop2.yaml", "calendar: loop2\nextends: loop\n"),
            ("other.yaml", "calendar: different\nextends: base\n"),
        ]);
        let Err(CalendarError::Calendar(msg)) = load(&dir, "inst") else { panic!() };
        assert!(msg.contains("base.yaml:2:11: error: unknown time zone `Mars/Olympus`"), "{msg}");
        assert!(!msg.contains("unknown calendar"), "{msg}");
        let Err(CalendarError::Calendar(msg)) = load(&dir, "loop") else { panic!() };
        assert!(msg.contains("deeper than"), "{msg}");
        std::fs::write(dir.join("base.yaml"), "calendar: base\nextends: loop\n").unwrap();
        let Err(CalendarError::Calendar(msg)) = load(&dir, "inst") else { panic!() };
        assert!(msg.contains("deeper than"), "{msg}");
    }

    #[test]
    fn the_name_must_match_the_file() {
        let dir = folder(&[(
            "mine.yaml",
            "calendar: other\ntimezone: UTC\nworking_days: [mon]\nworking_hours: \"08:00-17:00\"\n",
        )]);
        let Err(CalendarError::Calendar(msg)) = load(&dir, "mine") else { panic!() };
        assert!(msg.contains("mine.yaml:1:11: error: calendar `other` is in mine.yaml"), "{msg}");
    }

    #[test]
    fn hours_format() {
        assert_eq!(hours(SignedDuration::from_hours(14)), "14h");
        assert_eq!(hours(SignedDuration::from_secs(14 * 3600 + 20)), "14h 0m 20s");
        assert_eq!(hours(SignedDuration::from_secs(-5)), "0h");
    }
}
