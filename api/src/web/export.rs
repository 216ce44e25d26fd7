//! Exports for admins, as CSV and Excel (the manuals ask for Excel): instance data of a process
//! (e.g. the C.4.5 monthly e-mail report: folio, received, answered, contact, question, topic)
//! and the SLA report, both over the dashboard's date range. Dates are local to the process's
//! calendar; the headers say which zone.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::DateTime;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde_json::Value;
use tramite_engine::calendar::Calendar;
use tramite_engine::definition::FieldType;
use tramite_engine::machine::Status;

use super::dashboard::{Params, range, zone};
use super::error::WebError;
use super::fields;
use super::i18n::Lang;
use super::session::Session;
use crate::app::plain_cell;
use crate::runtime::Runtime;

/// One cell of an export.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    Number(f64),
    /// A local date and time (`None`: empty).
    When(Option<DateTime>),
}

/// A table to export.
#[derive(Debug)]
pub struct Sheet {
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

fn when(t: Option<Timestamp>, cal: &Calendar) -> Cell {
    Cell::When(t.map(|t| t.to_zoned(cal.zone().clone()).datetime()))
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// A data value as a cell: numbers as numbers, dates as dates, choices by their labels.
fn data_cell(f: Option<&tramite_engine::definition::Field>, v: Option<&Value>, cal: &Calendar) -> Cell {
    let Some(v) = v else { return text("") };
    match (f.map(|f| f.kind), v) {
        (Some(FieldType::Integer | FieldType::Decimal), Value::Number(n)) => {
            Cell::Number(n.as_f64().unwrap_or_default())
        }
        (Some(FieldType::Date), Value::String(s)) => match s.parse::<jiff::civil::Date>() {
            Ok(d) => Cell::When(Some(d.to_datetime(jiff::civil::Time::midnight()))),
            Err(_) => text(s.clone()),
        },
        (Some(FieldType::DateTime), Value::String(s)) => match (s.parse::<Timestamp>(), s.parse::<DateTime>()) {
            (Ok(t), _) => when(Some(t), cal),
            (_, Ok(dt)) => Cell::When(Some(dt)),
            _ => text(s.clone()),
        },
        _ => text(fields::display(f, v, Lang::Es)),
    }
}

/// Instance data of one process started in the range, one row per instance.
async fn instances_sheet(rt: &Runtime, process: &str, from: Timestamp, to: Timestamp) -> Result<Sheet, WebError> {
    let d = rt.deployed(process, None).ok_or(WebError::NotFound(Lang::Es))?;
    let cal = &d.calendar;
    let zone = cal.zone().iana_name().unwrap_or("UTC");
    let defs = fields::process_fields(&d);
    let mut headers: Vec<String> = vec![
        "Folio".into(),
        "Instancia".into(),
        "Estado".into(),
        "Resultado".into(),
        format!("Iniciado ({zone})"),
        format!("Terminado ({zone})"),
    ];
    for s in &d.process.slas {
        headers.push(format!("{}: vence", s.title));
        headers.push(format!("{}: cumplido el", s.title));
        headers.push(format!("{}: estado", s.title));
    }
    headers.extend(defs.iter().map(|f| f.label.clone()));
    let now = rt.now();
    let mut rows = Vec::new();
    for (version, inst) in rt.store.instances_between(process, from, to, 100_000).await? {
        let dv = rt.deployed(process, Some(version)).unwrap_or_else(|| d.clone());
        let (status, outcome) = match &inst.status {
            Status::Running => ("en curso", String::new()),
            Status::Ended { outcome } => ("terminado", outcome.clone()),
            Status::Cancelled { reason } => ("cancelado", reason.clone()),
        };
        let mut row = vec![
            text(crate::runtime::folio(&inst).unwrap_or_default()),
            text(inst.id.clone()),
            text(status),
            text(outcome),
            when(Some(inst.started_at), cal),
            when(inst.ended_at, cal),
        ];
        let states = tramite_engine::machine::sla_states(dv.env(), &inst, now);
        for s in &d.process.slas {
            let run = inst.slas.get(&s.id);
            row.push(when(run.map(|r| r.clock.due(&dv.calendar)), cal));
            row.push(when(run.and_then(|r| r.clock.stopped), cal));
            let state = states.iter().find(|(id, _)| *id == s.id).map(|(_, st)| st.as_str()).unwrap_or("");
            row.push(text(state));
        }
        row.extend(defs.iter().map(|f| data_cell(Some(f), inst.data.get(&f.name), cal)));
        rows.push(row);
    }
    Ok(Sheet { name: "Trámites".into(), headers, rows })
}

/// Every SLA clock started in the range.
async fn sla_sheet(rt: &Runtime, from: Timestamp, to: Timestamp) -> Result<Sheet, WebError> {
    let tz = zone(rt);
    let zone_name = tz.iana_name().unwrap_or("UTC").to_string();
    let now = rt.now();
    let headers = [
        "Proceso",
        "Folio",
        "Instancia",
        "SLA",
        "Inicio",
        "Aviso",
        "Vence",
        "Detenido",
        "Estado",
        "Tiempo hábil transcurrido (h)",
    ]
    .iter()
    .map(|h| {
        if ["Inicio", "Aviso", "Vence", "Detenido"].contains(h) { format!("{h} ({zone_name})") } else { h.to_string() }
    })
    .collect();
    let mut rows = Vec::new();
    for r in rt.store.slas_started_between(from, to).await? {
        let d = rt.deployed(&r.process, None);
        let cal = match &d {
            Some(d) => d.calendar.clone(),
            None => Calendar::weekends_only("utc", "UTC").map_err(WebError::internal)?,
        };
        let state = crate::app::sla_row_standing(&r, now).as_str();
        let hours = cal.working_time_between(r.started_at, r.stopped_at.unwrap_or(now)).as_secs_f64() / 3600.0;
        rows.push(vec![
            text(d.as_ref().map(|d| d.process.title.clone()).unwrap_or(r.process.clone())),
            text(r.folio.clone().unwrap_or_default()),
            text(r.instance_id.clone()),
            text(r.title.clone()),
            when(Some(r.started_at), &cal),
            when(r.warn_at, &cal),
            when(Some(r.due_at), &cal),
            when(r.stopped_at, &cal),
            text(state),
            Cell::Number((hours * 100.0).round() / 100.0),
        ]);
    }
    Ok(Sheet { name: "SLA".into(), headers, rows })
}

/// The most characters an Excel cell holds.
const XLSX_MAX_CHARS: usize = 32_767;

/// A text as an Excel cell holds it: cut to [`XLSX_MAX_CHARS`], ending with `…` when cut.
fn xlsx_text(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(XLSX_MAX_CHARS) {
        None => s.into(),
        Some(_) => {
            let end = s.char_indices().nth(XLSX_MAX_CHARS - 1).map_or(s.len(), |(i, _)| i);
            format!("{}…", &s[..end]).into()
        }
    }
}

/// A date and time as Excel holds it, or `None` outside Excel's years (1900 to 9999).
fn xlsx_date(dt: &DateTime) -> Option<ExcelDateTime> {
    let (year, month, day) = (u16::try_from(dt.year()).ok()?, dt.month() as u8, dt.day() as u8);
    ExcelDateTime::from_ymd(year, month, day)
        .ok()?
        .and_hms(dt.hour() as u16, dt.minute() as u8, dt.second() as f64)
        .ok()
}

/// A date Excel cannot hold, as ISO text: the date alone at midnight, else date and time.
fn iso_text(dt: &DateTime) -> String {
    if dt.time() == jiff::civil::Time::midnight() {
        dt.date().to_string()
    } else {
        dt.strftime("%Y-%m-%d %H:%M").to_string()
    }
}

/// The sheet as CSV, with a byte-order mark so spreadsheet programs read the accents.
pub fn to_csv(sheet: &Sheet) -> Result<Vec<u8>, WebError> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(sheet.headers.iter().map(|h| plain_cell(h))).map_err(WebError::internal)?;
    for row in &sheet.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c {
                Cell::Text(s) => plain_cell(s),
                Cell::Number(n) => n.to_string(),
                Cell::When(Some(dt)) => dt.strftime("%Y-%m-%d %H:%M").to_string(),
                Cell::When(None) => String::new(),
            })
            .collect();
        w.write_record(&cells).map_err(WebError::internal)?;
    }
    w.into_inner().map_err(WebError::internal)
}

