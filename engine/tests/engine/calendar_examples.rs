//! The worked examples of docs/sla.md, one test each (numbers match the doc's tables).

use jiff::civil::{Date, DateTime};
use jiff::{SignedDuration, Timestamp};
use tramite_engine::calendar::{Calendar, Duration, Offset, SlaClock, SlaState, Warn, builtin};

fn cal(name: &str) -> Calendar {
    builtin(name).unwrap()
}

/// A local date-time in the calendar's zone, e.g. `2026-03-13T16:00`.
fn local(cal: &Calendar, text: &str) -> Timestamp {
    let dt: DateTime = text.parse().unwrap();
    dt.to_zoned(cal.zone().clone()).unwrap().timestamp()
}

/// An instant shown the way the CLI does: RFC 3339 in the calendar's local offset.
fn shown(cal: &Calendar, t: Timestamp) -> String {
    t.display_with_offset(cal.zone().to_offset(t)).to_string()
}

fn add(cal_name: &str, start: &str, duration: &str) -> String {
    let c = cal(cal_name);
    shown(&c, c.offset(local(&c, start), Offset::parse(duration).unwrap()))
}

fn date_anchor(cal: &Calendar, text: &str) -> Timestamp {
    cal.close_of(text.parse::<Date>().unwrap())
}

#[test]
fn ex01_email_friday_afternoon_two_business_days_over_benito_juarez() {
    assert_eq!(add("mx", "2026-03-13T16:00", "2 business days"), "2026-03-18T18:00:00-06:00");
    let c = cal("mx");
    let due = c.add(local(&c, "2026-03-13T16:00"), Duration::parse("2 business days").unwrap());
    assert_eq!(due, "2026-03-19T00:00:00Z".parse::<Timestamp>().unwrap());
}

#[test]
fn ex02_start_on_a_weekend() {
    assert_eq!(add("mx", "2026-03-14T10:00", "1 business day"), "2026-03-17T18:00:00-06:00");
}

#[test]
fn ex03_after_hours_before_semana_santa() {
    assert_eq!(add("mx", "2026-04-01T20:00", "1 business day"), "2026-04-06T18:00:00-06:00");
}

#[test]
fn ex04_zero_business_days_is_close_of_the_next_business_day() {
    assert_eq!(add("mx", "2026-03-14T10:00", "0 business days"), "2026-03-17T18:00:00-06:00");
    assert_eq!(add("mx", "2026-03-17T10:00", "0 business days"), "2026-03-17T18:00:00-06:00");
}

#[test]
fn ex05_business_hours_skip_nights_weekends_and_holidays() {
    assert_eq!(add("mx", "2026-03-13T16:00", "4 business hours"), "2026-03-17T11:00:00-06:00");
}

#[test]
fn ex06_exact_hours_ignore_the_calendar() {
    assert_eq!(add("mx", "2026-03-13T16:00", "36 hours"), "2026-03-15T04:00:00-06:00");
}

#[test]
fn ex07_ninety_calendar_days_before_a_date() {
    let c = cal("mx");
    let t = c.offset(date_anchor(&c, "2026-06-15"), Offset::parse("90 days before").unwrap());
    assert_eq!(shown(&c, t), "2026-03-17T18:00:00-06:00");
}

#[test]
fn ex08_ten_business_days_before_a_training_in_colombia() {
    let c = cal("co");
    let t = c.offset(date_anchor(&c, "2026-06-18"), Offset::parse("10 business days before").unwrap());
    assert_eq!(shown(&c, t), "2026-06-02T17:00:00-05:00");
}

#[test]
fn ex09_icetex_sixteen_business_days() {
    assert_eq!(add("co", "2026-07-10T09:00", "16 business days"), "2026-08-05T17:00:00-05:00");
}

#[test]
fn ex10_peru_fiestas_patrias() {
    assert_eq!(add("pe", "2026-07-22T10:00", "3 business days"), "2026-07-30T16:30:00-05:00");
}

#[test]
fn ex11_business_days_and_hours_between() {
    let c = cal("mx");
    let (a, b) = (local(&c, "2026-03-13T16:00"), local(&c, "2026-03-18T12:00"));
    assert_eq!(c.business_days_between(a, b), 2);
    assert_eq!(c.working_time_between(a, b), SignedDuration::from_hours(14));
}

fn madrid() -> Calendar {
    let src = "calendar: es-test\ntimezone: Europe/Madrid\nworking_days: [mon, tue, wed, thu, fri]\nworking_hours: \"09:00-18:00\"\n";
    Calendar::from_yaml("es-test.yaml", src, &|_| None).unwrap()
}

#[test]
fn ex12_dst_change_over_a_weekend() {
    let c = madrid();
    let start = local(&c, "2026-03-27T16:00");
    assert_eq!(shown(&c, start), "2026-03-27T16:00:00+01:00");
    let due = c.add(start, Duration::parse("1 business day").unwrap());
    assert_eq!(shown(&c, due), "2026-03-30T18:00:00+02:00");
    let open_friday = local(&c, "2026-03-27T09:00");
    assert_eq!(c.working_time_between(open_friday, due), SignedDuration::from_hours(18));
}

