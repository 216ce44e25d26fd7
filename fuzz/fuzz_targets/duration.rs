//! Durations and deadlines: the input's lines are a duration or offset as `due:` takes it
//! (`5 business days`, `10 días hábiles before`), a warning as `warn:` takes it (`80%`,
//! `after 3 business days`, `1 business day before`), the start (an RFC 3339 instant or a
//! `YYYY-MM-DD` date, as an anchor field holds) and the calendar (`mx`, `co`, `pe`, or any other
//! word for weekends only). Each parsed value is counted on the calendar the way an SLA clock is:
//! the due instant, the warning, a pause, the state and the standing.
#![no_main]

use jiff::{SignedDuration, Timestamp};
use libfuzzer_sys::fuzz_target;
use tramite_engine::calendar::{self, Calendar, Duration, Offset, SlaClock, Unit, Warn};

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let mut lines = text.split('\n');
    let due_text = lines.next().unwrap_or("");
    let warn_text = lines.next().unwrap_or("");
    let start_text = lines.next().unwrap_or("").trim();
    let calendar_text = lines.next().unwrap_or("").trim();

    let _ = Duration::parse(due_text);
    let offset = Offset::parse(due_text);
    let warn = Warn::parse(warn_text).ok();
    let Some(cal) = calendar::builtin(calendar_text).or_else(|| Calendar::weekends_only("utc", "UTC").ok()) else {
        return;
    };
    let start = if start_text.is_empty() {
        Some(Timestamp::constant(1_773_846_000, 0))
    } else if let Some(date) = calendar::parse_date(start_text) {
        Some(cal.close_of(date))
    } else {
        start_text.parse::<Timestamp>().ok()
    };
    let (Ok(offset), Some(start)) = (offset, start) else { return };
    let _ = offset.to_string();
    let due = cal.offset(start, offset);
    let business = matches!(offset.duration.unit, Unit::BusinessDays | Unit::BusinessHours);
    let mut clock = if offset.before {
        SlaClock::until(&cal, start, due, business)
    } else {
        SlaClock::within(&cal, start, offset.duration)
    };
    let _ = clock.allowed(&cal);
    let _ = clock.standing(&cal, warn);
    let _ = clock.state(&cal, warn, start);
    let _ = clock.elapsed(&cal, due);
    // A pause of one day, an hour after the start, then the state at the due instant.
    let paused = start.saturating_add(SignedDuration::from_hours(1)).unwrap_or(start);
    clock.pause(paused);
    clock.resume(paused.saturating_add(SignedDuration::from_hours(24)).unwrap_or(paused));
    let due_after_pause = clock.due(&cal);
    let _ = clock.standing(&cal, warn);
    let _ = clock.state(&cal, warn, due_after_pause);
    clock.stop(due_after_pause);
    let _ = clock.state(&cal, warn, due_after_pause);
});
