//! The shipped procedures' indicators, on SQLite and PostgreSQL: the repository's tree
//! (processes/, forms/, calendars/) deployed on a manual clock, a fixed set of cases run through
//! `tramite::app`, and `app::indicators` compared with values worked out by hand in each test
//! (the arithmetic is in the comments). Also: `tramite check` points at what is wrong in an
//! indicators file.

use crate::common;
use crate::in_process;

use common::{Db, repo};
use in_process::App;
use serde_json::{Map, Value};
use tramite::app::{self, Answer, IndicatorView};
use tramite_engine::machine::Actor;

/// The shipped tree deployed on a fresh database, and the clock it runs on.
pub struct Bench {
    pub app: App,
}

/// One value of an indicator as the tests write it: period, group, value (6 decimals), count.
pub type Pt = (String, String, Option<f64>, i64);

pub fn pt(period: &str, group: &str, value: Option<f64>, n: i64) -> Pt {
    (period.to_string(), group.to_string(), value.map(round), n)
}

pub fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

pub fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

impl Bench {
    pub async fn new(db: &Db, name: &str) -> Bench {
        let app = App::new(db, name, &[]).await;
        let d = app.rt.deploy_paths(&[repo().join("processes")]).await.unwrap();
        assert!(
            d.not_deployed.is_empty(),
            "not deployed: {:?}",
            d.not_deployed.iter().map(|n| &n.rendered).collect::<Vec<_>>()
        );
        Bench { app }
    }

    /// Sets the clock to `t` (RFC 3339).
    pub fn at(&self, t: &str) {
        self.app.clock.set(t.parse().unwrap());
    }

    pub async fn start(&self, who: &Actor, process: &str, data: Value) -> String {
        let (view, _) = app::start(&self.app.rt, who, process, object(data), None)
            .await
            .unwrap_or_else(|e| panic!("start {process}: {e:?}"));
        view.id
    }

    /// The open task at `step` of instance `inst` (the first, in token order).
    pub async fn task(&self, inst: &str, step: &str) -> String {
        let stored = self.app.rt.instance(inst).await.unwrap();
        let tokens = &stored.state.tokens;
        let found = tokens.iter().find(|(_, t)| t.step == step && t.task.is_some()).map(|(id, _)| *id);
        let Some(token) = found else {
            let open: Vec<&str> = tokens.values().map(|t| t.step.as_str()).collect();
            panic!("no task at {step} in {inst}; open: {open:?}")
        };
        format!("{inst}.{token}")
    }

    /// Completes the task at `step` with `data`.
    pub async fn done(&self, who: &Actor, inst: &str, step: &str, data: Value) {
        let id = self.task(inst, step).await;
        let answer = Answer { data: object(data), ..Default::default() };
        app::submit(&self.app.rt, who, &id, answer).await.unwrap_or_else(|e| panic!("{step} of {inst}: {e:?}"));
    }

    /// Approves the approval at `step`, with the data of its form.
    pub async fn approve(&self, who: &Actor, inst: &str, step: &str, data: Value) {
        let id = self.task(inst, step).await;
        let answer = Answer { data: object(data), decision: Some("approve".into()), comment: None };
        app::submit(&self.app.rt, who, &id, answer).await.unwrap_or_else(|e| panic!("{step} of {inst}: {e:?}"));
    }

    /// The child a call step of `inst` started.
    pub async fn child(&self, inst: &str, step: &str) -> String {
        let stored = self.app.rt.instance(inst).await.unwrap();
        let t = stored.state.tokens.values().find(|t| t.step == step).unwrap_or_else(|| panic!("no {step}"));
        t.call.as_ref().and_then(|c| c.child.clone()).unwrap_or_else(|| panic!("{step} started no child"))
    }

    pub async fn outcome(&self, inst: &str) -> String {
        let stored = self.app.rt.instance(inst).await.unwrap();
        match stored.state.status {
            tramite_engine::machine::Status::Ended { outcome } => outcome,
            other => panic!("{inst} is {other:?}"),
        }
    }

    pub async fn indicators(&self, process: &str) -> Vec<IndicatorView> {
        app::indicators(&self.app.rt, &Actor::admin("owner"), process, None, None).await.unwrap()
    }
}

/// The indicator `id` of `views`.
pub fn view<'a>(views: &'a [IndicatorView], id: &str) -> &'a IndicatorView {
    views.iter().find(|v| v.id == id).unwrap_or_else(|| panic!("no indicator {id}"))
}

/// Its values as [`Pt`]s, in the order the database gives them (period, then group).
pub fn points(views: &[IndicatorView], id: &str) -> Vec<Pt> {
    view(views, id).points.iter().map(|p| (p.period.clone(), p.group.clone(), p.value.map(round), p.n)).collect()
}

/// Whether each value meets the target, in order.
pub fn meets(views: &[IndicatorView], id: &str) -> Vec<Option<bool>> {
    view(views, id).points.iter().map(|p| p.meets_target).collect()
}

/// Runs each test once per backend.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                super::$name(Db::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(Db::Postgres).await;
            }
        }
    )*};
}

mod calls;
mod check;
mod conocer;
mod services;
