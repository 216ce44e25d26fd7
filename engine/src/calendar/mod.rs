//! Business time: durations in business days / business hours / calendar time, counted on a
//! [`Calendar`] (time zone, working days, working hours, holidays).
//!
//! Semantics (see `docs/sla.md`): `N business days` from an instant ends at the close of business
//! of the Nth business day after that instant's local day (the start day is never counted);
//! `N business hours` counts only time inside working hours; `N days` / `N hours` are calendar
//! time. Business days and business hours are distinct units and are never converted into one
//! another. All arithmetic happens in the calendar's zone; results are UTC [`Timestamp`]s.

mod builtin;
mod duration;
mod easter;
mod load;
mod load_holiday;
mod rules;
mod sla;

pub use builtin::{BUILTIN, builtin, builtin_source};
pub use duration::{Duration, DurationError, Offset, Unit};
pub use easter::easter_sunday;
pub use rules::{Holiday, HolidayDate, Move, WEEKDAYS, parse_weekday};
pub use sla::{SlaClock, SlaState, Standing, Warn, WarnError};

/// A calendar date written `YYYY-MM-DD`, and nothing else: jiff's own parser also takes a
/// date-time and drops its time, which would read `2026-06-01T10:00` as a whole day.
pub fn parse_date(text: &str) -> Option<jiff::civil::Date> {
    let b = text.as_bytes();
    (b.len() == 10 && b[4] == b'-' && b[7] == b'-').then(|| text.parse().ok()).flatten()
}

use jiff::civil::{Date, Time, Weekday};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

/// How far a day search may run before giving up (a calendar whose holidays cover every working
/// day would otherwise loop forever); searches that give up yield [`Timestamp::MAX`] / `MIN`.
const SEARCH_LIMIT_DAYS: u32 = 366 * 20;
/// Most days [`Calendar::working_time_between`] walks: the longest duration, about 100 years.
pub const MEASURE_LIMIT_DAYS: u32 = Duration::longest(Unit::Days).amount;

/// A business calendar: where, when people work, and which days they do not.
#[derive(Debug, Clone)]
pub struct Calendar {
    name: String,
    title: String,
    zone: TimeZone,
    working_days: [bool; 7],
    opens: Time,
    closes: Time,
    holidays: Vec<Holiday>,
    /// Observed holiday dates per year, worked out from the rules on first use: deadline
    /// arithmetic asks about each day it passes, and the rules (Easter, moves) are not free.
    observed: Arc<Mutex<HashMap<i16, Arc<HashSet<Date>>>>>,
}

impl Calendar {
    /// Monday to Friday, 09:00–18:00, no holidays: the calendar used where no real one is given.
    pub fn weekends_only(name: &str, zone: &str) -> Result<Calendar, jiff::Error> {
        Ok(Calendar {
            name: name.to_string(),
            title: name.to_string(),
            zone: TimeZone::get(zone)?,
            working_days: [true, true, true, true, true, false, false],
            opens: Time::constant(9, 0, 0, 0),
            closes: Time::constant(18, 0, 0, 0),
            holidays: Vec::new(),
            observed: Arc::default(),
        })
    }

    /// The calendar's name, e.g. `mx`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A human title, e.g. `México — Administración Pública Federal`.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The IANA zone every local computation happens in.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// Opening and closing time of a working day, local.
    pub fn working_hours(&self) -> (Time, Time) {
        (self.opens, self.closes)
    }

    /// Whether `weekday` is a working day (holidays aside).
    pub fn is_working_weekday(&self, weekday: Weekday) -> bool {
        self.working_days[weekday_index(weekday)]
    }

    /// The holiday rules, parent calendar's first.
    pub fn holiday_rules(&self) -> &[Holiday] {
        &self.holidays
    }

    /// The name of the holiday observed on `date`, if any (the first rule wins).
    pub fn holiday_on(&self, date: Date) -> Option<&str> {
        self.holidays.iter().find(|h| h.falls_on(date)).map(|h| h.name.as_str())
    }

    /// Every holiday observed in `year`, sorted by date (rules order breaks ties; two rules
    /// observed on one date, as Colombia's 30 June 2025, give two entries).
    pub fn holidays(&self, year: i16) -> Vec<(Date, String)> {
        let mut out = Vec::new();
        for h in &self.holidays {
            for y in [year.checked_sub(1), Some(year)].into_iter().flatten() {
                if let Some(d) = h.observed(y).filter(|d| d.year() == year) {
                    out.push((d, h.name.clone()));
                }
            }
        }
        out.sort_by_key(|(d, _)| *d);
        out
    }

