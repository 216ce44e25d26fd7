//! Sign-in with a user name and password (set by `tramite user add --password-stdin`), and
//! sign-out.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::WebError;
use super::i18n::Lang;
use super::page::Chrome;
use super::session::{self, LOGIN_COOKIE, is_https, safe_next, set_cookie};
use crate::http::auth::new_token;
use crate::runtime::Runtime;

#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage {
    c: Chrome,
    token: String,
    next: String,
    name: String,
    failed: bool,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// The sign-in form, with a fresh double-submit token in a cookie scoped to `/login`.
fn login_form(lang: Lang, headers: &HeaderMap, next: &str, name: &str, failed: bool) -> Result<Response, WebError> {
    let token = new_token();
    let page = LoginPage {
        c: Chrome::bare(lang, lang.t("login.title")),
        token: token.clone(),
        next: next.to_string(),
        name: name.to_string(),
        failed,
    };
    let cookie = set_cookie(LOGIN_COOKIE, &token, "/login", Some(3600), "Strict", is_https(headers));
    let status = if failed { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    Ok((status, [(header::SET_COOKIE, cookie)], Html(page.render()?)).into_response())
}

pub async fn login_page(
    State(rt): State<Arc<Runtime>>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Result<Response, WebError> {
    let next = q.next.as_deref().and_then(safe_next).unwrap_or("/inbox");
    if session::load(&rt, &headers, uri.query()).await?.is_some() {
        return Ok(Redirect::to(next).into_response());
    }
    login_form(Lang::of_request(uri.query(), &headers), &headers, next, "", false)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(rt): State<Arc<Runtime>>,
    uri: Uri,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let lang = Lang::of_request(uri.query(), &headers);
    let next = safe_next(&f.next).unwrap_or("/inbox").to_string();
    let name = f.name.trim().to_string();
    let found = rt.store.user_by_name(&name).await?;
    let password = f.password;
    // Verify even for an unknown user, so timing does not tell which names exist.
    let (user, hash) = match found {
        Some((u, Some(h))) => (Some(u), h),
        _ => (None, DUMMY_HASH.to_string()),
    };
    let ok = tokio::task::spawn_blocking(move || session::verify_password(&password, &hash))
        .await
        .map_err(WebError::internal)?;
    match user.filter(|_| ok) {
        Some(u) => {
            let cookie = session::sign_in(&rt, &u.name, is_https(&headers)).await?;
            let clear = set_cookie(LOGIN_COOKIE, "", "/login", Some(0), "Strict", is_https(&headers));
            tracing::info!(user = %u.name, "signed in");
            Ok((AppendHeaders([(header::SET_COOKIE, cookie), (header::SET_COOKIE, clear)]), Redirect::to(&next))
                .into_response())
        }
        None => {
            tracing::warn!(user = %name, "sign-in refused");
            login_form(lang, &headers, &next, &name, true)
        }
    }
}

pub async fn logout(State(rt): State<Arc<Runtime>>, headers: HeaderMap) -> Result<Response, WebError> {
    let cookie = session::sign_out(&rt, &headers).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response())
}

/// An Argon2id hash of a random password, verified against when the user does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0vQ3wXJ3Gk2n3mFq1bQp2a8s8oV6m5tE1K2pQ0rYx4E";

#[cfg(test)]
mod tests {
    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        use argon2::password_hash::PasswordHash;
        let h = PasswordHash::new(super::DUMMY_HASH);
        assert!(
            h.is_ok_and(|h| h.algorithm.as_str() == "argon2id"),
            "an unparsable hash would answer unknown users faster"
        );
        assert!(!super::session::verify_password("anything", super::DUMMY_HASH));
    }
}
