//! `N unit` durations as process owners write them: `2 business days`, `4 business hours`,
//! `90 days`, `36 hours`, `30 minutes` — or in Spanish, the language of the manuals:
//! `2 días hábiles`, `4 horas hábiles`, `90 días`, `36 horas`, `30 minutos` (singular or plural,
//! with or without accents).

use std::fmt;

use jiff::SignedDuration;

/// The unit of a [`Duration`]. Business days and business hours are distinct units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    BusinessDays,
    BusinessHours,
    Days,
    Hours,
    Minutes,
}

/// An amount of a [`Unit`], e.g. `2 business days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Duration {
    pub amount: u32,
    pub unit: Unit,
}

/// Why a duration text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("a duration needs an amount and a unit, e.g. `2 business days`")]
    Shape,
    #[error("`{0}` is not a whole number")]
    Amount(String),
    #[error("unknown duration unit `{0}`")]
    Unit(String),
    #[error("`{amount}` is more than {max} (about 100 years)")]
    TooLong { amount: String, max: Duration },
}

impl Duration {
    pub const fn new(amount: u32, unit: Unit) -> Duration {
        Duration { amount, unit }
    }

    /// Exact length for calendar-time units (hours, minutes); zero for the others.
    pub fn as_exact(&self) -> SignedDuration {
        let n = i64::from(self.amount);
        match self.unit {
            Unit::Hours => SignedDuration::from_hours(n),
            Unit::Minutes => SignedDuration::from_mins(n),
            _ => SignedDuration::ZERO,
        }
    }

    /// The longest duration of a unit accepted: about 100 years (36,600 days; hours as if every
    /// hour of them were working time). A deadline further off is a typo, and counting day by
    /// day towards it would keep a transition busy for seconds.
    pub const fn longest(unit: Unit) -> Duration {
        let amount = match unit {
            Unit::BusinessDays | Unit::Days => 36_600,
            Unit::BusinessHours | Unit::Hours => 36_600 * 24,
            Unit::Minutes => 36_600 * 24 * 60,
        };
        Duration { amount, unit }
    }

    /// Reads `N unit`; words are case-insensitive, singular or plural (`1 business day`), in
    /// English or Spanish (`1 día hábil`, accents optional). The amount is at most
    /// [`Duration::longest`] of its unit.
    pub fn parse(text: &str) -> Result<Duration, DurationError> {
        let mut words = text.split_whitespace();
        let amount = words.next().ok_or(DurationError::Shape)?;
        if !amount.chars().all(|c| c.is_ascii_digit()) {
            return Err(DurationError::Amount(amount.to_string()));
        }
        let unit_words: Vec<String> = words.map(str::to_lowercase).collect();
        if unit_words.is_empty() {
            return Err(DurationError::Shape);
        }
        let words_written = unit_words.join(" ");
        let unit = match without_accents(&words_written).as_str() {
            "business day" | "business days" | "dia habil" | "dias habiles" => Unit::BusinessDays,
            "business hour" | "business hours" | "hora habil" | "horas habiles" => Unit::BusinessHours,
            "day" | "days" | "dia" | "dias" => Unit::Days,
            "hour" | "hours" | "hora" | "horas" => Unit::Hours,
            "minute" | "minutes" | "minuto" | "minutos" => Unit::Minutes,
            _ => return Err(DurationError::Unit(words_written)),
        };
        let max = Duration::longest(unit);
        match amount.parse::<u32>() {
            Ok(amount) if amount <= max.amount => Ok(Duration { amount, unit }),
            _ => Err(DurationError::TooLong { amount: amount.to_string(), max }),
        }
    }

    /// The unit words as written in definitions, for hints.
    pub const UNITS: &'static [&'static str] = &[
        "business days",
        "business hours",
        "days",
        "hours",
        "minutes",
        "días hábiles",
        "horas hábiles",
        "días",
        "horas",
        "minutos",
    ];
}

/// Lower-case Spanish vowels without their accents (`hábiles` → `habiles`).
fn without_accents(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' | 'ü' => 'u',
            other => other,
        })
        .collect()
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = self.amount == 1;
        let unit = match (self.unit, one) {
            (Unit::BusinessDays, true) => "business day",
            (Unit::BusinessDays, false) => "business days",
            (Unit::BusinessHours, true) => "business hour",
            (Unit::BusinessHours, false) => "business hours",
            (Unit::Days, true) => "day",
            (Unit::Days, false) => "days",
            (Unit::Hours, true) => "hour",
            (Unit::Hours, false) => "hours",
            (Unit::Minutes, true) => "minute",
            (Unit::Minutes, false) => "minutes",
        };
        write!(f, "{} {unit}", self.amount)
    }
}

