//! Process pages, for the people who work a process and for admins: the processes they may
//! read, and one process as the server runs it — its drawn flow, roles, SLAs with their
//! calendar, forms, steps, schedules, versions and source manual; for admins, the `tramite check`
//! diagnostics of its files that did not deploy.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Html;
use tramite_engine::calendar::{Duration, Unit, Warn};
use tramite_engine::definition::{Anchor, Process, SlaTarget, StepKind, When};
use tramite_engine::machine::Actor;

use super::error::WebError;
use super::i18n::Lang;
use super::page::Chrome;
use super::session::Session;
use crate::runtime::{Deployed, Runtime};

/// A duration as people read it: `2 días hábiles`, `1 business day`.
pub fn duration_text(d: &Duration, l: Lang) -> String {
    let one = d.amount == 1;
    let unit = match (l, d.unit, one) {
        (Lang::Es, Unit::BusinessDays, true) => "día hábil",
        (Lang::Es, Unit::BusinessDays, false) => "días hábiles",
        (Lang::Es, Unit::BusinessHours, true) => "hora hábil",
        (Lang::Es, Unit::BusinessHours, false) => "horas hábiles",
        (Lang::Es, Unit::Days, true) => "día",
        (Lang::Es, Unit::Days, false) => "días",
        (Lang::Es, Unit::Hours, true) => "hora",
        (Lang::Es, Unit::Hours, false) => "horas",
        (Lang::Es, Unit::Minutes, true) => "minuto",
        (Lang::Es, Unit::Minutes, false) => "minutos",
        (Lang::En, ..) => return d.to_string(),
    };
    format!("{} {unit}", d.amount)
}

fn step_title(p: &Process, ix: usize) -> String {
    p.steps.get(ix).map(|s| s.title.clone()).unwrap_or_default()
}

fn anchor_text(p: &Process, a: &Anchor, l: Lang) -> String {
    match a {
        Anchor::Started => l.t("process.anchor_started").to_string(),
        Anchor::Completed => l.t("process.anchor_completed").to_string(),
        Anchor::Entered(ix) => format!("{} «{}»", l.t("process.anchor_entered"), step_title(p, *ix)),
        Anchor::Left(ix) => format!("{} «{}»", l.t("process.anchor_left"), step_title(p, *ix)),
        Anchor::Data(f) => format!("data.{f}"),
    }
}

fn when_text(w: &When, l: Lang) -> String {
    let (before, after) = (l.t("process.before"), l.t("process.after"));
    match w {
        When::After(d) => duration_text(d, l),
        When::BeforeField(d, f) => format!("{} {before} data.{f}", duration_text(d, l)),
        When::AfterField(d, f) => format!("{} {after} data.{f}", duration_text(d, l)),
        When::Field(f) => format!("data.{f}"),
        When::Expr { expr, offset: None } => expr.source().to_string(),
        When::Expr { expr, offset: Some(o) } => {
            let side = if o.before { before } else { after };
            format!("{} {side} {}", duration_text(&o.duration, l), expr.source())
        }
    }
}

fn warn_text(w: &Warn, l: Lang) -> String {
    match w {
        Warn::Before(d) => format!("{} {}", duration_text(d, l), l.t("process.before_due")),
        Warn::After(d) => format!("{} {}", duration_text(d, l), l.t("process.after_start")),
        Warn::Percent(n) => format!("{n} % {}", l.t("process.of_the_time")),
    }
}

/// One SLA as the page lists it.
#[derive(Debug)]
pub struct SlaLine {
    pub title: String,
    pub from: String,
    pub until: String,
    pub target: String,
    pub warn: Option<String>,
}

/// One step as the page lists it.
#[derive(Debug)]
pub struct StepLine {
    pub id: String,
    pub kind_key: &'static str,
    pub title: String,
    pub role: Option<String>,
    pub form: Option<String>,
    pub due: Option<String>,
    pub calls: Option<String>,
}

/// One form: its title and its fields as `label (type)`.
#[derive(Debug)]
pub struct FormLine {
    pub id: String,
    pub title: String,
    pub fields: Vec<(String, String, bool)>,
}

/// A process as the list shows it.
#[derive(Debug)]
pub struct ProcessLine {
    pub id: String,
    pub title: String,
    pub source: Option<String>,
    pub version: i64,
}

/// A file that did not deploy, with its diagnostics.
#[derive(Debug)]
pub struct Broken {
    pub file: String,
    pub process: Option<String>,
    pub text: String,
}

#[derive(Template)]
#[template(path = "web/processes.html")]
struct ListPage {
    c: Chrome,
    processes: Vec<ProcessLine>,
    broken: Vec<Broken>,
}

#[derive(Template)]
#[template(path = "web/process.html")]
struct ProcessPage {
    c: Chrome,
    id: String,
    title: String,
    description: Option<String>,
    source: Option<String>,
    version: i64,
    versions: Vec<i64>,
    calendar: String,
    zone: String,
    hours: String,
    roles: Vec<(String, String)>,
    start_roles: String,
    may_start: bool,
    folio: Option<String>,
    slas: Vec<SlaLine>,
    steps: Vec<StepLine>,
    forms: Vec<FormLine>,
    schedules: Vec<(String, String)>,
    diagram: String,
    broken: Vec<Broken>,
}

