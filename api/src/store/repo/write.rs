//! Writing transitions: events appended, the instance row updated (or created, or refused when
//! someone else changed it first), and the rows derived from its state — tasks, timers, SLA
//! clocks, incidents — brought in line, with the outbox messages, in the caller's transaction.

use std::borrow::Cow;
use std::collections::HashSet;
use std::future::Future;

use jiff::Timestamp;
use sqlx::{Postgres, Transaction};
use tramite_engine::definition::indicators::Contribution;
use tramite_engine::machine::TimerKey;

use super::outbox::attachments_json;
use super::{Backend, Dialect, RowsAffected, encode, list, micros};
use crate::store::{
    Change, IncidentRow, NewMessage, ReportJob, RowKeys, SlaRow, StoreError, TaskRow, sla_flags, status_of,
};

/// A statement parameter, as both backends bind it (a NULL keeps its column's type, which
/// PostgreSQL checks). Text is borrowed from the rows where it can be.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<Cow<'a, str>>),
    Bool(bool),
}

/// An argument's value when it is of the type asked (for binding a column of them).
impl Arg<'_> {
    fn int(self) -> Option<Option<i64>> {
        if let Arg::Int(v) = self { Some(v) } else { None }
    }

    fn real(self) -> Option<Option<f64>> {
        if let Arg::Real(v) = self { Some(v) } else { None }
    }

    fn text(self) -> Option<Option<String>> {
        if let Arg::Text(v) = self { Some(v.map(Cow::into_owned)) } else { None }
    }

    fn boolean(self) -> Option<bool> {
        if let Arg::Bool(v) = self { Some(v) } else { None }
    }
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}

impl From<Option<f64>> for Arg<'_> {
    fn from(v: Option<f64>) -> Self {
        Arg::Real(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Text(Some(Cow::Owned(v)))
    }
}

impl From<Option<String>> for Arg<'_> {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v.map(Cow::Owned))
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Some(Cow::Borrowed(v)))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::Text(v.map(Cow::Borrowed))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Some(Cow::Borrowed(v)))
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::Text(v.as_deref().map(Cow::Borrowed))
    }
}

/// Where a transition's statements run: a PostgreSQL transaction, or SQLite's write
/// connection driven directly (`store/direct.rs`).
pub trait Exec: Send {
    fn dialect(&self) -> Dialect;

