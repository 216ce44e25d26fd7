//! Properties of business-time arithmetic on the shipped calendars (DST-free zones) and on test
//! calendars in DST zones (Europe/Madrid, America/New_York), including one whose working hours
//! straddle the DST change at night.

use std::sync::LazyLock;

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use tramite_engine::calendar::{Calendar, Duration, SlaClock, Unit, builtin};

const NEW_YORK: &str = r#"
calendar: us-test
timezone: America/New_York
working_days: [mon, tue, wed, thu, fri]
working_hours: "09:00-17:00"
holidays:
  - { name: New Year, month: 1, day: 1 }
  - { name: MLK, month: 1, weekday: mon, nth: 3 }
  - { name: Memorial, month: 5, weekday: mon, nth: last }
  - { name: Independence, month: 7, day: 4 }
  - { name: Labor, month: 9, weekday: mon, nth: 1 }
  - { name: Thanksgiving, month: 11, weekday: thu, nth: 4 }
  - { name: Christmas, month: 12, day: 25 }
"#;

const MADRID: &str = r#"
calendar: es-test
timezone: Europe/Madrid
working_days: [lun, mar, mié, jue, vie]
working_hours: "09:00-18:00"
holidays:
  - { name: Año Nuevo, month: 1, day: 1 }
  - { name: Viernes Santo, easter: -2 }
  - { name: Navidad, month: 12, day: 25 }
"#;

/// Works every night 01:00–04:00, so the DST gap and fold fall inside working hours.
const NIGHT: &str = r#"
calendar: night-test
timezone: Europe/Madrid
working_days: [mon, tue, wed, thu, fri, sat, sun]
working_hours: "01:00-04:00"
"#;

static CALENDARS: LazyLock<Vec<Calendar>> = LazyLock::new(|| {
    let mut v: Vec<Calendar> = ["mx", "co", "pe"].iter().map(|n| builtin(n).unwrap()).collect();
    for src in [NEW_YORK, MADRID, NIGHT] {
        v.push(Calendar::from_yaml("test.yaml", src, &|_| None).unwrap());
    }
    v
});

/// Indexes of the calendars whose zone has no DST in the tested years.
const DST_FREE: std::ops::Range<usize> = 0..3;

fn any_cal() -> impl Strategy<Value = &'static Calendar> {
    (0..CALENDARS.len()).prop_map(|i| &CALENDARS[i])
}

fn dst_free_cal() -> impl Strategy<Value = &'static Calendar> {
    DST_FREE.prop_map(|i| &CALENDARS[i])
}

/// Any instant from 2020 to 2035.
fn instant() -> impl Strategy<Value = Timestamp> {
    (1_577_836_800i64..2_082_758_400).prop_map(|s| Timestamp::from_second(s).unwrap())
}

/// Any instant from 2023 (Mexico City dropped DST in October 2022) to 2035.
fn instant_since_2023() -> impl Strategy<Value = Timestamp> {
    (1_672_531_200i64..2_082_758_400).prop_map(|s| Timestamp::from_second(s).unwrap())
}

fn local_time(cal: &Calendar, t: Timestamp) -> jiff::civil::Time {
    t.to_zoned(cal.zone().clone()).time()
}

fn bd(n: u32) -> Duration {
    Duration::new(n, Unit::BusinessDays)
}

