//! Sign-in with a user name and password (set by `tramite user add --password-stdin`), and
//! sign-out. Failed attempts are throttled and hashes bounded by the application's sign-in
//! guard (`app::sign_in`); this module speaks HTML.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::WebError;
use super::i18n::Lang;
use super::page::Chrome;
use super::session::{self, LOGIN_COOKIE, is_https, safe_next, set_cookie};
use crate::app::sign_in::SignIn;
use crate::http::auth::new_token;
use crate::runtime::Runtime;

/// The client's address: the connection's peer, or — when the server trusts its reverse proxy
/// — the last address the proxy appended to `X-Forwarded-For`. `None` when neither is known
/// (in-process calls).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<Arc<Runtime>> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, rt: &Arc<Runtime>) -> Result<ClientAddress, Self::Rejection> {
        let forwarded = rt.sign_in.policy().trust_forwarded_for.then(|| {
            parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|a| a.trim().parse::<IpAddr>().ok())
        });
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientAddress(forwarded.flatten().or(peer)))
    }
}

#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage {
    c: Chrome,
    token: String,
    next: String,
    name: String,
    /// Why the last attempt was refused (empty: it was not).
    error: String,
    /// The OpenID provider's name for the "Entrar con …" button (`serve --oidc`).
    oidc: Option<String>,
    next_encoded: String,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// The sign-in form, with a fresh double-submit token in a cookie scoped to `/login`; with
/// `error`, answered with `status`.
fn login_form(
    rt: &Runtime,
    lang: Lang,
    headers: &HeaderMap,
    next: &str,
    name: &str,
    status: StatusCode,
    error: String,
) -> Result<Response, WebError> {
    let token = new_token();
    let page = LoginPage {
        c: Chrome::bare(lang, lang.t("login.title")),
        token: token.clone(),
        next: next.to_string(),
        name: name.to_string(),
        error,
        oidc: rt.oidc.as_ref().map(|p| p.config.display_name.clone()),
        next_encoded: super::page::urlencode(next),
    };
    let cookie = set_cookie(LOGIN_COOKIE, &token, "/login", Some(3600), "Strict", is_https(headers));
    Ok((status, [(header::SET_COOKIE, cookie)], Html(page.render()?)).into_response())
}

pub async fn login_page(
    State(rt): State<Arc<Runtime>>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Result<Response, WebError> {
    let next = q.next.as_deref().and_then(safe_next).unwrap_or("/");
    if session::load(&rt, &headers, uri.query()).await?.is_some() {
        return Ok(Redirect::to(next).into_response());
    }
    login_form(&rt, Lang::of_request(uri.query(), &headers), &headers, next, "", StatusCode::OK, String::new())
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
    ClientAddress(address): ClientAddress,
    uri: Uri,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let lang = Lang::of_request(uri.query(), &headers);
    let next = safe_next(&f.next).unwrap_or("/").to_string();
    let name = f.name.trim().to_string();
    let outcome = crate::app::sign_in::sign_in(&rt, &name, &f.password, address)
        .await
        .map_err(|e| WebError::from_app(e, lang))?;
    match outcome {
        SignIn::Accepted(u) => {
            let cookie = session::sign_in(&rt, &u.name, is_https(&headers)).await?;
            let clear = set_cookie(LOGIN_COOKIE, "", "/login", Some(0), "Strict", is_https(&headers));
            tracing::info!(user = ?u.name, ?address, "signed in");
            Ok((AppendHeaders([(header::SET_COOKIE, cookie), (header::SET_COOKIE, clear)]), Redirect::to(&next))
                .into_response())
        }
        SignIn::Refused => {
            tracing::warn!(user = ?name, ?address, "sign-in refused");
            login_form(&rt, lang, &headers, &next, &name, StatusCode::UNAUTHORIZED, lang.t("login.failed").to_string())
        }
        SignIn::Locked { retry_after } => {
            tracing::warn!(user = ?name, ?address, retry_after, "sign-in refused: too many failures");
            let minutes = retry_after.div_ceil(60);
            let error = format!("{} {minutes} {}", lang.t("login.locked"), lang.t("login.locked_minutes"));
            let mut res = login_form(&rt, lang, &headers, &next, &name, StatusCode::TOO_MANY_REQUESTS, error)?;
            res.headers_mut().insert(header::RETRY_AFTER, retry_after.into());
            Ok(res)
        }
        SignIn::Busy => {
            tracing::warn!(user = ?name, ?address, "sign-in turned away: password hashes busy");
            let error = lang.t("login.busy").to_string();
            let mut res = login_form(&rt, lang, &headers, &next, &name, StatusCode::SERVICE_UNAVAILABLE, error)?;
            res.headers_mut().insert(header::RETRY_AFTER, 1u64.into());
            Ok(res)
        }
    }
}

pub async fn logout(State(rt): State<Arc<Runtime>>, headers: HeaderMap) -> Result<Response, WebError> {
    let cookie = session::sign_out(&rt, &headers).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response())
}