    /// Runs one statement and returns the rows it changed; a unique-constraint violation is
    /// [`StoreError::Duplicate`] naming `what`.
    fn run(
        &mut self,
        sql: &str,
        args: Vec<Arg<'_>>,
        what: &str,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Runs a statement over many rows, `cols` parameters each in `args`, row after row:
    /// `sql_of(source)` is the statement with `source` where its rows come from, a `VALUES`
    /// list or a `SELECT`.
    fn run_rows(
        &mut self,
        sql_of: &(dyn Fn(&str) -> String + Sync),
        args: Vec<Arg<'_>>,
        cols: usize,
        what: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A column's values as `pick` takes each (`None`: a value of another type than the column's).
fn typed<'a, T>(column: Vec<Arg<'a>>, what: &str, pick: impl Fn(Arg<'a>) -> Option<T>) -> Result<Vec<T>, StoreError> {
    column
        .into_iter()
        .map(|a| pick(a).ok_or_else(|| StoreError::Encode(format!("{what}: a column of several types"))))
        .collect()
}

/// PostgreSQL's type of a column of `Arg`s.
fn array_type(a: &Arg<'_>) -> &'static str {
    match a {
        Arg::Int(_) => "int8[]",
        Arg::Real(_) => "float8[]",
        Arg::Text(_) => "text[]",
        Arg::Bool(_) => "bool[]",
    }
}

impl Exec for Transaction<'_, Postgres> {
    fn dialect(&self) -> Dialect {
        Postgres::DIALECT
    }

    async fn run(&mut self, sql: &str, args: Vec<Arg<'_>>, what: &str) -> Result<u64, StoreError> {
        let mut q = sqlx::query::<Postgres>(sql);
        for a in args {
            q = match a {
                Arg::Int(v) => q.bind(v),
                Arg::Real(v) => q.bind(v),
                Arg::Text(v) => q.bind(v.map(Cow::into_owned)),
                Arg::Bool(v) => q.bind(v),
            };
        }
        let done = q.execute(&mut **self).await.map_err(|e| StoreError::from_db(e, what))?;
        Ok(done.rows())
    }

    /// One statement whatever the number of rows: each column is bound as one array, and the
    /// rows come from `UNNEST` of those arrays. Its text is the same for every batch, so it is
    /// parsed and planned once per connection; and a batch is one round trip per table instead
    /// of one per run of rows (as `VALUES` lists in runs of powers of two, on SQLite, are).
    async fn run_rows(
        &mut self,
        sql_of: &(dyn Fn(&str) -> String + Sync),
        args: Vec<Arg<'_>>,
        cols: usize,
        what: &str,
    ) -> Result<(), StoreError> {
        let arrays: Vec<String> =
            args.iter().take(cols).enumerate().map(|(i, a)| format!("${}::{}", i + 1, array_type(a))).collect();
        let sql = sql_of(&format!("SELECT * FROM UNNEST({})", arrays.join(", ")));
        let mut columns: Vec<Vec<Arg<'_>>> = (0..cols).map(|_| Vec::with_capacity(args.len() / cols)).collect();
        for (i, a) in args.into_iter().enumerate() {
            columns[i % cols].push(a);
        }
        let mut q = sqlx::query::<Postgres>(&sql);
        for column in columns {
            q = match column.first() {
                Some(Arg::Int(_)) => q.bind(typed(column, what, Arg::int)?),
                Some(Arg::Real(_)) => q.bind(typed(column, what, Arg::real)?),
                Some(Arg::Text(_)) => q.bind(typed(column, what, Arg::text)?),
                Some(Arg::Bool(_)) => q.bind(typed(column, what, Arg::boolean)?),
                None => q,
            };
        }
        q.execute(&mut **self).await.map_err(|e| StoreError::from_db(e, what))?;
        Ok(())
    }
}

/// Most rows in one multi-row statement (a power of two).
const ROWS: usize = 64;

/// `rows` in runs of power-of-two lengths, at most [`ROWS`] each (45 rows: 32, 8, 4, 1), so a
/// table's statements come in seven texts whatever a batch holds: each is prepared once per
/// connection and kept (`STATEMENT_CACHE`), instead of parsed and planned again for every
/// row count.
pub(in crate::store) fn runs<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (run, tail) = rest.split_at(run_len(rest.len()));
        rest = tail;
        Some(run)
    })
}

/// The length of the first run of `rows` rows (at least 1): the greatest power of two no
/// longer than them, nor than [`ROWS`].
pub(in crate::store) fn run_len(rows: usize) -> usize {
    1 << rows.clamp(1, ROWS).ilog2()
}

/// Where a task sorts in the inbox: the earlier of its own deadline and its SLA's breach, or
/// last of all when it has neither.
pub(super) fn urgent_key(t: &TaskRow) -> i64 {
    [t.due_at, t.sla_due_at].into_iter().flatten().min().map(micros).unwrap_or(i64::MAX)
}

/// An instance row to write: its last change in the batch, who started it and its start's
/// idempotency key (from its first change).
type InstanceRow<'c, 'a> = (&'c Change<'a>, Option<&'c str>, Option<&'c str>);

/// When and by whom a task was closed.
struct Closing {
    at: Timestamp,
    by: Option<String>,
}

