//! The case list: every case the actor may read, found by folio or any text, process,
//! status, outcome, start dates, SLA standing and the role that holds it, newest first, a page
//! at a time with no cap; and the same list as CSV.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use tramite_engine::calendar::SlaState;
use tramite_engine::machine::Actor;

use super::AppError;
use super::standing::sla_filter;
use crate::runtime::Runtime;
use crate::store::search::terms;
use crate::store::{CaseQuery, CaseSla, InstanceRow, Page, Reader};

/// Most cases on one page.
pub const MAX_PAGE: i64 = 500;
/// Most rows of a CSV export.
pub const MAX_EXPORT: usize = 100_000;

/// The case list's filters as a client sends them (query parameters): all optional. An empty
/// parameter, as a web form sends it, filters nothing.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    /// A folio, or words of the case's text (whole words; a final `*` makes the last one the
    /// start of a word).
    pub q: Option<String>,
    pub process: Option<String>,
    /// `running`, `ended` or `cancelled`.
    #[param(schema_with = crate::http::openapi::case_status)]
    pub status: Option<String>,
    pub outcome: Option<String>,
    /// Started on or after this date, in the process's calendar zone (`YYYY-MM-DD`, years
    /// 1900 to 2199).
    #[param(schema_with = crate::http::openapi::day)]
    pub from: Option<String>,
    /// Started on or before this date.
    #[param(schema_with = crate::http::openapi::day)]
    pub to: Option<String>,
    /// `true` (`1`, `on`): only the cases the actor started ("my requests").
    #[param(schema_with = crate::http::openapi::mine)]
    pub mine: Option<String>,
    /// `ok`, `warning`, `breached` (a running clock), `met` or `met-late` (a stopped one).
    #[param(schema_with = crate::http::openapi::case_sla)]
    pub sla: Option<String>,
    /// Cases with an open task for this role.
    pub role: Option<String>,
    /// `next` of the previous page.
    #[param(schema_with = crate::http::openapi::cursor)]
    pub cursor: Option<String>,
    /// Cases on a page; 50 when absent.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A free-text filter: surrounding blanks dropped, empty (as a web form sends an unset
/// field) none.
fn set(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// A filter with a closed set of values (a status, a date, a flag): taken exactly as
/// written, as the API document's enums and patterns say; empty is none.
fn exact(v: &Option<String>) -> Option<String> {
    v.as_deref().filter(|s| !s.is_empty()).map(str::to_string)
}

/// A case as the list shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CaseView {
    #[serde(flatten)]
    pub row: InstanceRow,
    pub process_title: String,
}

/// The zone dates are read in: the process's calendar's, or the first deployed process's.
pub fn zone_of(rt: &Runtime, process: Option<&str>) -> TimeZone {
    let reg = rt.registry();
    process
        .and_then(|p| reg.latest(p))
        .or_else(|| reg.all_latest().into_iter().next())
        .map(|d| d.calendar.zone().clone())
        .unwrap_or(TimeZone::UTC)
}

fn date(v: &Option<String>, field: &str) -> Result<Option<Date>, AppError> {
    match exact(v) {
        None => Ok(None),
        Some(s) => s.parse::<Date>().ok().filter(|d| (1900..=2199).contains(&d.year())).map(Some).ok_or_else(|| {
            AppError::field("invalid_query", field, &format!("`{s}` is not a date (YYYY-MM-DD, years 1900 to 2199)"))
        }),
    }
}

fn case_sla(v: Option<&str>) -> Result<Option<CaseSla>, AppError> {
    match v {
        Some("met") => Ok(Some(CaseSla::Met)),
        Some("met-late") => Ok(Some(CaseSla::MetLate)),
        other => Ok(sla_filter(other)
            .map_err(|_| {
                AppError::field("invalid_query", "sla", "unknown SLA state: use ok, warning, breached, met or met-late")
            })?
            .map(CaseSla::Running)),
    }
}

/// The store query a filter asks for, as `actor` may see it.
pub fn case_query(rt: &Runtime, actor: &Actor, f: &CaseFilter) -> Result<CaseQuery, AppError> {
    let process = set(&f.process);
    let status = exact(&f.status);
    if let Some(s) = &status
        && !["running", "ended", "cancelled"].contains(&s.as_str())
    {
        return Err(AppError::field("invalid_query", "status", "unknown status: use running, ended or cancelled"));
    }
    let tz = zone_of(rt, process.as_deref());
    let at = |d: Date| d.to_zoned(tz.clone()).map(|z| z.timestamp()).ok();
    let (from, to) = (date(&f.from, "from")?, date(&f.to, "to")?);
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        return Err(AppError::field("invalid_query", "to", "the end date comes before the start date"));
    }
    let mine = match exact(&f.mine).as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("on") => true,
        Some(_) => return Err(AppError::field("invalid_query", "mine", "mine is true or false")),
    };
    let reader = (!actor.admin).then(|| {
        let reg = rt.registry();
        let processes = reg
            .all_latest()
            .iter()
            .filter(|d| d.process.roles.iter().any(|(r, _)| actor.has_role(r)))
            .map(|d| d.process.id.clone())
            .collect();
        Reader { user: actor.user.clone(), processes }
    });
    let limit = f.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::field("invalid_query", "limit", &format!("limit goes from 1 to {MAX_PAGE}")));
    }
    Ok(CaseQuery {
        reader,
        folio: None,
        words: set(&f.q).map(|q| terms(&q)).unwrap_or_default(),
        prefix: set(&f.q).is_some_and(|q| q.ends_with('*')),
        process,
        status,
        outcome: set(&f.outcome),
        started_from: from.and_then(at),
        started_before: to.and_then(|d| d.tomorrow().ok()).and_then(at),
        started_by: mine.then(|| actor.user.clone()),
        sla: case_sla(exact(&f.sla).as_deref())?,
        role: set(&f.role),
        now: rt.now(),
        after: super::tasks::cursor(f.cursor.as_deref())?,
        limit,
    })
}

