//! Every holiday of 2024–2027 for the shipped calendars, written out by hand from the official
//! lists (LFT art. 74 + Semana Santa for mx, Ley 51 de 1983 for co, D. Leg. 713 for pe), so a
//! wrong rule in calendars/*.yaml fails here.

use jiff::civil::{Date, date};
use tramite_engine::calendar::{Calendar, builtin};

fn cal(name: &str) -> Calendar {
    builtin(name).unwrap()
}

/// (month, day, name) for one year.
fn check(name: &str, year: i16, expected: &[(i8, i8, &str)]) {
    let got = cal(name).holidays(year);
    let want: Vec<(Date, String)> = expected.iter().map(|(m, d, n)| (date(year, *m, *d), (*n).to_string())).collect();
    assert_eq!(got, want, "{name} {year}");
}

const MX_FIXED: [(i8, i8, &str); 4] =
    [(1, 1, "Año Nuevo"), (5, 1, "Día del Trabajo"), (9, 16, "Día de la Independencia"), (12, 25, "Navidad")];

fn mx_year(mondays: [(i8, i8); 3], holy_thursday: (i8, i8), transition: bool) -> Vec<(i8, i8, &'static str)> {
    let mut v = vec![
        MX_FIXED[0],
        (mondays[0].0, mondays[0].1, "Día de la Constitución"),
        (mondays[1].0, mondays[1].1, "Natalicio de Benito Juárez"),
        (holy_thursday.0, holy_thursday.1, "Jueves Santo"),
        (holy_thursday.0, holy_thursday.1 + 1, "Viernes Santo"),
        MX_FIXED[1],
        MX_FIXED[2],
    ];
    if transition {
        v.push((10, 1, "Transmisión del Poder Ejecutivo Federal"));
    }
    v.push((mondays[2].0, mondays[2].1, "Día de la Revolución Mexicana"));
    v.push(MX_FIXED[3]);
    v
}

#[test]
fn mexico_2024_to_2027() {
    check("mx", 2024, &mx_year([(2, 5), (3, 18), (11, 18)], (3, 28), true));
    check("mx", 2025, &mx_year([(2, 3), (3, 17), (11, 17)], (4, 17), false));
    check("mx", 2026, &mx_year([(2, 2), (3, 16), (11, 16)], (4, 2), false));
    check("mx", 2027, &mx_year([(2, 1), (3, 15), (11, 15)], (3, 25), false));
}

#[test]
fn mexico_presidential_transition_every_six_years() {
    let mx = cal("mx");
    assert_eq!(mx.holiday_on(date(2030, 10, 1)), Some("Transmisión del Poder Ejecutivo Federal"));
    assert_eq!(mx.holiday_on(date(2036, 10, 1)), Some("Transmisión del Poder Ejecutivo Federal"));
    assert_eq!(mx.holiday_on(date(2018, 12, 1)), Some("Transmisión del Poder Ejecutivo Federal"));
    assert_eq!(mx.holiday_on(date(2018, 10, 1)), None);
    assert_eq!(mx.holiday_on(date(2024, 12, 1)), None);
    assert_eq!(mx.holiday_on(date(2026, 10, 1)), None);
    // Before the 2006 reform the three Monday holidays were fixed dates.
    assert_eq!(mx.holiday_on(date(2005, 3, 21)), Some("Natalicio de Benito Juárez"));
    assert_eq!(mx.holiday_on(date(2006, 3, 20)), Some("Natalicio de Benito Juárez"));
    assert_eq!(mx.holiday_on(date(2006, 3, 21)), None);
    // Not in mx (documented choice): 2 November and 12 December.
    assert!(mx.is_business_day(date(2026, 11, 2)));
    assert!(mx.is_business_day(date(2025, 12, 12)));
}

