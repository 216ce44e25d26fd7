//! Calendar files: what loads, and the diagnostics (file:line:column + help) for what does not.

use jiff::civil::{Time, date};
use tramite_engine::calendar::{Calendar, builtin};
use tramite_engine::diagnostic::{Diagnostic, Loc};

fn load(src: &str) -> Result<Calendar, Vec<Diagnostic>> {
    Calendar::from_yaml("calendars/x.yaml", src, &builtin)
}

fn errors(src: &str) -> Vec<Diagnostic> {
    match load(src) {
        Ok(c) => panic!("expected errors, loaded {}", c.name()),
        Err(e) => e,
    }
}

const HEAD: &str =
    "calendar: x\ntimezone: America/Lima\nworking_days: [mon, tue, wed, thu, fri]\nworking_hours: \"08:30-16:30\"\n";

fn with_holidays(body: &str) -> String {
    format!("{HEAD}holidays:\n{body}")
}

#[test]
fn institution_extends_a_country_calendar() {
    // The example of docs/sla.md.
    let src = "calendar: conocer\ntitle: CONOCER — días inhábiles propios\nextends: mx\nholidays:\n  - name: Día de Muertos\n    month: 11\n    day: 2\n  - name: Día de la Virgen de Guadalupe\n    month: 12\n    day: 12\n  - name: Vacaciones de invierno\n    date: 2026-12-28\n";
    let c = load(src).unwrap();
    assert_eq!(c.name(), "conocer");
    assert_eq!(c.zone().iana_name(), Some("America/Mexico_City"));
    assert_eq!(c.working_hours(), (Time::constant(9, 0, 0, 0), Time::constant(18, 0, 0, 0)));
    assert_eq!(c.holiday_on(date(2026, 3, 16)), Some("Natalicio de Benito Juárez"));
    assert_eq!(c.holiday_on(date(2026, 11, 2)), Some("Día de Muertos"));
    assert_eq!(c.holiday_on(date(2026, 12, 28)), Some("Vacaciones de invierno"));
    assert_eq!(c.holiday_on(date(2027, 12, 28)), None);
    assert_eq!(c.holidays(2026).len(), builtin("mx").unwrap().holidays(2026).len() + 3);
}

#[test]
fn extends_may_override_hours() {
    let c = load("calendar: x\nextends: pe\nworking_hours: \"08:00-17:00\"\n").unwrap();
    assert_eq!(c.working_hours().0, Time::constant(8, 0, 0, 0));
    assert_eq!(c.holidays(2026), builtin("pe").unwrap().holidays(2026));
}

#[test]
fn unknown_key_points_at_it_with_a_suggestion() {
    let e = errors(&with_holidays("  - name: Año Nuevo\n    month: 1\n    dya: 1\n"));
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].loc, Loc::new(8, 5));
    assert!(e[0].message.contains("dya"), "{}", e[0].message);
    assert_eq!(e[0].help.as_deref(), Some("did you mean `day`?"));
}

#[test]
fn unknown_parent_calendar() {
    let e = errors("calendar: x\nextends: mxx\n");
    assert_eq!(e[0].loc, Loc::new(2, 10));
    assert_eq!(e[0].message, "unknown calendar `mxx`");
    assert!(e[0].help.as_deref().unwrap().contains("extends: mx"));
}

#[test]
fn missing_fields_without_extends_are_all_reported() {
    let e = errors("calendar: x\n");
    let messages: Vec<&str> = e.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages, ["missing `timezone`", "missing `working_days`", "missing `working_hours`"]);
    assert!(e.iter().all(|d| d.loc == Loc::new(1, 11)));
}

