//! Registering a case: the processes the signed-in user may start (their start roles), and a
//! process's start form, rendered like task forms. The form carries a one-time key, so a
//! double click or a resend makes one case; then the new case's page.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Map, Value};
use tramite_engine::definition::Form;

use super::error::WebError;
use super::fields::{self, FieldView, Raw};
use super::page::Chrome;
use super::posted::Posted;
use super::session::Session;
use crate::app;
use crate::http::auth::new_token;
use crate::runtime::{Deployed, Runtime};

/// A process the user may start, as the list shows it.
#[derive(Debug)]
pub struct Card {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub source: Option<String>,
    /// Who may start it, by role title.
    pub roles: String,
}

#[derive(Template)]
#[template(path = "web/new.html")]
struct NewPage {
    c: Chrome,
    cards: Vec<Card>,
}

#[derive(Template)]
#[template(path = "web/start.html")]
struct StartPage {
    c: Chrome,
    process: String,
    title: String,
    description: Option<String>,
    source: Option<String>,
    /// The one-time key this form submits with.
    key: String,
    form_title: Option<String>,
    form_description: Option<String>,
    fields: Vec<FieldView>,
    form_errors: Vec<String>,
    has_errors: bool,
}

fn here(uri: &Uri) -> String {
    uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default()
}

/// `GET /new`: the processes the user may start.
pub async fn list(State(rt): State<Arc<Runtime>>, s: Session, uri: Uri) -> Result<Html<String>, WebError> {
    let cards = app::startable(&rt, &s.actor())
        .iter()
        .map(|d| {
            let p = &d.process;
            let roles: Vec<&str> = p.start.roles.iter().map(|r| p.role_title(r).unwrap_or(r)).collect();
            Card {
                id: p.id.clone(),
                title: p.title.clone(),
                description: p.description.clone(),
                source: p.source.clone(),
                roles: roles.join(", "),
            }
        })
        .collect();
    let page = NewPage { c: Chrome::new(&s, s.lang.t("new.title"), &here(&uri), "new"), cards };
    Ok(Html(page.render()?))
}

/// The latest version of `process`, when the user may start it (404 otherwise: the list shows
/// only what they may start, and a guess learns nothing).
fn startable(rt: &Runtime, s: &Session, process: &str) -> Result<Arc<Deployed>, WebError> {
    app::startable(rt, &s.actor()).into_iter().find(|d| d.process.id == process).ok_or(WebError::NotFound(s.lang))
}

fn start_form(d: &Deployed) -> Option<&Form> {
    d.process.start.form.as_ref().and_then(|f| d.forms.get(f))
}

/// A one-time key as `new_token` makes them: 64 hex digits.
fn valid_key(k: &str) -> bool {
    k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit())
}

fn render(
    s: &Session,
    d: &Deployed,
    uri: &Uri,
    key: String,
    raw: &Raw,
    errors: &BTreeMap<String, String>,
) -> Result<String, WebError> {
    let p = &d.process;
    let form = start_form(d);
    let views = form.map(|f| fields::views(f, raw, errors, s.lang)).unwrap_or_default();
    let form_errors = fields::unplaced(&views, errors);
    let page = StartPage {
        c: Chrome::new(s, p.title.clone(), &here(uri), "new"),
        process: p.id.clone(),
        title: p.title.clone(),
        description: p.description.clone(),
        source: p.source.clone(),
        key,
        form_title: form.map(|f| f.title.clone()),
        form_description: form.and_then(|f| f.description.clone()),
        has_errors: !errors.is_empty(),
        fields: views,
        form_errors,
    };
    Ok(page.render()?)
}

/// `GET /new/{process}`: the start form, empty but for its defaults.
pub async fn form(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Path(process): Path<String>,
) -> Result<Html<String>, WebError> {
    let d = startable(&rt, &s, &process)?;
    let raw = start_form(&d).map(|f| fields::raw_of(f, &Map::new())).unwrap_or_default();
    Ok(Html(render(&s, &d, &uri, new_token(), &raw, &BTreeMap::new())?))
}

/// `POST /new/{process}`: starts the case (once per form key) and shows it; a refusal shows
/// the form again (422) with each field's message beside it and the values as entered.
pub async fn submit(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Path(process): Path<String>,
    Posted(pairs): Posted,
) -> Result<Response, WebError> {
    let d = startable(&rt, &s, &process)?;
    let key = pairs.iter().find(|(k, _)| k == "_key").map(|(_, v)| v.clone()).unwrap_or_default();
    if !valid_key(&key) {
        return Err(WebError::Invalid(s.lang, s.lang.t("new.stale_form").to_string()));
    }
    let raw = fields::raw_of_pairs(&pairs);
    let data: Map<String, Value> = start_form(&d).map(|f| fields::data_of(f, &raw)).unwrap_or_default();
    match app::start(&rt, &s.actor(), &process, data, Some(&format!("web-{key}"))).await {
        Ok((view, _)) => Ok(Redirect::to(&format!("/instances/{}?started=1", view.id)).into_response()),
        Err(e) => {
            let errors = fields::problems_of(e).map_err(|e| WebError::from_app(e, s.lang))?;
            let page = render(&s, &d, &uri, key, &raw, &errors)?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page)).into_response())
        }
    }
}