fn views(rt: &Runtime, page: Page<InstanceRow>) -> Page<CaseView> {
    let reg = rt.registry();
    let rows = page
        .rows
        .into_iter()
        .map(|row| {
            let process_title =
                reg.latest(&row.process).map(|d| d.process.title.clone()).unwrap_or_else(|| row.process.clone());
            CaseView { row, process_title }
        })
        .collect();
    Page { rows, next: page.next }
}

/// One page of the cases `actor` may read that match `f`. A query that is a folio finds that
/// case alone; other text finds the cases holding all its words.
pub async fn cases(rt: &Runtime, actor: &Actor, f: &CaseFilter) -> Result<Page<CaseView>, AppError> {
    let q = case_query(rt, actor, f)?;
    if let Some(text) = set(&f.q).filter(|_| q.after.is_none()) {
        let exact = CaseQuery { folio: Some(text), words: Vec::new(), ..q.clone() };
        let page = rt.store.cases(&exact).await?;
        if !page.rows.is_empty() {
            return Ok(views(rt, page));
        }
    }
    if set(&f.q).is_some() && q.words.is_empty() {
        return Ok(Page { rows: Vec::new(), next: None });
    }
    Ok(views(rt, rt.store.cases(&q).await?))
}

/// Every case `actor` may read that matches `f` (up to [`MAX_EXPORT`]), page after page.
pub async fn all_cases(rt: &Runtime, actor: &Actor, f: &CaseFilter) -> Result<Vec<CaseView>, AppError> {
    // Every page is exported, but what the list refuses (a cursor this server did not give, a
    // limit out of range) is still a mistake.
    case_query(rt, actor, f)?;
    let mut f = CaseFilter { cursor: None, limit: Some(MAX_PAGE), ..f.clone() };
    let mut out = Vec::new();
    loop {
        let page = cases(rt, actor, &f).await?;
        out.extend(page.rows);
        match page.next {
            Some(c) if out.len() < MAX_EXPORT => f.cursor = Some(c.token()),
            _ => return Ok(out),
        }
    }
}

/// How a case's SLA stands, for filters shown to people: the names [`case_query`] accepts.
pub const CASE_SLA_STATES: [SlaState; 5] =
    [SlaState::Ok, SlaState::Warning, SlaState::Breached, SlaState::Met, SlaState::MetLate];

/// A text cell as CSV writes it: one that a spreadsheet would run as a formula (it starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, which spreadsheets
/// read as "this is text" (OWASP's advice against CSV injection). Numbers are not text cells.
pub fn plain_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() }
}

/// The cases as CSV: a header of `columns`, then one line per case with its local times in
/// `tz`; every cell neutralised ([`plain_cell`]).
pub fn cases_csv(rows: &[CaseView], columns: [&str; 8], tz: &TimeZone) -> Result<Vec<u8>, AppError> {
    let fail = |e: &dyn std::fmt::Display| AppError::Internal(format!("CSV: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns).map_err(|e| fail(&e))?;
    let time = |t: jiff::Timestamp| t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string();
    for c in rows {
        let r = &c.row;
        let cells = [
            r.folio.clone().unwrap_or_default(),
            c.process_title.clone(),
            r.status.clone(),
            r.outcome.clone().unwrap_or_default(),
            time(r.started_at),
            r.ended_at.map(time).unwrap_or_default(),
            r.started_by.clone().unwrap_or_default(),
            r.id.clone(),
        ];
        w.write_record(cells.iter().map(|c| plain_cell(c))).map_err(|e| fail(&e))?;
    }
    w.into_inner().map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_never_formulas() {
        for s in ["=1+1", "+52 55", "-3", "@SUM(A1)", "\tx", "\rx"] {
            assert!(plain_cell(s).starts_with('\''), "{s}");
        }
        assert_eq!(plain_cell("COR-2026-00001"), "COR-2026-00001");
        assert_eq!(plain_cell("hola = adiós"), "hola = adiós");
        assert_eq!(plain_cell(""), "");
    }
}