    /// Whether people work on this local date (a working weekday that is not a holiday).
    pub fn is_business_day(&self, date: Date) -> bool {
        self.working_days[weekday_index(date.weekday())] && !self.observed_in(date.year()).contains(&date)
    }

    /// The holiday dates of a year (cached).
    fn observed_in(&self, year: i16) -> Arc<HashSet<Date>> {
        if let Ok(map) = self.observed.lock()
            && let Some(set) = map.get(&year)
        {
            return set.clone();
        }
        let set: Arc<HashSet<Date>> = Arc::new(self.holidays(year).into_iter().map(|(d, _)| d).collect());
        if let Ok(mut map) = self.observed.lock() {
            map.insert(year, set.clone());
        }
        set
    }

    /// The instant `d` after `start`.
    pub fn add(&self, start: Timestamp, d: Duration) -> Timestamp {
        match d.unit {
            Unit::BusinessDays => {
                let day = self.local_date(start);
                let found = if d.amount == 0 {
                    self.business_day_from(day, 1, true)
                } else {
                    self.business_day_from(day, d.amount, false)
                };
                found.map_or(Timestamp::MAX, |date| self.close_of(date))
            }
            Unit::BusinessHours => self.add_working_time(start, SignedDuration::from_hours(i64::from(d.amount))),
            Unit::Days => self.shift_local_days(start, i64::from(d.amount)),
            Unit::Hours | Unit::Minutes => start.saturating_add(d.as_exact()).unwrap_or(Timestamp::MAX),
        }
    }

    /// The instant `d` before `end`.
    pub fn sub(&self, end: Timestamp, d: Duration) -> Timestamp {
        match d.unit {
            Unit::BusinessDays => {
                let day = self.local_date(end);
                let found = if d.amount == 0 {
                    self.business_day_back(day, 1, true)
                } else {
                    self.business_day_back(day, d.amount, false)
                };
                found.map_or(Timestamp::MIN, |date| self.close_of(date))
            }
            Unit::BusinessHours => self.sub_working_time(end, SignedDuration::from_hours(i64::from(d.amount))),
            Unit::Days => self.shift_local_days(end, -i64::from(d.amount)),
            Unit::Hours | Unit::Minutes => end.saturating_sub(d.as_exact()).unwrap_or(Timestamp::MIN),
        }
    }

    /// `t` moved by an [`Offset`]: forward with [`Calendar::add`], backward with [`Calendar::sub`].
    pub fn offset(&self, t: Timestamp, offset: Offset) -> Timestamp {
        if offset.before { self.sub(t, offset.duration) } else { self.add(t, offset.duration) }
    }