#[test]
fn colombia_2024_to_2027() {
    check(
        "co",
        2024,
        &[
            (1, 1, "Año Nuevo"),
            (1, 8, "Día de los Reyes Magos"),
            (3, 25, "Día de San José"),
            (3, 28, "Jueves Santo"),
            (3, 29, "Viernes Santo"),
            (5, 1, "Día del Trabajo"),
            (5, 13, "Ascensión del Señor"),
            (6, 3, "Corpus Christi"),
            (6, 10, "Sagrado Corazón de Jesús"),
            (7, 1, "San Pedro y San Pablo"),
            (7, 20, "Día de la Independencia"),
            (8, 7, "Batalla de Boyacá"),
            (8, 19, "Asunción de la Virgen"),
            (10, 14, "Día de la Raza"),
            (11, 4, "Todos los Santos"),
            (11, 11, "Independencia de Cartagena"),
            (12, 8, "Inmaculada Concepción"),
            (12, 25, "Navidad"),
        ],
    );
    check(
        "co",
        2025,
        &[
            (1, 1, "Año Nuevo"),
            (1, 6, "Día de los Reyes Magos"),
            (3, 24, "Día de San José"),
            (4, 17, "Jueves Santo"),
            (4, 18, "Viernes Santo"),
            (5, 1, "Día del Trabajo"),
            (6, 2, "Ascensión del Señor"),
            (6, 23, "Corpus Christi"),
            // Two holidays on one Monday: San Pedro (29 June, a Sunday) and Sagrado Corazón.
            (6, 30, "San Pedro y San Pablo"),
            (6, 30, "Sagrado Corazón de Jesús"),
            (7, 20, "Día de la Independencia"),
            (8, 7, "Batalla de Boyacá"),
            (8, 18, "Asunción de la Virgen"),
            (10, 13, "Día de la Raza"),
            (11, 3, "Todos los Santos"),
            (11, 17, "Independencia de Cartagena"),
            (12, 8, "Inmaculada Concepción"),
            (12, 25, "Navidad"),
        ],
    );
    check(
        "co",
        2026,
        &[
            (1, 1, "Año Nuevo"),
            (1, 12, "Día de los Reyes Magos"),
            (3, 23, "Día de San José"),
            (4, 2, "Jueves Santo"),
            (4, 3, "Viernes Santo"),
            (5, 1, "Día del Trabajo"),
            (5, 18, "Ascensión del Señor"),
            (6, 8, "Corpus Christi"),
            (6, 15, "Sagrado Corazón de Jesús"),
            (6, 29, "San Pedro y San Pablo"),
            (7, 13, "Nuestra Señora del Rosario de Chiquinquirá"),
            (7, 20, "Día de la Independencia"),
            (8, 7, "Batalla de Boyacá"),
            (8, 17, "Asunción de la Virgen"),
            (10, 12, "Día de la Raza"),
            (11, 2, "Todos los Santos"),
            (11, 16, "Independencia de Cartagena"),
            (12, 8, "Inmaculada Concepción"),
            (12, 25, "Navidad"),
        ],
    );
    check(
        "co",
        2027,
        &[
            (1, 1, "Año Nuevo"),
            (1, 11, "Día de los Reyes Magos"),
            (3, 22, "Día de San José"),
            (3, 25, "Jueves Santo"),
            (3, 26, "Viernes Santo"),
            (5, 1, "Día del Trabajo"),
            (5, 10, "Ascensión del Señor"),
            (5, 31, "Corpus Christi"),
            (6, 7, "Sagrado Corazón de Jesús"),
            (7, 5, "San Pedro y San Pablo"),
            (7, 12, "Nuestra Señora del Rosario de Chiquinquirá"),
            (7, 20, "Día de la Independencia"),
            (8, 7, "Batalla de Boyacá"),
            (8, 16, "Asunción de la Virgen"),
            (10, 18, "Día de la Raza"),
            (11, 1, "Todos los Santos"),
            (11, 15, "Independencia de Cartagena"),
            (12, 8, "Inmaculada Concepción"),
            (12, 25, "Navidad"),
        ],
    );
}

fn pe_year(holy_thursday: (i8, i8)) -> Vec<(i8, i8, &'static str)> {
    vec![
        (1, 1, "Año Nuevo"),
        (holy_thursday.0, holy_thursday.1, "Jueves Santo"),
        (holy_thursday.0, holy_thursday.1 + 1, "Viernes Santo"),
        (5, 1, "Día del Trabajo"),
        (6, 7, "Batalla de Arica y Día de la Bandera"),
        (6, 29, "San Pedro y San Pablo"),
        (7, 23, "Día de la Fuerza Aérea del Perú"),
        (7, 28, "Fiestas Patrias"),
        (7, 29, "Fiestas Patrias"),
        (8, 6, "Batalla de Junín"),
        (8, 30, "Santa Rosa de Lima"),
        (10, 8, "Combate de Angamos"),
        (11, 1, "Todos los Santos"),
        (12, 8, "Inmaculada Concepción"),
        (12, 9, "Batalla de Ayacucho"),
        (12, 25, "Navidad"),
    ]
}

#[test]
fn peru_2024_to_2027() {
    check("pe", 2024, &pe_year((3, 28)));
    check("pe", 2025, &pe_year((4, 17)));
    check("pe", 2026, &pe_year((4, 2)));
    check("pe", 2027, &pe_year((3, 25)));
}

#[test]
fn peru_holidays_added_by_law_start_in_their_year() {
    let pe = cal("pe");
    assert!(pe.is_business_day(date(2023, 6, 7))); // Ley 31788 came after 7 June 2023
    assert!(pe.is_business_day(date(2021, 12, 9))); // Ley 31381: from 2022
    assert_eq!(pe.holiday_on(date(2022, 8, 6)), Some("Batalla de Junín"));
    assert_eq!(pe.holidays(2021).len(), 12);
}

#[test]
fn holidays_make_days_non_business() {
    let mx = cal("mx");
    assert!(!mx.is_business_day(date(2026, 3, 16))); // Benito Juárez, a Monday
    assert!(!mx.is_business_day(date(2026, 4, 3))); // Viernes Santo
    assert!(!mx.is_business_day(date(2026, 3, 14))); // a Saturday
    assert!(mx.is_business_day(date(2026, 3, 17)));
    let co = cal("co");
    assert!(!co.is_business_day(date(2025, 6, 30)));
    assert!(co.is_business_day(date(2025, 6, 27)));
}