/// The sheet as an Excel workbook: bold header, filters, frozen first row, real dates. What
/// Excel cannot hold is written so that the export never fails on it: a text longer than
/// 32,767 characters is cut there (ending with `…`; the CSV export has it whole), a date
/// outside the years 1900 to 9999 is ISO text.
pub fn to_xlsx(sheet: &Sheet) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(&sheet.name)?;
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    for (c, h) in sheet.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, xlsx_text(h), &bold)?;
        ws.set_column_width(c as u16, (h.chars().count().clamp(10, 40)) as f64 + 2.0)?;
    }
    for (r, row) in sheet.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) if !s.is_empty() => {
                    ws.write_string(r, c, xlsx_text(s))?;
                }
                Cell::Number(n) if n.is_finite() => {
                    ws.write_number(r, c, *n)?;
                }
                Cell::Number(n) => {
                    ws.write_string(r, c, n.to_string())?;
                }
                Cell::When(Some(dt)) => match xlsx_date(dt) {
                    Some(x) => {
                        ws.write_datetime_with_format(r, c, &x, &date)?;
                    }
                    None => {
                        ws.write_string(r, c, iso_text(dt))?;
                    }
                },
                _ => {}
            }
        }
    }
    if !sheet.headers.is_empty() {
        ws.autofilter(0, 0, sheet.rows.len() as u32, sheet.headers.len() as u16 - 1)?;
        ws.set_freeze_panes(1, 0)?;
    }
    book.save_to_buffer()
}