proptest! {
    #[test]
    fn business_day_deadline_is_close_of_a_business_day(cal in any_cal(), start in instant(), n in 0u32..60) {
        let due = cal.add(start, bd(n));
        let day = cal.local_date(due);
        prop_assert!(cal.is_business_day(day), "{} is not a business day in {}", day, cal.name());
        prop_assert!(cal.holiday_on(day).is_none());
        prop_assert_eq!(local_time(cal, due), cal.working_hours().1);
        prop_assert!(due > start || n == 0);
        let back = cal.sub(start, bd(n));
        prop_assert!(cal.is_business_day(cal.local_date(back)));
    }

    #[test]
    fn adding_business_days_composes(cal in any_cal(), start in instant(), n in 0u32..40, m in 0u32..40) {
        let s = cal.add(start, bd(0)); // close of business of a business day
        prop_assert_eq!(cal.add(cal.add(s, bd(n)), bd(m)), cal.add(s, bd(n + m)));
        prop_assert_eq!(cal.sub(cal.add(s, bd(n)), bd(n)), s);
    }

    #[test]
    fn business_days_between_counts_what_add_produced(cal in any_cal(), start in instant(), n in 1u32..80) {
        prop_assert_eq!(cal.business_days_between(start, cal.add(start, bd(n))), i64::from(n));
    }

    #[test]
    fn business_hours_add_up(cal in any_cal(), start in instant(), h in 0u32..200) {
        let amount = SignedDuration::from_hours(i64::from(h));
        let end = cal.add(start, Duration::new(h, Unit::BusinessHours));
        prop_assert!(end >= start);
        prop_assert_eq!(cal.working_time_between(start, end), amount);
        let (opens, closes) = cal.working_hours();
        let t = local_time(cal, end);
        prop_assert!(cal.is_business_day(cal.local_date(end)));
        prop_assert!(t >= opens && t <= closes, "{} outside working hours", t);
        let back = cal.sub(end, Duration::new(h, Unit::BusinessHours));
        prop_assert_eq!(cal.working_time_between(back, end), amount);
    }

    #[test]
    fn deadlines_are_monotonic_in_the_start(cal in any_cal(), a in instant(), b in instant(), n in 0u32..30, unit in 0usize..3) {
        let (s1, s2) = if a <= b { (a, b) } else { (b, a) };
        let d = Duration::new(n, [Unit::BusinessDays, Unit::BusinessHours, Unit::Hours][unit]);
        prop_assert!(cal.add(s1, d) <= cal.add(s2, d));
        prop_assert!(cal.sub(s1, d) <= cal.sub(s2, d));
    }

    #[test]
    fn calendar_days_are_monotonic_without_dst(cal in dst_free_cal(), a in instant_since_2023(), b in instant_since_2023(), n in 0u32..400) {
        let (s1, s2) = if a <= b { (a, b) } else { (b, a) };
        let d = Duration::new(n, Unit::Days);
        prop_assert!(cal.add(s1, d) <= cal.add(s2, d));
        prop_assert_eq!(cal.add(s1, d).duration_since(s1), SignedDuration::from_hours(24 * i64::from(n)));
    }

    #[test]
    fn sla_elapsed_at_due_is_the_allowed_time(
        cal in any_cal(), start in instant(), n in 1u32..10, pause_at in 0u32..1000, pause_len in 0i64..200_000,
    ) {
        let mut sla = SlaClock::within(cal, start, bd(n));
        prop_assert_eq!(sla.due(cal), sla.base_due);
        let span = sla.base_due.duration_since(start).as_secs();
        let p = start + SignedDuration::from_secs(span * i64::from(pause_at) / 1000);
        sla.pause(p);
        sla.resume(p + SignedDuration::from_secs(pause_len));
        let due = sla.due(cal);
        prop_assert!(due >= sla.base_due);
        prop_assert_eq!(sla.elapsed(cal, due), sla.allowed(cal));
    }
}

/// A duration far longer than any process needs (a hand-written amount is at most about 100
/// years; an expression may ask for any) lands at the end of time, or its start, at once: never
/// back where it started, never after scanning millions of days.
#[test]
fn huge_amounts_saturate() {
    let start: Timestamp = "2026-03-02T16:00:00Z".parse().unwrap();
    let units = [Unit::BusinessDays, Unit::BusinessHours, Unit::Days, Unit::Hours, Unit::Minutes];
    for cal in CALENDARS.iter() {
        for unit in units {
            for amount in [36_601, 10_000_000, u32::MAX] {
                let d = Duration::new(amount, unit);
                assert!(cal.add(start, d) > start, "{} {d} after", cal.name());
                assert!(cal.sub(start, d) < start, "{} {d} before", cal.name());
            }
        }
    }
}