/// One transition: events appended, instance row updated (or created, or refused when someone
/// else changed it since `before_seq`), tasks, timers, SLAs, incidents and outbox brought in
/// line with the new state.
pub async fn save<E: Exec>(tx: &mut E, c: &Change<'_>) -> Result<(), StoreError> {
    match c.before_seq {
        None => upsert_rows(tx, &[(c, c.started_by, c.idempotency_key)], true).await?,
        Some(before) => {
            let (status, outcome) = status_of(c.state);
            let (running, met, late) = sla_flags(&c.slas);
            let sql = "UPDATE instances SET status = $1, outcome = $2, state = $3, seq = $4, updated_at = $5, ended_at = $6, \
                 folio = $7, search_text = $8, sla_running = $9, sla_met = $10, sla_late = $11 WHERE id = $12 AND seq = $13";
            let args = vec![
                status.to_string().into(),
                outcome.into(),
                encode(c.state, "instance state")?.into(),
                (c.state.version as i64).into(),
                micros(c.now).into(),
                c.state.ended_at.map(micros).into(),
                (&c.folio).into(),
                (&c.search_text).into(),
                running.into(),
                met.into(),
                late.into(),
                c.id.into(),
                before.into(),
            ];
            if tx.run(sql, args, "instance").await? != 1 {
                return Err(StoreError::Conflict);
            }
        }
    }
    write_rows(tx, &[c]).await
}

/// Many transitions already serialized by one writer (the group commit), in a fixed number of
/// statements whatever their count.
pub async fn save_batch<E: Exec>(tx: &mut E, changes: &[&Change<'_>]) -> Result<(), StoreError> {
    // Each instance's row: its final state, with the creation data of its first change, and
    // what its indexes held before that change (when known).
    let mut rows: Vec<(InstanceRow<'_, '_>, Option<&RowKeys>)> = Vec::new();
    for c in changes {
        match rows.iter_mut().find(|((l, ..), _)| l.id == c.id) {
            Some(((last, ..), _)) => *last = c,
            None => rows.push(((c, c.started_by, c.idempotency_key), c.before.as_ref().map(|b| &b.keys))),
        }
    }
    // Rows whose indexed columns stay as they were are rewritten without them.
    let (same, other): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|((c, ..), before)| before.is_some_and(|b| *b == RowKeys::of(c.state, c.folio.clone(), &c.slas)));
    for (rows, keys) in [(other, true), (same, false)] {
        let rows: Vec<InstanceRow<'_, '_>> = rows.into_iter().map(|(row, _)| row).collect();
        upsert_rows(tx, &rows, keys).await?;
    }
    write_rows(tx, changes).await
}

/// Inserts instance rows, or updates the state of those that exist; with `keys`, also the
/// columns indexes hold (status, folio, SLA standing), which an update otherwise leaves.
async fn upsert_rows<E: Exec>(tx: &mut E, rows: &[InstanceRow<'_, '_>], keys: bool) -> Result<(), StoreError> {
    let indexed = if keys {
        ", status = excluded.status, folio = excluded.folio, sla_running = excluded.sla_running, \
         sla_met = excluded.sla_met, sla_late = excluded.sla_late"
    } else {
        ""
    };
    let sql_of = |rows: &str| {
        format!(
            "INSERT INTO instances (id, process, version, status, outcome, folio, state, seq, started_at, updated_at, ended_at, started_by, start_key, parent_id, parent_token, search_text, sla_running, sla_met, sla_late) \
             {rows} ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome, state = excluded.state, seq = excluded.seq, \
             updated_at = excluded.updated_at, ended_at = excluded.ended_at, search_text = excluded.search_text{indexed}"
        )
    };
    insert_rows(tx, rows, 19, "instance", sql_of, |(c, started_by, key), args| {
        let (status, outcome) = status_of(c.state);
        let parent = c.state.parent.as_ref();
        let (running, met, late) = sla_flags(&c.slas);
        args.extend([
            c.id.into(),
            c.process.into(),
            c.version.into(),
            status.to_string().into(),
            outcome.into(),
            (&c.folio).into(),
            encode(c.state, "instance state")?.into(),
            (c.state.version as i64).into(),
            micros(c.state.started_at).into(),
            micros(c.now).into(),
            c.state.ended_at.map(micros).into(),
            (*started_by).into(),
            (*key).into(),
            parent.map(|p| p.instance.clone()).into(),
            parent.map(|p| p.token as i64).into(),
            (&c.search_text).into(),
            running.into(),
            met.into(),
            late.into(),
        ]);
        Ok(())
    })
    .await
}