/// Whether `actor` may read `d`'s definition: admins, and holders of one of its roles.
pub fn may_read(actor: &Actor, d: &Deployed) -> bool {
    actor.admin || d.process.roles.iter().any(|(r, _)| actor.has_role(r))
}

fn broken(rt: &Runtime, process: Option<&str>) -> Vec<Broken> {
    rt.registry()
        .not_deployed()
        .iter()
        .filter(|n| process.is_none() || n.process.as_deref() == process)
        .map(|n| Broken { file: n.file.clone(), process: n.process.clone(), text: n.rendered.clone() })
        .collect()
}

fn here(uri: &Uri) -> String {
    uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default()
}

/// `GET /processes`: the processes the user may read; for admins, also the files that did not
/// deploy.
pub async fn list(State(rt): State<Arc<Runtime>>, s: Session, uri: Uri) -> Result<Html<String>, WebError> {
    let actor = s.actor();
    let mut processes: Vec<ProcessLine> = rt
        .registry()
        .all_latest()
        .iter()
        .filter(|d| may_read(&actor, d))
        .map(|d| ProcessLine {
            id: d.process.id.clone(),
            title: d.process.title.clone(),
            source: d.process.source.clone(),
            version: d.version,
        })
        .collect();
    processes.sort_by(|a, b| a.title.cmp(&b.title));
    let broken = if actor.admin { broken(&rt, None) } else { Vec::new() };
    let page =
        ListPage { c: Chrome::new(&s, s.lang.t("process.list_title"), &here(&uri), "processes"), processes, broken };
    Ok(Html(page.render()?))
}

/// `GET /processes/{id}`: one process as the server runs it (its latest version).
pub async fn page(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Html<String>, WebError> {
    let actor = s.actor();
    let l = s.lang;
    let (d, versions) = {
        let reg = rt.registry();
        (reg.latest(&id), reg.versions(&id))
    };
    let d = d.ok_or(WebError::NotFound(l))?;
    if !may_read(&actor, &d) {
        return Err(WebError::forbidden(l));
    }
    let p = &d.process;
    let role = |r: &str| p.role_title(r).unwrap_or(r).to_string();
    let slas = p
        .slas
        .iter()
        .map(|x| SlaLine {
            title: x.title.clone(),
            from: anchor_text(p, &x.from, l),
            until: anchor_text(p, &x.until, l),
            target: match &x.target {
                SlaTarget::Within(dur) => format!("{} {}", l.t("process.within"), duration_text(dur, l)),
                SlaTarget::Deadline(w) => format!("{} {}", l.t("process.by"), when_text(w, l)),
            },
            warn: x.warn.as_ref().map(|w| warn_text(w, l)),
        })
        .collect();
    let steps = p
        .steps
        .iter()
        .map(|st| {
            let work = st.kind.work();
            StepLine {
                id: st.id.clone(),
                kind_key: super::instance::kind_key(&st.kind),
                title: st.title.clone(),
                role: work.map(|w| if w.role_from.is_some() { w.role.clone() } else { role(&w.role) }),
                form: work
                    .and_then(|w| w.form.as_ref())
                    .map(|f| d.forms.get(f).map(|x| x.title.clone()).unwrap_or(f.clone())),
                due: work.and_then(|w| w.due.as_ref()).map(|due| when_text(&due.at, l)),
                calls: match &st.kind {
                    StepKind::Call { process, .. } => Some(process.clone()),
                    _ => None,
                },
            }
        })
        .collect();
    let forms = d
        .forms
        .values()
        .map(|f| FormLine {
            id: f.id.clone(),
            title: f.title.clone(),
            fields: f.fields.iter().map(|x| (x.label.clone(), x.kind.name().to_string(), x.required)).collect(),
        })
        .collect();
    let (opens, closes) = d.calendar.working_hours();
    let page = ProcessPage {
        c: Chrome::new(&s, p.title.clone(), &here(&uri), "processes"),
        id: p.id.clone(),
        title: p.title.clone(),
        description: p.description.clone(),
        source: p.source.clone(),
        version: d.version,
        versions,
        calendar: d.calendar.title().to_string(),
        zone: d.calendar.zone().iana_name().unwrap_or("UTC").to_string(),
        hours: format!("{} – {}", opens.strftime("%H:%M"), closes.strftime("%H:%M")),
        roles: p.roles.clone(),
        start_roles: p.start.roles.iter().map(|r| role(r)).collect::<Vec<_>>().join(", "),
        may_start: p.start.roles.iter().any(|r| actor.has_role(r)),
        folio: p.start.folio.as_ref().map(|f| f.source().to_string()),
        slas,
        steps,
        forms,
        schedules: p
            .schedules
            .iter()
            .map(|x| (x.title.clone().unwrap_or(x.id.clone()), format!("{} ({})", x.cron, x.timezone)))
            .collect(),
        diagram: super::instance::diagram_svg(&d, &[], &[]),
        broken: if actor.admin { broken(&rt, Some(&id)) } else { Vec::new() },
    };
    Ok(Html(page.render()?))
}