#[test]
fn ex13_a_calendar_day_across_dst_is_23_hours() {
    let c = madrid();
    let start = local(&c, "2026-03-28T12:00");
    let next = c.add(start, Duration::parse("1 day").unwrap());
    assert_eq!(shown(&c, next), "2026-03-29T12:00:00+02:00");
    assert_eq!(next.duration_since(start), SignedDuration::from_hours(23));
}

fn respuesta(c: &Calendar) -> SlaClock {
    SlaClock::within(c, local(c, "2026-03-13T16:00"), Duration::parse("2 business days").unwrap())
}

#[test]
fn ex14_sla_ok_warning_breached() {
    let c = cal("mx");
    let sla = respuesta(&c);
    let before = Warn::Before(Duration::parse("1 business day").unwrap());
    let warn = Some(before);
    assert_eq!(shown(&c, sla.due(&c)), "2026-03-18T18:00:00-06:00");
    assert_eq!(shown(&c, sla.warn_at(&c, before)), "2026-03-17T18:00:00-06:00");
    assert_eq!(sla.state(&c, warn, local(&c, "2026-03-17T12:00")), SlaState::Ok);
    assert_eq!(sla.state(&c, warn, local(&c, "2026-03-17T17:59")), SlaState::Ok);
    assert_eq!(sla.state(&c, warn, local(&c, "2026-03-17T18:00")), SlaState::Warning);
    assert_eq!(sla.state(&c, warn, local(&c, "2026-03-18T17:59")), SlaState::Warning);
    assert_eq!(sla.state(&c, warn, local(&c, "2026-03-18T18:00")), SlaState::Breached);
    assert_eq!(sla.state(&c, None, local(&c, "2026-03-18T17:59")), SlaState::Ok);
}

#[test]
fn ex15_sla_met_and_met_late() {
    let c = cal("mx");
    let mut on_time = respuesta(&c);
    on_time.stop(local(&c, "2026-03-18T17:59"));
    assert_eq!(on_time.state(&c, None, local(&c, "2026-04-01T00:00")), SlaState::Met);
    let mut late = respuesta(&c);
    late.stop(local(&c, "2026-03-18T18:00"));
    assert_eq!(late.state(&c, None, local(&c, "2026-03-18T18:00")), SlaState::MetLate);
}

#[test]
fn ex16_sla_percentage_warning() {
    let c = cal("mx");
    let sla = respuesta(&c);
    assert_eq!(sla.allowed(&c), SignedDuration::from_hours(20));
    assert_eq!(shown(&c, sla.warn_at(&c, Warn::Percent(50))), "2026-03-17T17:00:00-06:00");
}

#[test]
fn ex17_sla_pause_moves_due_by_working_time() {
    let c = cal("mx");
    let mut sla = respuesta(&c);
    sla.pause(local(&c, "2026-03-17T10:00"));
    sla.resume(local(&c, "2026-03-17T12:00"));
    assert_eq!(shown(&c, sla.due(&c)), "2026-03-19T11:00:00-06:00");
}

#[test]
fn ex18_sla_pause_after_due_moves_nothing() {
    let c = cal("mx");
    let mut sla = respuesta(&c);
    sla.pause(local(&c, "2026-03-19T10:00"));
    sla.resume(local(&c, "2026-03-19T11:00"));
    assert_eq!(shown(&c, sla.due(&c)), "2026-03-18T18:00:00-06:00");
    assert_eq!(sla.state(&c, None, local(&c, "2026-03-19T11:30")), SlaState::Breached);
}

fn analisis(c: &Calendar) -> SlaClock {
    SlaClock::within(c, local(c, "2026-03-02T10:00"), Duration::parse("10 business days").unwrap())
}

#[test]
fn ex19_sla_warning_after_the_target_of_a_range() {
    let c = cal("mx");
    let sla = analisis(&c);
    let after = Warn::parse("after 7 business days").unwrap();
    assert_eq!(shown(&c, sla.warn_at(&c, after)), "2026-03-11T18:00:00-06:00");
    assert_eq!(sla.warn_at(&c, after), sla.warn_at(&c, Warn::parse("3 business days before").unwrap()));
    assert_eq!(shown(&c, sla.due(&c)), "2026-03-17T18:00:00-06:00");
}

#[test]
fn ex20_sla_pause_moves_an_after_warning_like_the_due() {
    let c = cal("mx");
    let mut sla = analisis(&c);
    sla.pause(local(&c, "2026-03-04T10:00"));
    sla.resume(local(&c, "2026-03-04T12:00"));
    let after = Warn::parse("after 7 business days").unwrap();
    assert_eq!(shown(&c, sla.warn_at(&c, after)), "2026-03-12T11:00:00-06:00");
    assert_eq!(shown(&c, sla.due(&c)), "2026-03-18T11:00:00-06:00");
}