#[test]
fn bad_zone_weekday_and_hours() {
    let e =
        errors("calendar: x\ntimezone: America/Mexico_Cty\nworking_days: [mon, tuw]\nworking_hours: \"18:00-09:00\"\n");
    assert_eq!(e.len(), 3, "{e:?}");
    assert_eq!((e[0].loc, e[0].message.as_str()), (Loc::new(2, 11), "unknown time zone `America/Mexico_Cty`"));
    assert_eq!(e[0].help.as_deref(), Some("did you mean `America/Mexico_City`?"));
    assert_eq!((e[1].loc, e[1].message.as_str()), (Loc::new(3, 21), "unknown weekday `tuw`"));
    assert_eq!(e[1].help.as_deref(), Some("did you mean `tue`?"));
    assert_eq!(e[2].loc, Loc::new(4, 16));
    assert!(e[2].message.contains("close before they open"));
    let e = errors("calendar: x\ntimezone: UTC\nworking_days: []\nworking_hours: \"9 to 5\"\n");
    assert_eq!(e[0].message, "a calendar needs at least one working day");
    assert_eq!(e[1].message, "cannot read working hours `9 to 5`");
}

#[test]
fn holiday_rule_mistakes() {
    let cases: &[(&str, &str, u64)] = &[
        ("  - name: A\n", "holiday `A` has no date rule", 6),
        ("  - name: A\n    month: 2\n    day: 30\n", "month 2 has no day 30", 8),
        ("  - name: A\n    month: 13\n    day: 1\n", "month 13 is out of range", 7),
        ("  - name: A\n    month: 3\n    weekday: mon\n", "`weekday` needs `nth`", 8),
        ("  - name: A\n    month: 3\n    weekday: mon\n    nth: 6\n", "`nth` must be 1 to 5, or `last`", 9),
        ("  - name: A\n    month: 3\n    weekday: lunnes\n    nth: 1\n", "unknown weekday `lunnes`", 8),
        ("  - name: A\n    easter: -2\n    month: 3\n    day: 1\n", "holiday `A` mixes rules: `easter` and `month`", 6),
        ("  - name: A\n    easter: 500\n", "Easter offset 500 is out of range", 7),
        ("  - name: A\n    date: 2024-02-30\n", "`2024-02-30` is not a date", 7),
        ("  - name: A\n    month: 1\n    day: 6\n    move: next_mondy\n", "unknown move `next_mondy`", 9),
        ("  - name: A\n    month: 10\n    day: 1\n    every: 6\n", "`every` needs `from_year`", 9),
        (
            "  - name: A\n    month: 1\n    day: 1\n    from_year: 2020\n    until_year: 2010\n",
            "`until_year` 2010 is before `from_year` 2020",
            10,
        ),
        ("  - name: A\n    date: 2024-10-01\n    from_year: 2024\n", "one-off holiday `A` cannot have year limits", 6),
    ];
    for (body, message, line) in cases {
        let e = errors(&with_holidays(body));
        assert_eq!(e[0].message, *message, "{body}");
        assert_eq!(e[0].loc.line, *line, "{body}");
        assert!(e[0].help.is_some(), "{body}");
    }
}

#[test]
fn several_bad_holidays_are_reported_together() {
    let e = errors(&with_holidays("  - name: A\n    month: 2\n    day: 30\n  - name: B\n    easter: 999\n"));
    assert_eq!(e.len(), 2);
    assert_eq!(e[1].loc.line, 10);
}

#[test]
fn nth_last_and_spanish_weekdays() {
    let c = load(&with_holidays("  - name: Último lunes de mayo\n    month: 5\n    weekday: lunes\n    nth: last\n"))
        .unwrap();
    assert_eq!(c.holidays(2026), vec![(date(2026, 5, 25), "Último lunes de mayo".to_string())]);
}

#[test]
fn diagnostics_render_with_a_caret() {
    let src = "calendar: x\nextends: mxx\n";
    let e = errors(src);
    let shown = e[0].render(Some(src));
    assert!(shown.starts_with("calendars/x.yaml:2:10: error: unknown calendar `mxx`"), "{shown}");
    assert!(shown.contains("2 | extends: mxx\n  |          ^"), "{shown}");
}

#[test]
fn yaml_syntax_errors_are_diagnostics() {
    let e = errors("calendar: x\nholidays:\n  - name: 'A\n");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].file, "calendars/x.yaml");
}
