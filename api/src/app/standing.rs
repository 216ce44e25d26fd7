//! SLA standing and status names, as every view shows them. The standing of a running clock is
//! the engine's (`SlaClock::state`, pauses included); rows read from the store carry the
//! instants the engine said the clock turns warning and breached, and are judged with the
//! engine's [`tramite_engine::calendar::Standing::at`] — the same rule the store's SQL filter
//! applies.

use jiff::Timestamp;
use tramite_engine::calendar::{SlaState, Standing as Turns};
use tramite_engine::machine::Status;

use super::AppError;
use crate::store::{SlaFilter, SlaRow, TaskRow};

/// How an SLA stands, or that there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Sla(SlaState),
    None,
}

impl Standing {
    /// `ok`, `warning`, `breached`, `met`, `met-late` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Sla(s) => s.as_str(),
            Standing::None => "none",
        }
    }
}

/// The standing a task shows at `now`: that of its instance's most urgent running SLA.
pub fn task_standing(t: &TaskRow, now: Timestamp) -> Standing {
    match t.sla {
        None => Standing::None,
        Some(_) => Standing::Sla(Turns { warn_at: t.sla_warn_at, breach_at: t.sla_due_at }.at(now)),
    }
}

/// The standing of a stored SLA clock at `now`.
pub fn sla_row_standing(r: &SlaRow, now: Timestamp) -> SlaState {
    match r.stopped_at {
        Some(stopped) if stopped < r.due_at => SlaState::Met,
        Some(_) => SlaState::MetLate,
        None => Turns { warn_at: r.warn_at, breach_at: r.breach_at }.at(now),
    }
}

/// The filter a query parameter names (`ok`, `warning`, `breached`; empty: none). The
/// name is taken exactly as written: ` ok` is not `ok`, as the API document's enum says.
pub fn sla_filter(s: Option<&str>) -> Result<Option<SlaFilter>, AppError> {
    match s {
        None | Some("") => Ok(None),
        Some("ok") => Ok(Some(SlaFilter::Ok)),
        Some("warning") => Ok(Some(SlaFilter::Warning)),
        Some("breached") => Ok(Some(SlaFilter::Breached)),
        Some(other) => Err(AppError::field(
            "invalid_query",
            "sla",
            &format!("unknown SLA state `{other}`: use ok, warning or breached"),
        )),
    }
}

/// `running`, `ended` or `cancelled`.
pub fn status_name(s: &Status) -> &'static str {
    match s {
        Status::Running => "running",
        Status::Ended { .. } => "ended",
        Status::Cancelled { .. } => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn task(sla: Option<&str>, warn: Option<i64>, breach: Option<i64>) -> TaskRow {
        TaskRow {
            id: "i.1".into(),
            instance_id: "i".into(),
            token: 1,
            process: "p".into(),
            step: "s".into(),
            title: "S".into(),
            role: "r".into(),
            role_scope: None,
            assignee: None,
            kind: "task".into(),
            folio: None,
            status: "open".into(),
            due_at: None,
            claimed_by: None,
            item: None,
            sla: sla.map(str::to_string),
            sla_warn_at: warn.map(t),
            sla_due_at: breach.map(t),
            created_at: t(0),
        }
    }

    #[test]
    fn a_task_stands_as_its_clock_turns() {
        assert_eq!(task_standing(&task(None, None, None), t(5)).as_str(), "none");
        let running = task(Some("respuesta"), Some(3), Some(10));
        assert_eq!(task_standing(&running, t(2)).as_str(), "ok");
        assert_eq!(task_standing(&running, t(3)).as_str(), "warning");
        assert_eq!(task_standing(&running, t(10)).as_str(), "breached");
        // Paused while on time: it turns nothing until it resumes.
        assert_eq!(task_standing(&task(Some("respuesta"), None, None), t(1_000)).as_str(), "ok");
    }
}