    /// Working time inside working hours between two instants (zero when `to <= from`), counted
    /// over at most [`MEASURE_LIMIT_DAYS`] days from `from`: no duration reaches further, and a
    /// deadline that never falls (`Timestamp::MAX`) would otherwise be walked to the year 9999.
    pub fn working_time_between(&self, from: Timestamp, to: Timestamp) -> SignedDuration {
        let mut total = SignedDuration::ZERO;
        if to <= from {
            return total;
        }
        let mut date = self.local_date(from);
        let last = self.local_date(to);
        for _ in 0..=MEASURE_LIMIT_DAYS {
            if date > last {
                break;
            }
            if self.is_business_day(date) {
                let open = self.at(date, self.opens).max(from);
                let close = self.at(date, self.closes).min(to);
                if close > open {
                    total += close.duration_since(open);
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        total
    }

    /// Business days from `from`'s local day (not counted) through `to`'s local day; zero when
    /// `to`'s day is not after `from`'s.
    pub fn business_days_between(&self, from: Timestamp, to: Timestamp) -> i64 {
        let (mut date, last) = (self.local_date(from), self.local_date(to));
        let mut n = 0;
        while date < last {
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
            if self.is_business_day(date) {
                n += 1;
            }
        }
        n
    }

    /// `t` moved later by `amount` of working time. A zero amount yields the first working
    /// instant at or after `t`; landing exactly on a close yields that close, not the next open.
    pub fn add_working_time(&self, t: Timestamp, amount: SignedDuration) -> Timestamp {
        let mut left = amount.max(SignedDuration::ZERO);
        let mut date = self.local_date(t);
        let mut cursor = t;
        for _ in 0..SEARCH_LIMIT_DAYS {
            if self.is_business_day(date) {
                let open = self.at(date, self.opens).max(cursor);
                let close = self.at(date, self.closes);
                if open <= close {
                    let avail = close.duration_since(open);
                    if avail >= left {
                        return open.saturating_add(left).unwrap_or(close);
                    }
                    left -= avail;
                }
            }
            let Ok(next) = date.tomorrow() else { break };
            date = next;
            cursor = self.at(date, Time::midnight());
        }
        Timestamp::MAX
    }

    /// `t` moved earlier by `amount` of working time (the mirror of [`Calendar::add_working_time`]).
    pub fn sub_working_time(&self, t: Timestamp, amount: SignedDuration) -> Timestamp {
        let mut left = amount.max(SignedDuration::ZERO);
        let mut date = self.local_date(t);
        let mut cursor = t;
        for _ in 0..SEARCH_LIMIT_DAYS {
            if self.is_business_day(date) {
                let close = self.at(date, self.closes).min(cursor);
                let open = self.at(date, self.opens);
                if close >= open {
                    let avail = close.duration_since(open);
                    if avail >= left {
                        return close.saturating_sub(left).unwrap_or(open);
                    }
                    left -= avail;
                }
            }
            let Ok(prev) = date.yesterday() else { break };
            cursor = self.at(date, Time::midnight());
            date = prev;
        }
        Timestamp::MIN
    }

    /// The local calendar date of an instant.
    pub fn local_date(&self, t: Timestamp) -> Date {
        t.to_zoned(self.zone.clone()).date()
    }

    /// Close of business on a local date. Also how a date-only anchor (a form's date field)
    /// becomes an instant: "by 15 June" means by the close of business on 15 June.
    pub fn close_of(&self, date: Date) -> Timestamp {
        self.at(date, self.closes)
    }

    /// Opening of business on a local date.
    pub fn open_of(&self, date: Date) -> Timestamp {
        self.at(date, self.opens)
    }

    /// The `n`th business day after `day` (or on/after it when `inclusive`); `None` past the
    /// range of time or further than [`Duration::longest`] counts.
    fn business_day_from(&self, day: Date, n: u32, inclusive: bool) -> Option<Date> {
        if n > Duration::longest(Unit::BusinessDays).amount {
            return None;
        }
        let mut date = day;
        let mut left = n;
        if inclusive && self.is_business_day(date) {
            left -= 1;
        }
        let mut scanned = 0;
        while left > 0 {
            date = date.tomorrow().ok()?;
            if self.is_business_day(date) {
                left -= 1;
                scanned = 0;
            } else {
                scanned += 1;
                if scanned > SEARCH_LIMIT_DAYS {
                    return None;
                }
            }
        }
        Some(date)
    }

    /// The `n`th business day before `day` (or on/before it when `inclusive`); `None` as for
    /// [`Calendar::business_day_from`].
    fn business_day_back(&self, day: Date, n: u32, inclusive: bool) -> Option<Date> {
        if n > Duration::longest(Unit::BusinessDays).amount {
            return None;
        }
        let mut date = day;
        let mut left = n;
        if inclusive && self.is_business_day(date) {
            left -= 1;
        }
        let mut scanned = 0;
        while left > 0 {
            date = date.yesterday().ok()?;
            if self.is_business_day(date) {
                left -= 1;
                scanned = 0;
            } else {
                scanned += 1;
                if scanned > SEARCH_LIMIT_DAYS {
                    return None;
                }
            }
        }
        Some(date)
    }

    fn at(&self, date: Date, time: Time) -> Timestamp {
        date.to_datetime(time).to_zoned(self.zone.clone()).map(|z| z.timestamp()).unwrap_or(Timestamp::MAX)
    }

    /// `t` moved by `days` calendar days, the same wall-clock time; past the range of time,
    /// its end (or its start, backward).
    fn shift_local_days(&self, t: Timestamp, days: i64) -> Timestamp {
        let z: Zoned = t.to_zoned(self.zone.clone());
        let moved = jiff::Span::new().try_days(days).and_then(|span| z.checked_add(span));
        match moved {
            Ok(z) => z.timestamp(),
            Err(_) if days < 0 => Timestamp::MIN,
            Err(_) => Timestamp::MAX,
        }
    }
}

fn weekday_index(w: Weekday) -> usize {
    usize::try_from(w.to_monday_zero_offset()).unwrap_or(0)
}