/// A duration with a direction: `2 business days` (after) or `90 days before`, as deadlines
/// relative to an anchor are written (`10 business days before data.fecha_capacitacion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Offset {
    pub duration: Duration,
    /// Counted backward from the anchor.
    pub before: bool,
}

impl Offset {
    /// Reads `N unit`, `N unit after` or `N unit before`.
    pub fn parse(text: &str) -> Result<Offset, DurationError> {
        let trimmed = text.trim();
        let (body, before) = match trimmed.rsplit_once(char::is_whitespace) {
            Some((body, last)) if last.eq_ignore_ascii_case("before") => (body, true),
            Some((body, last)) if last.eq_ignore_ascii_case("after") => (body, false),
            _ => (trimmed, false),
        };
        Ok(Offset { duration: Duration::parse(body)?, before })
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.before { write!(f, "{} before", self.duration) } else { write!(f, "{}", self.duration) }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_singular_and_plural() {
        assert_eq!(Duration::parse("2 business days"), Ok(Duration::new(2, Unit::BusinessDays)));
        assert_eq!(Duration::parse("1 Business Day"), Ok(Duration::new(1, Unit::BusinessDays)));
        assert_eq!(Duration::parse("90 days"), Ok(Duration::new(90, Unit::Days)));
        assert_eq!(Duration::parse("2 fortnights"), Err(DurationError::Unit("fortnights".into())));
        assert_eq!(Duration::parse("two days"), Err(DurationError::Amount("two".into())));
    }

    #[test]
    fn parses_spanish_units_with_or_without_accents() {
        assert_eq!(Duration::parse("2 días hábiles"), Ok(Duration::new(2, Unit::BusinessDays)));
        assert_eq!(Duration::parse("1 dia habil"), Ok(Duration::new(1, Unit::BusinessDays)));
        assert_eq!(Duration::parse("1 Día Hábil"), Ok(Duration::new(1, Unit::BusinessDays)));
        assert_eq!(Duration::parse("4 horas hábiles"), Ok(Duration::new(4, Unit::BusinessHours)));
        assert_eq!(Duration::parse("90 días"), Ok(Duration::new(90, Unit::Days)));
        assert_eq!(Duration::parse("36 horas"), Ok(Duration::new(36, Unit::Hours)));
        assert_eq!(Duration::parse("1 hora"), Ok(Duration::new(1, Unit::Hours)));
        assert_eq!(Duration::parse("30 minutos"), Ok(Duration::new(30, Unit::Minutes)));
        assert_eq!(Duration::parse("2 semanas"), Err(DurationError::Unit("semanas".into())));
        assert_eq!(Offset::parse("10 días hábiles before").map(|o| o.before), Ok(true));
    }

    #[test]
    fn amounts_run_up_to_about_a_hundred_years() {
        assert_eq!(Duration::parse("36600 days"), Ok(Duration::new(36_600, Unit::Days)));
        assert_eq!(Duration::parse("52704000 minutos"), Ok(Duration::new(52_704_000, Unit::Minutes)));
        for (text, amount) in [
            ("36601 días", "36601"),
            ("99999999999 días", "99999999999"),
            ("4000000000 business days", "4000000000"),
            ("878401 horas hábiles", "878401"),
            ("99999999999999999999999999 minutes", "99999999999999999999999999"),
        ] {
            match Duration::parse(text) {
                Err(DurationError::TooLong { amount: a, .. }) => assert_eq!(a, amount),
                other => panic!("{text}: {other:?}"),
            }
        }
        let err = Duration::parse("99999999999 días").unwrap_err();
        assert_eq!(err.to_string(), "`99999999999` is more than 36600 days (about 100 years)");
    }

    #[test]
    fn parses_offsets_before_and_after() {
        let before = Offset::parse("90 days before").unwrap();
        assert_eq!(before, Offset { duration: Duration::new(90, Unit::Days), before: true });
        assert_eq!(before.to_string(), "90 days before");
        let after = Offset::parse("10 Business Days after").unwrap();
        assert_eq!(after, Offset { duration: Duration::new(10, Unit::BusinessDays), before: false });
        assert!(!Offset::parse("2 business days").unwrap().before);
        assert_eq!(Offset::parse("before"), Err(DurationError::Amount("before".into())));
    }
}