/// Inserts `rows`, `cols` parameters each as `row` gives them, with the statement
/// `sql_of(source)` (see [`Exec::run_rows`]).
async fn insert_rows<'a, E: Exec, T>(
    tx: &mut E,
    rows: &'a [T],
    cols: usize,
    what: &str,
    sql_of: impl Fn(&str) -> String + Sync,
    mut row: impl FnMut(&'a T, &mut Vec<Arg<'a>>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut args = Vec::with_capacity(rows.len() * cols);
    for r in rows {
        row(r, &mut args)?;
    }
    tx.run_rows(&sql_of, args, cols, what).await
}

/// Runs `sql_of(n)` for the rows in [`runs`], each run's parameters those `row` gives for each
/// of its rows.
async fn chunked<'a, E: Exec, T>(
    tx: &mut E,
    rows: &'a [T],
    what: &str,
    sql_of: impl Fn(Dialect, usize) -> String,
    mut row: impl FnMut(&'a T, &mut Vec<Arg<'a>>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    for run in runs(rows) {
        let sql = sql_of(tx.dialect(), run.len());
        let mut args = Vec::new();
        for r in run {
            row(r, &mut args)?;
        }
        tx.run(&sql, args, what).await?;
    }
    Ok(())
}

/// Events, tasks, timers, SLA clocks, incidents and messages of some transitions, one
/// statement per table (and per [`ROWS`] rows).
async fn write_rows<E: Exec>(tx: &mut E, changes: &[&Change<'_>]) -> Result<(), StoreError> {
    write_events(tx, changes).await?;
    write_tasks(tx, changes).await?;
    write_folio_counts(tx, changes).await?;
    write_measures(tx, changes).await?;
    write_report_jobs(tx, changes).await?;

    // Timers, SLA clocks and incidents: each instance's final set replaces what was stored,
    // where it differs from what was stored (the state before its first change here).
    // Per instance: its first change, its last, and whether any change of it here does not
    // know what is stored (then its rows are rewritten whatever they hold).
    let mut finals: Vec<(&Change<'_>, &Change<'_>, bool)> = Vec::new();
    for c in changes {
        let unknown = c.before_seq.is_some() && c.before.is_none();
        match finals.iter_mut().find(|(_, f, _)| f.id == c.id) {
            Some((_, f, u)) => (*f, *u) = (c, *u || unknown),
            None => finals.push((c, c, unknown)),
        }
    }
    // Per table: the instances whose rows go, and those whose rows come.
    let mut gone: [Vec<&str>; 3] = Default::default();
    let mut come: [Vec<&Change<'_>>; 3] = Default::default();
    for (first, last, unknown) in &finals {
        let kept = |table: usize| match (&first.before, table) {
            _ if *unknown => false,
            (Some(b), 0) => b.timers == last.timers,
            (Some(b), 1) => b.slas == last.slas,
            (Some(b), _) => b.incidents == last.incidents,
            (None, _) => false,
        };
        for table in 0..3 {
            if first.before_seq.is_none() {
                come[table].push(last);
            } else if !kept(table) {
                gone[table].push(first.id);
                come[table].push(last);
            }
        }
    }
    for (table, ids) in ["timers", "slas", "incidents"].into_iter().zip(&gone) {
        let sql_of = |d, n| format!("DELETE FROM {table} WHERE instance_id IN ({})", list(d, n));
        chunked(tx, ids, table, sql_of, |id, a| {
            a.push((*id).into());
            Ok(())
        })
        .await?;
    }
    let [timer_sets, sla_sets, incident_sets] = come;
    let timers: Vec<(&str, &Timestamp, &TimerKey)> =
        timer_sets.iter().flat_map(|c| c.timers.iter().map(move |(at, k)| (c.id, at, k))).collect();
    let sql_of = |rows: &str| {
        format!("INSERT INTO timers (instance_id, timer, due_at) {rows} ON CONFLICT (instance_id, timer) DO NOTHING")
    };
    insert_rows(tx, &timers, 3, "timer", sql_of, |(id, at, key), a| {
        a.extend([(*id).into(), encode(*key, "timer")?.into(), micros(**at).into()]);
        Ok(())
    })
    .await?;
    let slas: Vec<&SlaRow> = sla_sets.iter().flat_map(|c| c.slas.iter()).collect();
    let sql_of = |rows: &str| {
        format!(
            "INSERT INTO slas (instance_id, sla, process, title, folio, started_at, warn_at, due_at, breach_at, stopped_at) {rows}"
        )
    };
    insert_rows(tx, &slas, 10, "sla", sql_of, |s, a| {
        a.extend([
            (&s.instance_id).into(),
            (&s.sla).into(),
            (&s.process).into(),
            (&s.title).into(),
            (&s.folio).into(),
            micros(s.started_at).into(),
            s.warn_at.map(micros).into(),
            micros(s.due_at).into(),
            s.breach_at.map(micros).into(),
            s.stopped_at.map(micros).into(),
        ]);
        Ok(())
    })
    .await?;
    let incidents: Vec<&IncidentRow> = incident_sets.iter().flat_map(|c| c.incidents.iter()).collect();
    let sql_of = |rows: &str| {
        format!("INSERT INTO incidents (instance_id, token, process, step, called, message, created_at) {rows}")
    };
    insert_rows(tx, &incidents, 7, "incident", sql_of, |i, a| {
        a.extend([
            (&i.instance_id).into(),
            i.token.into(),
            (&i.process).into(),
            (&i.step).into(),
            (&i.called).into(),
            (&i.message).into(),
            micros(i.created_at).into(),
        ]);
        Ok(())
    })
    .await?;

    let messages: Vec<(&NewMessage, Timestamp)> =
        changes.iter().flat_map(|c| c.outbox.iter().map(move |m| (m, c.now))).collect();
    let sql_of = |rows: &str| {
        format!(
            "INSERT INTO outbox (instance_id, kind, recipient, subject, body, created_at, next_attempt_at, \
             attachments) {rows}"
        )
    };
    insert_rows(tx, &messages, 8, "message", sql_of, |(m, now), a| {
        a.extend([
            (&m.instance_id).into(),
            (&m.kind).into(),
            (&m.recipient).into(),
            (&m.subject).into(),
            (&m.body).into(),
            micros(*now).into(),
            micros(*now).into(),
            attachments_json(&m.attachments).into(),
        ]);
        Ok(())
    })
    .await
}

/// What the changed cases contribute to indicators: each (indicator, case, item) once, as the
/// batch's last change of the case left it.
async fn write_measures<E: Exec>(tx: &mut E, changes: &[&Change<'_>]) -> Result<(), StoreError> {
    let mut rows: Vec<(&str, &Contribution)> = Vec::new();
    for c in changes {
        for m in &c.measures {
            let same = |(id, r): &(&str, &Contribution)| *id == c.id && r.indicator == m.indicator && r.item == m.item;
            match rows.iter_mut().find(|r| same(r)) {
                Some(r) => *r = (c.id, m),
                None => rows.push((c.id, m)),
            }
        }
    }
    let sql_of = |rows: &str| {
        format!(
            "INSERT INTO measures (indicator, instance_id, item, period, grp, value) {rows} \
             ON CONFLICT (indicator, instance_id, item) DO UPDATE SET period = excluded.period, \
             grp = excluded.grp, value = excluded.value"
        )
    };
    insert_rows(tx, &rows, 6, "measure", sql_of, |(id, m), a| {
        a.extend([
            (&m.indicator).into(),
            (*id).into(),
            (m.item as i64).into(),
            (&m.period).into(),
            (&m.group).into(),
            m.value.into(),
        ]);
        Ok(())
    })
    .await
}

/// Report jobs: those of the report tasks opened, then less those whose report is attached.
async fn write_report_jobs<E: Exec>(tx: &mut E, changes: &[&Change<'_>]) -> Result<(), StoreError> {
    let jobs: Vec<(&ReportJob, Timestamp)> =
        changes.iter().flat_map(|c| c.reports.iter().map(move |j| (j, c.now))).collect();
    let sql_of = |rows: &str| {
        format!(
            "INSERT INTO report_jobs (task_id, instance_id, token, process, opened_at, next_at) {rows} \
             ON CONFLICT (task_id) DO NOTHING"
        )
    };
    insert_rows(tx, &jobs, 6, "report job", sql_of, |(j, now), a| {
        a.extend([
            (&j.task_id).into(),
            (&j.instance_id).into(),
            (j.token as i64).into(),
            (&j.process).into(),
            micros(j.opened_at).into(),
            micros(*now).into(),
        ]);
        Ok(())
    })
    .await?;
    for c in changes {
        for task in &c.reported {
            tx.run("DELETE FROM report_jobs WHERE task_id = $1", vec![task.as_str().into()], "report job").await?;
        }
    }
    Ok(())
}

/// The last folio number each process gave in each scope, as the new cases took them.
async fn write_folio_counts<E: Exec>(tx: &mut E, changes: &[&Change<'_>]) -> Result<(), StoreError> {
    let mut counts: Vec<(&str, &str, i64)> = Vec::new();
    for c in changes {
        let Some((scope, n)) = &c.folio_count else { continue };
        match counts.iter_mut().find(|(p, s, _)| *p == c.process && s == scope) {
            Some(row) => row.2 = row.2.max(*n),
            None => counts.push((c.process, scope, *n)),
        }
    }
    let sql_of = |rows: &str| {
        format!(
            "INSERT INTO folio_counters (process, scope, last) {rows} \
             ON CONFLICT (process, scope) DO UPDATE SET last = excluded.last"
        )
    };
    insert_rows(tx, &counts, 3, "folio counter", sql_of, |(process, scope, n), a| {
        a.extend([(*process).into(), (*scope).into(), (*n).into()]);
        Ok(())
    })
    .await
}

/// Appends the events of each change after the `seq` it was read at.
async fn write_events<E: Exec>(tx: &mut E, changes: &[&Change<'_>]) -> Result<(), StoreError> {
    let mut events = Vec::new();
    for c in changes {
        let first = c.before_seq.unwrap_or(0);
        for (i, r) in c.records.iter().enumerate() {
            events.push((c.id, first + i as i64 + 1, r));
        }
    }
    let sql_of = |rows: &str| format!("INSERT INTO events (instance_id, seq, at, actor, kind, body) {rows}");
    let written = insert_rows(tx, &events, 6, "event", sql_of, |(id, seq, r), a| {
        let body = encode(r, "event")?;
        let kind = serde_json::from_str::<Kind<'_>>(&body).map_err(|e| StoreError::Encode(format!("event: {e}")))?;
        a.extend([(*id).into(), (*seq).into(), micros(r.at).into(), (&r.by).into(), kind.kind.to_string().into()]);
        a.push(body.into());
        Ok(())
    })
    .await;
    match written {
        Err(StoreError::Duplicate(_)) => Err(StoreError::Conflict),
        other => other,
    }
}

/// An event's kind, read from its JSON (the tag serde writes) without building the whole value.
#[derive(serde::Deserialize)]
struct Kind<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
}

/// The open tasks, and those the transitions closed (status `done`); a task seen several times
/// in a batch keeps its last row.
async fn write_tasks<E: Exec>(tx: &mut E, changes: &[&Change<'_>]) -> Result<(), StoreError> {
    let mut tasks: Vec<(&TaskRow, Option<Closing>)> = Vec::new();
    for c in changes {
        let by = c.records.last().and_then(|r| r.by.clone());
        tasks.extend(c.closed.iter().map(|t| (t, Some(Closing { at: c.now, by: by.clone() }))));
        tasks.extend(c.tasks.iter().map(|t| (t, None)));
    }
    let mut seen = HashSet::new();
    let mut unique: Vec<_> = tasks.into_iter().rev().filter(|(t, _)| seen.insert(t.id.as_str())).collect();
    unique.reverse();
    let sql_of = |rows: &str| {
        format!(
            "INSERT INTO tasks (id, instance_id, token, process, step, title, role, role_scope, assignee, kind, folio, status, due_at, claimed_by, item_index, item, sla, sla_warn_at, sla_due_at, created_at, closed_at, closed_by, urgent_at) \
             {rows} \
             ON CONFLICT (id) DO UPDATE SET role = excluded.role, role_scope = excluded.role_scope, assignee = excluded.assignee, due_at = excluded.due_at, claimed_by = excluded.claimed_by, \
             item = excluded.item, sla = excluded.sla, sla_warn_at = excluded.sla_warn_at, sla_due_at = excluded.sla_due_at, \
             status = excluded.status, closed_at = excluded.closed_at, closed_by = excluded.closed_by, urgent_at = excluded.urgent_at"
        )
    };
    insert_rows(tx, &unique, 23, "task", sql_of, |(t, closed), a| {
        let status = if closed.is_some() { "done" } else { "open" };
        let item = t.item.as_ref().map(|i| encode(&i.data, "task item")).transpose()?;
        a.extend([
            (&t.id).into(),
            (&t.instance_id).into(),
            t.token.into(),
            (&t.process).into(),
            (&t.step).into(),
            (&t.title).into(),
            (&t.role).into(),
            (&t.role_scope).into(),
            (&t.assignee).into(),
            (&t.kind).into(),
            (&t.folio).into(),
            status.into(),
            t.due_at.map(micros).into(),
            (&t.claimed_by).into(),
            t.item.as_ref().map(|i| i.index).into(),
            item.into(),
            (&t.sla).into(),
            t.sla_warn_at.map(micros).into(),
            t.sla_due_at.map(micros).into(),
            micros(t.created_at).into(),
            closed.as_ref().map(|c| micros(c.at)).into(),
            closed.as_ref().and_then(|c| c.by.clone()).into(),
            urgent_key(t).into(),
        ]);
        Ok(())
    })
    .await
}

queries! {
    /// The last folio number `process` gave in `scope` (0 before the first), its counter row
    /// locked for the transaction: made first, so that PostgreSQL has a row to lock and a
    /// concurrent start on another node waits for this one's commit.
    pub async fn last_folio(
        tx: &mut Transaction<'static, DB>,
        d: super::Dialect,
        process: &str,
        scope: &str,
    ) -> Result<i64, StoreError> {
        sqlx::query::<DB>(
            "INSERT INTO folio_counters (process, scope, last) VALUES ($1, $2, 0) ON CONFLICT (process, scope) DO NOTHING",
        )
        .bind(process.to_string())
        .bind(scope.to_string())
        .execute(&mut **tx)
        .await?;
        let sql = format!("SELECT last FROM folio_counters WHERE process = $1 AND scope = $2{}", d.for_update);
        let row = sqlx::query::<DB>(&sql).bind(process.to_string()).bind(scope.to_string()).fetch_one(&mut **tx).await?;
        Ok(sqlx::Row::try_get(&row, "last")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_go_in_runs_of_powers_of_two() {
        let lens = |n: usize| runs(&vec![0; n]).map(<[i32]>::len).collect::<Vec<_>>();
        assert_eq!(lens(0), Vec::<usize>::new());
        assert_eq!(lens(1), [1]);
        assert_eq!(lens(45), [32, 8, 4, 1]);
        assert_eq!(lens(64), [64]);
        assert_eq!(lens(200), [64, 64, 64, 8]);
    }
}
