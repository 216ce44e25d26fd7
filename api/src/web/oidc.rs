//! Sign-in through the institution's OpenID provider (`serve --oidc`): `/auth/oidc/start` sends
//! the browser to the provider, `/auth/oidc/callback` brings it back signed in.
//!
//! The sign-in under way is kept server-side (`oidc_logins`, by the SHA-256 of its `state`, with
//! the nonce, the PKCE verifier and `next`), taken once within ten minutes, and bound to the
//! browser that started it by the `tramite_oidc` cookie holding the state (`HttpOnly`,
//! `SameSite=Lax` so the provider's redirect carries it, path `/auth/oidc`). Every refusal is a
//! page saying what happened, with the cause logged (values from outside as `?`, escaped).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use jiff::ToSpan;
use serde::Deserialize;

use super::error::WebError;
use super::i18n::Lang;
use super::page::Chrome;
use super::session::{self, cookie, is_https, safe_next, same, set_cookie};
use crate::http::auth::token_hash;
use crate::oidc::{self, Admission, LOGIN_MINUTES, ProviderError};
use crate::runtime::Runtime;
use crate::store::OidcLogin;

/// The cookie binding a sign-in under way to the browser that started it.
pub const OIDC_COOKIE: &str = "tramite_oidc";
const COOKIE_PATH: &str = "/auth/oidc";

#[derive(Template)]
#[template(path = "web/oidc_refused.html")]
struct RefusedPage {
    c: Chrome,
    message: String,
    detail: String,
}

/// A refusal page with `status`; with `clear`, the sign-in cookie is cleared too (once the
/// sign-in under way has been used up, not before: a stray request must not end it).
fn refused(lang: Lang, status: StatusCode, key: &str, detail: String, clear: Option<String>) -> Response {
    let page = RefusedPage { c: Chrome::bare(lang, lang.t("oidc.title")), message: lang.t(key).to_string(), detail };
    match page.render() {
        Ok(html) => (status, AppendHeaders(clear.map(|c| (header::SET_COOKIE, c))), Html(html)).into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// Sends the browser to the provider with a new state, nonce and PKCE challenge.
pub async fn start(
    State(rt): State<Arc<Runtime>>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> Result<Response, WebError> {
    let lang = Lang::of_request(uri.query(), &headers);
    let Some(provider) = rt.oidc.clone() else { return Err(WebError::NotFound(lang)) };
    let secure = is_https(&headers);
    let next = q.next.as_deref().and_then(safe_next).unwrap_or("/").to_string();
    let auth = match provider.authorize().await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(cause = ?e.to_string(), "OpenID sign-in cannot start");
            return Ok(refused(lang, StatusCode::BAD_GATEWAY, "oidc.unreachable", String::new(), None));
        }
    };
    let now = rt.now();
    let expires_at = now.checked_add(LOGIN_MINUTES.minutes()).unwrap_or(now);
    let login = OidcLogin { nonce: auth.nonce, pkce_verifier: auth.pkce_verifier, next, expires_at };
    rt.store.insert_oidc_login(&token_hash(&auth.state), &login, now).await?;
    let cookie = set_cookie(OIDC_COOKIE, &auth.state, COOKIE_PATH, Some(LOGIN_MINUTES * 60), "Lax", secure);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&auth.url)).into_response())
}

/// What the provider sends back (RFC 6749 §4.1.2, RFC 9207 `iss`).
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

