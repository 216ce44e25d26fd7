//! The case list: instances newest first, filtered by who may read them, their folio or words,
//! process, status, outcome, start dates, SLA standing and the role holding them, one page at a
//! time (keyset on `started_at, id`).
//!
//! How each shape stays fast over a million cases:
//! - filters alone walk an index newest first (`(started_at, id)`, or one led by process, status
//!   or who started it) and stop at the page's end;
//! - a filter by SLA walks a partial index of the cases holding such a clock (`sla_running`,
//!   `sla_met`, `sla_late`: flags each transition writes on the instance's row with its clocks),
//!   so that a rare standing does not read the whole history;
//! - a reader who is not an admin sees the cases of their processes and those they started: one
//!   branch per process (and one for "started by me"), each reading at most a page from its own
//!   index, merged — never every readable case sorted. Their own cases ("my requests") need no
//!   branch: anyone may read what they started. A folio is looked up in its index, whoever asks;
//! - words are matched in a full-text index. On SQLite the FTS5 table (`instance_search`, keyed
//!   by `instance_nums`, numbered as instances are inserted, i.e. in start order) drives the
//!   query newest match first and stops at the page's end. Its `tags` column holds who may read
//!   the case (`p` + hex of its process, `u` + hex of who started it): a reader's words are
//!   asked together with any of their tags (and the tag of a process or starter filtered on),
//!   so that the index skips what they may not read instead of the query reading every match.
//!   On PostgreSQL a GIN index over `to_tsvector('simple', search_text)` gives the matches; a
//!   reader's words walk the newest cases (at most [`WINDOW`]) until a page is full, and when
//!   the word is too rare for that, take its matches from the index and sort them.
//! - sub-processes are listed under their parent. On SQLite as `coalesce(parent_id, '') = ''`
//!   rather than `IS NULL`, so that the planner does not take the parent index for a filter
//!   that keeps nearly every row; on PostgreSQL as `parent_id IS NULL OR parent_id = ''`, whose
//!   selectivity its statistics know (it guesses 0.5% for the `coalesce`, and then prefers
//!   reading every match of a frequent word over walking an index newest first).

use super::micros;
use super::tasks::sla_condition;
use crate::store::{CaseQuery, CaseSla, Cursor, InstanceRow, Page, Reader, StoreError};

/// The columns a page reads, qualified by the instances' alias `i`.
fn columns() -> String {
    super::instances::LIST_COLUMNS.split(", ").map(|c| format!("i.{c}")).collect::<Vec<_>>().join(", ")
}

/// The words as each backend's full-text query: whole words, the last one a prefix when the
/// query ends with `*`. On SQLite the words are looked for in the `body` column only.
fn text_query(postgres: bool, words: &[String], prefix: bool) -> String {
    let last = words.len().saturating_sub(1);
    let each = words.iter().enumerate().map(|(i, w)| match (postgres, prefix && i == last) {
        (true, true) => format!("{w}:*"),
        (true, false) => w.clone(),
        // Words are letters and digits only (folded): quoted, they are plain FTS5 strings.
        (false, true) => format!("body : \"{w}\"*"),
        (false, false) => format!("body : \"{w}\""),
    });
    each.collect::<Vec<_>>().join(if postgres { " & " } else { " AND " })
}

/// A search tag of the SQLite index (`tags` column, see the header): `p` or `u`, then the hex
/// of the value's bytes, as the triggers write it with SQLite's `hex()`.
fn tag(kind: char, value: &str) -> String {
    let hex: String = value.bytes().map(|b| format!("{b:02X}")).collect();
    format!("tags : \"{kind}{hex}\"")
}

/// The values bound to a statement, in placeholder order.
#[derive(Default)]
struct Args(Vec<Arg>);

enum Arg {
    Text(String),
    Int(i64),
}

impl Args {
    /// The placeholder of a new value.
    fn mark(&mut self, a: Arg) -> String {
        self.0.push(a);
        format!("${}", self.0.len())
    }
    fn text(&mut self, v: &str) -> String {
        self.mark(Arg::Text(v.to_string()))
    }
    fn int(&mut self, v: i64) -> String {
        self.mark(Arg::Int(v))
    }
}

