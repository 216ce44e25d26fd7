//! Users, for admins: who they are, their roles (in every scope or in one), and a form to add a
//! user or change one. The rules are the application layer's (`app::users`).

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::error::WebError;
use super::page::Chrome;
use super::session::Session;
use crate::app::{self, AppError, UserForm};
use crate::runtime::Runtime;
use crate::store::UserRow;

#[derive(Template)]
#[template(path = "web/users.html")]
struct UsersPage {
    c: Chrome,
    users: Vec<UserRow>,
    /// The form as sent, when it was refused, and each field's message.
    form: UserFields,
    errors: BTreeMap<String, String>,
    /// The API token of a user just created (shown once), or a notice.
    created: Option<(String, String)>,
    updated: Option<String>,
}

/// A user form's fields as the page shows them.
#[derive(Debug, Default, Deserialize)]
pub struct UserFields {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub roles: String,
    #[serde(default)]
    pub admin: Option<String>,
    #[serde(default)]
    pub password: String,
}

impl UserFields {
    fn form(&self, name: Option<&str>) -> UserForm {
        UserForm {
            name: name.unwrap_or(&self.name).to_string(),
            email: self.email.clone(),
            roles: self.roles.clone(),
            admin: self.admin.is_some(),
            password: self.password.clone(),
        }
    }
}

async fn render(
    rt: &Runtime,
    s: &Session,
    uri: &Uri,
    form: UserFields,
    errors: BTreeMap<String, String>,
    created: Option<(String, String)>,
    updated: Option<String>,
) -> Result<String, WebError> {
    let users = app::users(rt, &s.actor()).await.map_err(|e| WebError::from_app(e, s.lang))?;
    let here = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let page = UsersPage {
        c: Chrome::new(s, s.lang.t("users.title"), &here, "users"),
        users,
        form: UserFields { password: String::new(), ..form },
        errors,
        created,
        updated,
    };
    Ok(page.render()?)
}

pub async fn page(State(rt): State<Arc<Runtime>>, s: Session, uri: Uri) -> Result<Html<String>, WebError> {
    Ok(Html(render(&rt, &s, &uri, UserFields::default(), BTreeMap::new(), None, None).await?))
}

/// The page again with the form's problems beside its fields (422).
async fn refused(rt: &Runtime, s: &Session, uri: &Uri, form: UserFields, e: AppError) -> Result<Response, WebError> {
    match e {
        AppError::Invalid { fields, message, .. } => {
            let mut errors: BTreeMap<String, String> = fields.into_iter().map(|(k, p)| (k, p.message)).collect();
            if errors.is_empty() {
                errors.insert(String::new(), message);
            }
            let html = render(rt, s, uri, form, errors, None, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
        }
        other => Err(WebError::from_app(other, s.lang)),
    }
}

/// Creates a user; shows their API token once.
pub async fn add(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Form(f): Form<UserFields>,
) -> Result<Response, WebError> {
    match app::add_user(&rt, &s.actor(), &f.form(None)).await {
        Ok(token) => {
            let html = render(
                &rt,
                &s,
                &uri,
                UserFields::default(),
                BTreeMap::new(),
                Some((f.name.trim().to_string(), token)),
                None,
            )
            .await?;
            Ok(Html(html).into_response())
        }
        Err(e) => refused(&rt, &s, &uri, f, e).await,
    }
}

/// Changes a user's address, roles and admin flag.
pub async fn update(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Path(name): Path<String>,
    Form(f): Form<UserFields>,
) -> Result<Response, WebError> {
    match app::update_user(&rt, &s.actor(), &f.form(Some(&name))).await {
        Ok(()) => {
            let html = render(&rt, &s, &uri, UserFields::default(), BTreeMap::new(), None, Some(name)).await?;
            Ok(Html(html).into_response())
        }
        Err(e) => refused(&rt, &s, &uri, UserFields { name, ..f }, e).await,
    }
}
