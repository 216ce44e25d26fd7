//! Inputs the fuzz targets (fuzz/, scripts/fuzz) found a crash or a hang with, one test each,
//! named after what went wrong.

use jiff::{SignedDuration, Timestamp};
use tramite_engine::calendar::{Calendar, MEASURE_LIMIT_DAYS, Offset, SlaClock, Warn, builtin};

fn mx() -> Calendar {
    builtin("mx").unwrap()
}

/// `due: 878400 horas hábiles` with `warn: 80%`: the due instant is never (`Timestamp::MAX`, past
/// the search), and the warning's share of the allowed time walked every day to the year 9999.
#[test]
fn working_time_towards_a_deadline_that_never_falls_is_counted_over_a_hundred_years_at_most() {
    let cal = mx();
    let start: Timestamp = "2026-03-18T15:00:00Z".parse().unwrap();
    let century = start.checked_add(SignedDuration::from_hours(24 * i64::from(MEASURE_LIMIT_DAYS) + 24)).unwrap();
    assert_eq!(cal.working_time_between(start, Timestamp::MAX), cal.working_time_between(start, century));

    let offset = Offset::parse("878400 horas hábiles").unwrap();
    assert_eq!(cal.offset(start, offset), Timestamp::MAX);
    let clock = SlaClock::within(&cal, start, offset.duration);
    assert_eq!(clock.allowed(&cal), cal.working_time_between(start, century));
    assert_eq!(clock.warn_at(&cal, Warn::parse("80%").unwrap()), Timestamp::MAX);
}

/// Within a hundred years the count is the same as before: a year of working time on mx.
#[test]
fn working_time_within_a_hundred_years_is_counted_in_full() {
    let cal = mx();
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let end: Timestamp = "2027-01-01T06:00:00Z".parse().unwrap();
    // Every business day of 2026 on mx, 9 hours each (09:00-18:00).
    let hours = cal.working_time_between(start, end).as_hours();
    let business_days = cal.business_days_between(start, end);
    assert_eq!(hours, 9 * business_days);
}
