//! Holiday rules that hold for any year: a fixed day of a month, the nth (or last) weekday of a
//! month, an offset from Easter Sunday, or a one-off date; optionally moved to the following
//! Monday (Colombia's Ley Emiliani), limited to a span of years, or repeated every N years.

use jiff::civil::{Date, Weekday};

use super::easter::easter_sunday;

/// Which day a rule falls on in a given year, before any move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolidayDate {
    /// The same month and day every year, e.g. 16 September.
    Fixed { month: i8, day: i8 },
    /// The `nth` `weekday` of `month`; `nth` is 1–5, or -1 for the last one.
    NthWeekday { month: i8, weekday: Weekday, nth: i8 },
    /// Days from Easter Sunday: -3 is Jueves Santo, -2 Viernes Santo.
    Easter { offset: i16 },
    /// A single date.
    Once(Date),
}

/// Where a holiday is observed when it does not fall on the right day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Move {
    /// Observed where it falls.
    #[default]
    None,
    /// Observed on the next Monday unless it already falls on a Monday (Ley 51 de 1983).
    NextMonday,
}

/// A named holiday rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// The Spanish name, e.g. `Natalicio de Benito Juárez`.
    pub name: String,
    pub date: HolidayDate,
    pub moved: Move,
    /// First year the rule applies (inclusive), e.g. the year a law took effect.
    pub from_year: Option<i16>,
    /// Last year the rule applies (inclusive).
    pub until_year: Option<i16>,
    /// Applies only every this many years counted from `from_year` (e.g. 6 for Mexico's
    /// presidential transition).
    pub every: Option<u8>,
}

impl Holiday {
    /// A rule with no move and no year limits.
    pub fn new(name: &str, date: HolidayDate) -> Holiday {
        Holiday { name: name.to_string(), date, moved: Move::None, from_year: None, until_year: None, every: None }
    }

    /// The date this rule is observed on for `year` (the rule's year; a move may in principle
    /// carry it into the next year), or `None` when it does not apply that year.
    pub fn observed(&self, year: i16) -> Option<Date> {
        if !self.applies(year) {
            return None;
        }
        let date = match self.date {
            HolidayDate::Fixed { month, day } => Date::new(year, month, day).ok()?,
            HolidayDate::NthWeekday { month, weekday, nth } => {
                Date::new(year, month, 1).ok()?.nth_weekday_of_month(nth, weekday).ok()?
            }
            HolidayDate::Easter { offset } => {
                easter_sunday(year)?.checked_add(jiff::Span::new().days(i64::from(offset))).ok()?
            }
            HolidayDate::Once(d) if d.year() == year => d,
            HolidayDate::Once(_) => return None,
        };
        match self.moved {
            Move::None => Some(date),
            Move::NextMonday if date.weekday() == Weekday::Monday => Some(date),
            Move::NextMonday => date.nth_weekday(1, Weekday::Monday).ok(),
        }
    }

    /// Whether this rule is observed on `date`.
    pub fn falls_on(&self, date: Date) -> bool {
        let year = date.year();
        self.observed(year) == Some(date)
            || (self.moved != Move::None && year > i16::MIN && self.observed(year - 1) == Some(date))
    }

    fn applies(&self, year: i16) -> bool {
        if self.from_year.is_some_and(|from| year < from) || self.until_year.is_some_and(|until| year > until) {
            return false;
        }
        match (self.every, self.from_year) {
            (Some(every), Some(from)) if every > 0 => (i32::from(year) - i32::from(from)) % i32::from(every) == 0,
            (Some(_), _) => false,
            (None, _) => true,
        }
    }
}

