//! Easter Sunday in the Gregorian calendar, the anchor of the movable holidays
//! (Jueves y Viernes Santo, and Colombia's Ascensión, Corpus Christi and Sagrado Corazón).

use jiff::civil::Date;

/// Easter Sunday of `year` (anonymous Gregorian algorithm, Meeus/Jones/Butcher).
/// `None` only when the date would fall outside jiff's range (years below 1 or above 9999).
pub fn easter_sunday(year: i16) -> Option<Date> {
    if year < 1 {
        return None;
    }
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn known_easter_sundays() {
        // Published dates, including the extremes 22 March (2285) and 25 April (2038).
        for (y, m, d) in [
            (1818, 3, 22),
            (1943, 4, 25),
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2030, 4, 21),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(y), Some(date(y, m, d)), "Easter {y}");
        }
        assert_eq!(easter_sunday(0), None);
    }

    #[test]
    fn always_a_sunday_between_22_march_and_25_april() {
        for y in 1583..=3000 {
            let e = easter_sunday(y).unwrap_or_else(|| panic!("no Easter in {y}"));
            assert_eq!(e.weekday(), jiff::civil::Weekday::Sunday);
            assert!(e >= date(y, 3, 22) && e <= date(y, 4, 25), "{e}");
        }
    }
}