pub async fn download(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    Path(file): Path<String>,
    Query(p): Query<Params>,
) -> Result<Response, WebError> {
    if !s.user.admin {
        return Err(WebError::Forbidden(s.lang, "error.admin_only"));
    }
    let (what, ext) = file.rsplit_once('.').ok_or(WebError::NotFound(s.lang))?;
    let (from_d, to_d, from, to) = range(&p, &zone(&rt), rt.now());
    let (sheet, stem) = match what {
        "instances" => {
            let process = p.process.clone().filter(|x| !x.is_empty()).ok_or(WebError::NotFound(s.lang))?;
            (instances_sheet(&rt, &process, from, to).await?, format!("tramites-{process}"))
        }
        "sla" => (sla_sheet(&rt, from, to).await?, "sla".to_string()),
        _ => return Err(WebError::NotFound(s.lang)),
    };
    let (body, content_type) = match ext {
        "csv" => (to_csv(&sheet)?, "text/csv; charset=utf-8"),
        "xlsx" => (
            to_xlsx(&sheet).map_err(WebError::internal)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        _ => return Err(WebError::NotFound(s.lang)),
    };
    let name = format!("{stem}-{from_d}-{to_d}.{ext}");
    tracing::info!(user = ?s.user.name, file = ?name, rows = sheet.rows.len(), "export");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_only_past_excels_limit() {
        let full = "ñ".repeat(XLSX_MAX_CHARS);
        assert_eq!(xlsx_text(&full), full.as_str());
        let cut = xlsx_text(&"ñ".repeat(XLSX_MAX_CHARS + 1)).into_owned();
        assert_eq!(cut.chars().count(), XLSX_MAX_CHARS);
        assert!(cut.ends_with("ñ…"));
    }

    #[test]
    fn dates_outside_excels_years_are_iso_text() {
        let old = jiff::civil::date(1, 1, 1).to_datetime(jiff::civil::Time::midnight());
        assert!(xlsx_date(&old).is_none());
        assert_eq!(iso_text(&old), "0001-01-01");
        assert_eq!(iso_text(&jiff::civil::datetime(1899, 12, 31, 8, 30, 0, 0)), "1899-12-31 08:30");
        assert!(xlsx_date(&jiff::civil::datetime(2026, 3, 2, 9, 0, 0, 0)).is_some());
    }
}