/// Checks the way back, exchanges the code, verifies the ID token, maps the claims to a user
/// and signs them in.
pub async fn callback(
    State(rt): State<Arc<Runtime>>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, WebError> {
    let lang = Lang::of_request(uri.query(), &headers);
    let Some(provider) = rt.oidc.clone() else { return Err(WebError::NotFound(lang)) };
    let secure = is_https(&headers);
    let clear = set_cookie(OIDC_COOKIE, "", COOKIE_PATH, Some(0), "Lax", secure);
    // The state must be the one this browser was given, and a sign-in still under way.
    let state = q.state.as_deref().unwrap_or_default();
    let bound = cookie(&headers, OIDC_COOKIE).is_some_and(|c| !state.is_empty() && same(&c, state));
    if !bound {
        tracing::warn!(?state, "OpenID sign-in refused: the state is not this browser's");
        return Ok(refused(lang, StatusCode::BAD_REQUEST, "oidc.state", String::new(), None));
    }
    let Some(login) = rt.store.take_oidc_login(&token_hash(state), rt.now()).await? else {
        tracing::warn!(?state, "OpenID sign-in refused: no such sign-in under way (used or expired)");
        return Ok(refused(lang, StatusCode::BAD_REQUEST, "oidc.state", String::new(), Some(clear.clone())));
    };
    // From here on the sign-in under way is used up: every answer clears its cookie.
    let refuse = |status, key: &str, detail: String| -> Result<Response, WebError> {
        Ok(refused(lang, status, key, detail, Some(clear.clone())))
    };
    if let Some(error) = &q.error {
        tracing::warn!(?error, description = ?q.error_description, "OpenID provider refused the sign-in");
        return refuse(StatusCode::UNAUTHORIZED, "oidc.provider_refused", format!("({error})"));
    }
    if let Some(iss) = q.iss.as_deref().filter(|i| *i != provider.config.issuer) {
        tracing::warn!(?iss, "OpenID sign-in refused: the answer names another issuer");
        return refuse(StatusCode::BAD_REQUEST, "oidc.state", String::new());
    }
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty()) else {
        tracing::warn!("OpenID sign-in refused: no code in the answer");
        return refuse(StatusCode::BAD_REQUEST, "oidc.state", String::new());
    };
    let (subject, claims) = match provider.finish(code, &login.nonce, &login.pkce_verifier, rt.now()).await {
        Ok(found) => found,
        Err(ProviderError::Unreachable(cause)) => {
            tracing::error!(?cause, "OpenID sign-in failed: the provider cannot be reached");
            return refuse(StatusCode::BAD_GATEWAY, "oidc.unreachable", String::new());
        }
        Err(e) => {
            tracing::warn!(cause = ?e.to_string(), "OpenID sign-in refused");
            return refuse(StatusCode::UNAUTHORIZED, "oidc.invalid", String::new());
        }
    };
    let id = match provider.config.identity(&subject, &claims) {
        Ok(id) => id,
        Err(problem) => {
            tracing::warn!(?subject, ?problem, "OpenID sign-in refused: no usable user name");
            return refuse(StatusCode::FORBIDDEN, "oidc.no_name", String::new());
        }
    };
    match oidc::admit(&rt, &provider.config.issuer, &id).await? {
        Admission::Admitted(u) => {
            let session = session::sign_in(&rt, &u.name, secure).await?;
            tracing::info!(user = ?u.name, roles = ?u.roles, admin = u.admin, "signed in through the OpenID provider");
            let next = safe_next(&login.next).unwrap_or("/");
            Ok((AppendHeaders([(header::SET_COOKIE, session), (header::SET_COOKIE, clear)]), Redirect::to(next))
                .into_response())
        }
        Admission::NoRole => {
            tracing::warn!(user = ?id.name, groups = ?id.groups, "OpenID sign-in refused: no Trámite role");
            refuse(StatusCode::FORBIDDEN, "oidc.no_role", format!("({})", id.name))
        }
        Admission::Disabled => {
            tracing::warn!(user = ?id.name, "OpenID sign-in refused: the user is disabled");
            refuse(StatusCode::FORBIDDEN, "oidc.disabled", String::new())
        }
        Admission::Taken => {
            tracing::warn!(user = ?id.name, ?subject, "OpenID sign-in refused: the name belongs to another account");
            refuse(StatusCode::FORBIDDEN, "oidc.taken", format!("({})", id.name))
        }
    }
}