/// How many of the newest cases a reader's word search on PostgreSQL walks before it asks the
/// text index instead.
const WINDOW: i64 = 10_000;

queries! {
    /// The rows of one statement of the case list.
    async fn page_rows(&self, sql: &str, args: &Args) -> Result<Vec<InstanceRow>, StoreError> {
        let mut query = sqlx::query::<DB>(sql);
        for a in &args.0 {
            query = match a {
                Arg::Text(v) => query.bind(v.clone()),
                Arg::Int(v) => query.bind(*v),
            };
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(super::list_row).collect()
    }

    /// One page of the case list.
    pub async fn cases(&self, q: &CaseQuery) -> Result<Page<InstanceRow>, StoreError> {
        let postgres = Self::dialect().name == "postgres";
        let mut args = Args::default();
        // Filters shared by every branch, on `i`.
        let mut filters = String::new();
        if q.process.is_none() {
            filters.push_str(if postgres {
                " AND (i.parent_id IS NULL OR i.parent_id = '')"
            } else {
                " AND coalesce(i.parent_id, '') = ''"
            });
        }
        let eq = [
            ("folio", &q.folio),
            ("process", &q.process),
            ("status", &q.status),
            ("outcome", &q.outcome),
            ("started_by", &q.started_by),
        ];
        for (col, v) in eq {
            if let Some(v) = v {
                filters.push_str(&format!(" AND i.{col} = {}", args.text(v)));
            }
        }
        if let Some(t) = q.started_from {
            filters.push_str(&format!(" AND i.started_at >= {}", args.int(micros(t))));
        }
        if let Some(t) = q.started_before {
            filters.push_str(&format!(" AND i.started_at < {}", args.int(micros(t))));
        }
        match q.sla {
            None => {}
            Some(CaseSla::Running(f)) => filters.push_str(&format!(
                " AND i.sla_running AND EXISTS (SELECT 1 FROM slas s WHERE s.instance_id = i.id AND s.stopped_at IS NULL{})",
                sla_condition(f, "s.warn_at", "s.breach_at", &args.int(micros(q.now)))
            )),
            Some(CaseSla::Met) => filters.push_str(" AND i.sla_met"),
            Some(CaseSla::MetLate) => filters.push_str(" AND i.sla_late"),
        }
        if let Some(r) = &q.role {
            filters.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM tasks t WHERE t.instance_id = i.id AND t.status = 'open' AND t.role = {})",
                args.text(r)
            ));
        }
        if let Some(c) = &q.after {
            let (key, id) = (args.int(c.key), args.text(&c.id));
            filters.push_str(&format!(" AND (i.started_at < {key} OR (i.started_at = {key} AND i.id < {id}))"));
        }
        // Whose list, when it is not everything: a reader's own cases ("my requests") are all
        // theirs to read.
        let reader: Option<&Reader> =
            q.reader.as_ref().filter(|r| q.started_by.as_deref() != Some(r.user.as_str()));
        let cols = columns();
        let newest = "ORDER BY i.started_at DESC, i.id DESC";
        // Readable: started by the reader or of one of their processes, as a condition.
        let visible = |args: &mut Args| match reader {
            None => String::new(),
            Some(r) if r.processes.is_empty() => format!(" AND i.started_by = {}", args.text(&r.user)),
            Some(r) => {
                let user = args.text(&r.user);
                let processes = r.processes.iter().map(|p| args.text(p)).collect::<Vec<_>>().join(", ");
                format!(" AND (i.started_by = {user} OR i.process IN ({processes}))")
            }
        };

        // A second statement, when the first may have missed rows (words for a reader).
        let mut fallback: Option<String> = None;
        let sql = if !q.words.is_empty() && !postgres {
            let mut terms = vec![text_query(false, &q.words, q.prefix)];
            terms.extend(q.process.iter().map(|p| tag('p', p)));
            terms.extend(q.started_by.iter().map(|u| tag('u', u)));
            if let Some(r) = reader {
                let any = r.processes.iter().map(|p| tag('p', p)).chain([tag('u', &r.user)]);
                terms.push(format!("({})", any.collect::<Vec<_>>().join(" OR ")));
            }
            let m = args.text(&terms.join(" AND "));
            let visible = visible(&mut args);
            let limit = args.int(q.limit + 1);
            format!(
                "SELECT {cols} FROM instance_search s JOIN instance_nums n ON n.num = s.rowid JOIN instances i ON i.id = n.id \
                 WHERE instance_search MATCH {m}{filters}{visible} ORDER BY s.rowid DESC LIMIT {limit}"
            )
        } else {
            let mut words = String::new();
            if !q.words.is_empty() {
                let m = args.text(&text_query(true, &q.words, q.prefix));
                words = format!(" AND to_tsvector('simple', coalesce(i.search_text, '')) @@ to_tsquery('simple', {m})");
            }
            match reader {
                // Words, for a reader: one query, not a branch per process (a branch reads a
                // whole process that seldom holds the word). First the newest cases after the
                // cursor, at most WINDOW of them, walked until a page is full: a frequent word
                // fills it soon. When it does not, the word is rare for this reader: its matches
                // come from the text index, whole, and are sorted.
                Some(_) if !words.is_empty() && q.folio.is_none() => {
                    let visible = visible(&mut args);
                    let limit = args.int(q.limit + 1);
                    fallback = Some(format!(
                        "SELECT {cols} FROM (SELECT * FROM instances i WHERE 1 = 1{words} OFFSET 0) i WHERE 1 = 1{filters}{visible} {newest} LIMIT {limit}"
                    ));
                    format!(
                        "SELECT {cols} FROM (SELECT * FROM instances i WHERE 1 = 1{filters} {newest} LIMIT {WINDOW}) i WHERE 1 = 1{words}{visible} {newest} LIMIT {limit}"
                    )
                }
                _ => {
                    filters.push_str(&words);
                    match reader {
                        // One folio is a handful of rows at most: its index, then who may read them.
                        Some(_) if q.folio.is_some() => {
                            let visible = visible(&mut args);
                            let limit = args.int(q.limit + 1);
                            format!("SELECT {cols} FROM instances i WHERE 1 = 1{filters}{visible} {newest} LIMIT {limit}")
                        }
                        None => {
                            let limit = args.int(q.limit + 1);
                            format!("SELECT {cols} FROM instances i WHERE 1 = 1{filters} {newest} LIMIT {limit}")
                        }
                        Some(r) => {
                            let limit = args.int(q.limit + 1);
                            let branch = |cond: String| {
                                format!("SELECT {cols} FROM instances i WHERE 1 = 1{filters}{cond} {newest} LIMIT {limit}")
                            };
                            let mut branches = vec![branch(format!(" AND i.started_by = {}", args.text(&r.user)))];
                            for p in &r.processes {
                                branches.push(branch(format!(" AND i.process = {}", args.text(p))));
                            }
                            let union = branches
                                .iter()
                                .enumerate()
                                .map(|(k, b)| format!("SELECT * FROM ({b}) b{k}"))
                                .collect::<Vec<_>>()
                                .join(" UNION ");
                            format!("SELECT * FROM ({union}) i {newest} LIMIT {limit}")
                        }
                    }
                }
            }
        };

        let mut rows = self.page_rows(&sql, &args).await?;
        if let Some(sql) = fallback.filter(|_| rows.len() as i64 <= q.limit) {
            rows = self.page_rows(&sql, &args).await?;
        }
        // The full-text branch comes in insertion order, which is start order; sort the page
        // as every other list is.
        rows.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
        let next = if rows.len() as i64 > q.limit {
            rows.truncate(q.limit as usize);
            rows.last().map(|r| Cursor { key: micros(r.started_at), id: r.id.clone() })
        } else {
            None
        };
        Ok(Page { rows, next })
    }
}
