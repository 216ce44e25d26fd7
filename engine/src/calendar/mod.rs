//! Business time: durations in business days / business hours / calendar time, counted on a
//! [`Calendar`] (time zone, working days, working hours, holidays).
//!
//! Semantics (see `docs/sla.md`): `N business days` from an instant ends at the close of business
//! of the Nth business day after that instant's local day (the start day is never counted);
//! `N business hours` counts only time inside working hours; `N days` / `N hours` are calendar
//! time. Business days and business hours are distinct units and are never converted into one
//! another. All arithmetic happens in the calendar's zone; results are UTC [`Timestamp`]s.

mod duration;
mod sla;

pub use duration::{Duration, DurationError, Unit};
pub use sla::{SlaClock, SlaState, Warn};

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

/// A business calendar: where, when people work, and which days they do not.
#[derive(Debug, Clone)]
pub struct Calendar {
    name: String,
    zone: TimeZone,
    working_days: [bool; 7],
    opens: Time,
    closes: Time,
}

impl Calendar {
    /// Monday to Friday, 09:00–18:00, no holidays: the calendar used where no real one is given.
    pub fn weekends_only(name: &str, zone: &str) -> Result<Calendar, jiff::Error> {
        Ok(Calendar {
            name: name.to_string(),
            zone: TimeZone::get(zone)?,
            working_days: [true, true, true, true, true, false, false],
            opens: Time::constant(9, 0, 0, 0),
            closes: Time::constant(18, 0, 0, 0),
        })
    }

    /// The calendar's name, e.g. `mx`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The IANA zone every local computation happens in.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// Whether people work on this local date (a working weekday that is not a holiday).
    pub fn is_business_day(&self, date: Date) -> bool {
        self.working_days[weekday_index(date.weekday())]
    }

    /// The instant `d` after `start`.
    pub fn add(&self, start: Timestamp, d: Duration) -> Timestamp {
        match d.unit {
            Unit::BusinessDays => {
                let mut date = self.local_date(start);
                let mut left = d.amount;
                while left > 0 {
                    date = next_day(date);
                    if self.is_business_day(date) {
                        left -= 1;
                    }
                }
                self.close_of(date)
            }
            Unit::BusinessHours => self.add_working_time(start, SignedDuration::from_hours(i64::from(d.amount))),
            Unit::Days => self.shift_local_days(start, i64::from(d.amount)),
            Unit::Hours | Unit::Minutes => start.saturating_add(d.as_exact()).unwrap_or(start),
        }
    }

    /// The instant `d` before `end`.
    pub fn sub(&self, end: Timestamp, d: Duration) -> Timestamp {
        match d.unit {
            Unit::BusinessDays => {
                let mut date = self.local_date(end);
                let mut left = d.amount;
                while left > 0 {
                    date = prev_day(date);
                    if self.is_business_day(date) {
                        left -= 1;
                    }
                }
                self.close_of(date)
            }
            Unit::BusinessHours => self.sub_working_time(end, SignedDuration::from_hours(i64::from(d.amount))),
            Unit::Days => self.shift_local_days(end, -i64::from(d.amount)),
            Unit::Hours | Unit::Minutes => end.saturating_sub(d.as_exact()).unwrap_or(end),
        }
    }

    /// Working time inside working hours between two instants (zero when `to <= from`).
    pub fn working_time_between(&self, from: Timestamp, to: Timestamp) -> SignedDuration {
        let mut total = SignedDuration::ZERO;
        if to <= from {
            return total;
        }
        let mut date = self.local_date(from);
        let last = self.local_date(to);
        while date <= last {
            if self.is_business_day(date) {
                let open = self.at(date, self.opens).max(from);
                let close = self.at(date, self.closes).min(to);
                if close > open {
                    total += close.duration_since(open);
                }
            }
            date = next_day(date);
        }
        total
    }

    /// Business days from `from`'s local day (not counted) through `to`'s local day.
    pub fn business_days_between(&self, from: Timestamp, to: Timestamp) -> i64 {
        let (mut date, last) = (self.local_date(from), self.local_date(to));
        let mut n = 0;
        while date < last {
            date = next_day(date);
            if self.is_business_day(date) {
                n += 1;
            }
        }
        n
    }

    /// `t` moved later by `amount` of working time.
    pub fn add_working_time(&self, t: Timestamp, amount: SignedDuration) -> Timestamp {
        let mut left = amount;
        let mut date = self.local_date(t);
        let mut cursor = t;
        loop {
            if self.is_business_day(date) {
                let open = self.at(date, self.opens).max(cursor);
                let close = self.at(date, self.closes);
                if close > open {
                    let avail = close.duration_since(open);
                    if avail >= left {
                        return open.saturating_add(left).unwrap_or(close);
                    }
                    left -= avail;
                }
            }
            date = next_day(date);
            cursor = self.at(date, Time::midnight());
        }
    }

    /// `t` moved earlier by `amount` of working time.
    pub fn sub_working_time(&self, t: Timestamp, amount: SignedDuration) -> Timestamp {
        let mut left = amount;
        let mut date = self.local_date(t);
        let mut cursor = t;
        loop {
            if self.is_business_day(date) {
                let close = self.at(date, self.closes).min(cursor);
                let open = self.at(date, self.opens);
                if close > open {
                    let avail = close.duration_since(open);
                    if avail >= left {
                        return close.saturating_sub(left).unwrap_or(open);
                    }
                    left -= avail;
                }
            }
            date = prev_day(date);
            cursor = self.at(next_day(date), Time::midnight());
        }
    }

    /// The local calendar date of an instant.
    pub fn local_date(&self, t: Timestamp) -> Date {
        t.to_zoned(self.zone.clone()).date()
    }

    /// Close of business on a local date.
    pub fn close_of(&self, date: Date) -> Timestamp {
        self.at(date, self.closes)
    }

    fn at(&self, date: Date, time: Time) -> Timestamp {
        date.to_datetime(time)
            .to_zoned(self.zone.clone())
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MAX)
    }

    fn shift_local_days(&self, t: Timestamp, days: i64) -> Timestamp {
        let z: Zoned = t.to_zoned(self.zone.clone());
        z.checked_add(days.days()).map(|z| z.timestamp()).unwrap_or(t)
    }
}

fn weekday_index(w: Weekday) -> usize {
    usize::try_from(w.to_monday_zero_offset()).unwrap_or(0)
}

fn next_day(d: Date) -> Date {
    d.tomorrow().unwrap_or(d)
}

fn prev_day(d: Date) -> Date {
    d.yesterday().unwrap_or(d)
}