/// Reads a weekday as process owners write it: `mon`, `monday`, `lun`, `lunes`, `mié`, ….
pub fn parse_weekday(text: &str) -> Option<Weekday> {
    let t = text.trim().to_lowercase();
    let w = match t.as_str() {
        "mon" | "monday" | "lun" | "lunes" => Weekday::Monday,
        "tue" | "tuesday" | "mar" | "martes" => Weekday::Tuesday,
        "wed" | "wednesday" | "mie" | "mié" | "miercoles" | "miércoles" => Weekday::Wednesday,
        "thu" | "thursday" | "jue" | "jueves" => Weekday::Thursday,
        "fri" | "friday" | "vie" | "viernes" => Weekday::Friday,
        "sat" | "saturday" | "sab" | "sáb" | "sabado" | "sábado" => Weekday::Saturday,
        "sun" | "sunday" | "dom" | "domingo" => Weekday::Sunday,
        _ => return None,
    };
    Some(w)
}

/// The short weekday names, for hints.
pub const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn rule(date: HolidayDate) -> Holiday {
        Holiday::new("x", date)
    }

    #[test]
    fn nth_and_last_weekday() {
        let third_monday_march = rule(HolidayDate::NthWeekday { month: 3, weekday: Weekday::Monday, nth: 3 });
        assert_eq!(third_monday_march.observed(2026), Some(date(2026, 3, 16)));
        assert_eq!(third_monday_march.observed(2024), Some(date(2024, 3, 18)));
        let last_monday_may = rule(HolidayDate::NthWeekday { month: 5, weekday: Weekday::Monday, nth: -1 });
        assert_eq!(last_monday_may.observed(2026), Some(date(2026, 5, 25)));
        let fifth_monday_feb = rule(HolidayDate::NthWeekday { month: 2, weekday: Weekday::Monday, nth: 5 });
        assert_eq!(fifth_monday_feb.observed(2026), None);
    }

    #[test]
    fn next_monday_move_keeps_mondays_and_can_cross_the_year() {
        let mut r = rule(HolidayDate::Fixed { month: 1, day: 6 });
        r.moved = Move::NextMonday;
        assert_eq!(r.observed(2025), Some(date(2025, 1, 6))); // a Monday: stays
        assert_eq!(r.observed(2024), Some(date(2024, 1, 8))); // a Saturday: next Monday
        assert_eq!(r.observed(2026), Some(date(2026, 1, 12))); // a Tuesday: next Monday
        let mut eve = rule(HolidayDate::Fixed { month: 12, day: 31 });
        eve.moved = Move::NextMonday;
        assert_eq!(eve.observed(2026), Some(date(2027, 1, 4)));
        assert!(eve.falls_on(date(2027, 1, 4)));
        assert!(!eve.falls_on(date(2026, 12, 31)));
    }

    #[test]
    fn year_limits_and_periods() {
        let mut r = rule(HolidayDate::Fixed { month: 10, day: 1 });
        r.from_year = Some(2024);
        r.every = Some(6);
        assert_eq!(r.observed(2024), Some(date(2024, 10, 1)));
        assert_eq!(r.observed(2030), Some(date(2030, 10, 1)));
        assert_eq!(r.observed(2026), None);
        assert_eq!(r.observed(2018), None);
        r.until_year = Some(2029);
        assert_eq!(r.observed(2030), None);
        let leap = rule(HolidayDate::Fixed { month: 2, day: 29 });
        assert_eq!(leap.observed(2025), None);
        assert_eq!(leap.observed(2028), Some(date(2028, 2, 29)));
    }

    #[test]
    fn easter_offsets_and_one_offs() {
        assert_eq!(rule(HolidayDate::Easter { offset: -2 }).observed(2026), Some(date(2026, 4, 3)));
        let once = rule(HolidayDate::Once(date(2025, 5, 2)));
        assert_eq!(once.observed(2025), Some(date(2025, 5, 2)));
        assert_eq!(once.observed(2026), None);
    }

    #[test]
    fn weekday_names_in_english_and_spanish() {
        assert_eq!(parse_weekday("Mon"), Some(Weekday::Monday));
        assert_eq!(parse_weekday("miércoles"), Some(Weekday::Wednesday));
        assert_eq!(parse_weekday("sáb"), Some(Weekday::Saturday));
        assert_eq!(parse_weekday("mond"), None);
    }
}
