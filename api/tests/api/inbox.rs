//! The inbox's SLA filters (`store/repo/tasks.rs`): a task `ok` or `warning` at `now` is read
//! either after `now` in the order of urgency or, when its deadline came before its breach and
//! has passed, from the index of such deadlines. Whatever part a task comes from, each filter
//! answers exactly the tasks of its standing, soonest due first, and pages of one task walk the
//! same list, on both backends.

use jiff::{SignedDuration, Timestamp};
use tramite::store::{BenchCase, Cursor, Holder, InboxQuery, SlaFilter, Store, TaskRow};

use crate::common::{Db, database, scratch};

/// A task: its name, role, deadline, SLA warning and breach (hours from now).
type Spec = (&'static str, &'static str, Option<i64>, Option<(i64, i64)>);

const TASKS: [Spec; 10] = [
    ("breached", "operador", None, Some((-30, -10))),
    ("breached_after_its_deadline", "operador", Some(-40), Some((-20, -8))),
    ("warning_after_its_deadline", "operador", Some(-20), Some((-5, 10))),
    ("ok_after_its_deadline", "operador", Some(-15), Some((5, 10))),
    ("no_sla_past_its_deadline", "operador", Some(-12), None),
    ("warning_before_its_deadline", "operador", Some(30), Some((-2, 1))),
    ("warning", "operador", None, Some((-1, 2))),
    ("ok", "operador", None, Some((3, 8))),
    ("no_sla_no_deadline", "operador", None, None),
    ("another_roles_ok_after_its_deadline", "otro", Some(-13), Some((4, 9))),
];

async fn sla_filters(db: Db) {
    let dir = scratch(&format!("inbox-sla-{db:?}").to_lowercase());
    let store = Store::open(&database(&db, &dir).unwrap()).await.unwrap();
    let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
    let at = |hours: i64| now + SignedDuration::from_hours(hours);
    let cases: Vec<BenchCase> = TASKS
        .iter()
        .map(|(name, _, _, sla)| BenchCase {
            id: format!("c-{name}"),
            process: "prueba.bandeja".into(),
            status: "running".into(),
            outcome: None,
            folio: None,
            started_at: at(-50),
            ended_at: None,
            started_by: None,
            search_text: String::new(),
            sla_warn_at: sla.map(|(w, _)| at(w)),
            sla_due_at: sla.map(|(_, d)| at(d)),
        })
        .collect();
    store.load_bench_cases(&cases).await.unwrap();
    let tasks: Vec<TaskRow> = TASKS
        .iter()
        .map(|(name, role, deadline, sla)| TaskRow {
            id: format!("c-{name}:1"),
            instance_id: format!("c-{name}"),
            token: 1,
            process: "prueba.bandeja".into(),
            step: "atender".into(),
            title: "Atender".into(),
            role: role.to_string(),
            role_scope: None,
            assignee: None,
            kind: "task".into(),
            folio: None,
            status: "open".into(),
            due_at: deadline.map(at),
            claimed_by: None,
            item: None,
            sla: sla.map(|_| "respuesta".into()),
            sla_warn_at: sla.map(|(w, _)| at(w)),
            sla_due_at: sla.map(|(_, d)| at(d)),
            created_at: at(-50),
        })
        .collect();
    store.load_bench_tasks(&tasks).await.unwrap();

    let operator = Some(Holder { user: "ana".into(), roles: vec!["operador".into()] });
    let query = |holder: &Option<Holder>, sla, after: Option<Cursor>, limit| InboxQuery {
        holder: holder.clone(),
        process: None,
        due_before: None,
        sla,
        now,
        after,
        limit,
    };
    // Each filter's list, and the same list walked a task a page.
    let list = async |holder: &Option<Holder>, sla: Option<SlaFilter>| {
        let whole = store.inbox(&query(holder, sla, None, 50)).await.unwrap();
        assert!(whole.next.is_none());
        let names: Vec<String> =
            whole.rows.iter().map(|t| t.instance_id.trim_start_matches("c-").to_string()).collect();
        let (mut walked, mut after) = (Vec::new(), None);
        loop {
            let page = store.inbox(&query(holder, sla, after, 1)).await.unwrap();
            walked.extend(page.rows.iter().map(|t| t.instance_id.trim_start_matches("c-").to_string()));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(walked, names, "{sla:?}: the pages of one task walk the whole list");
        names
    };
    assert_eq!(
        list(&operator, Some(SlaFilter::Ok)).await,
        ["ok_after_its_deadline", "no_sla_past_its_deadline", "ok", "no_sla_no_deadline"]
    );
    assert_eq!(
        list(&operator, Some(SlaFilter::Warning)).await,
        ["warning_after_its_deadline", "warning_before_its_deadline", "warning"]
    );
    assert_eq!(list(&operator, Some(SlaFilter::Breached)).await, ["breached_after_its_deadline", "breached"]);
    assert_eq!(
        list(&operator, None).await,
        [
            "breached_after_its_deadline",
            "warning_after_its_deadline",
            "ok_after_its_deadline",
            "no_sla_past_its_deadline",
            "breached",
            "warning_before_its_deadline",
            "warning",
            "ok",
            "no_sla_no_deadline"
        ]
    );
    // An administrator's inbox holds every role's.
    assert_eq!(
        list(&None, Some(SlaFilter::Ok)).await,
        [
            "ok_after_its_deadline",
            "another_roles_ok_after_its_deadline",
            "no_sla_past_its_deadline",
            "ok",
            "no_sla_no_deadline"
        ]
    );
}

#[tokio::test]
async fn sla_filters_answer_each_standing_soonest_due_first_sqlite() {
    sla_filters(Db::Sqlite).await;
}

#[tokio::test]
async fn sla_filters_answer_each_standing_soonest_due_first_postgres() {
    sla_filters(Db::Postgres).await;
}
