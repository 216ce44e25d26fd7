//! Browser sessions and CSRF protection.
//!
//! Signing in stores a session row keyed by the SHA-256 of a random cookie token (the cookie is
//! `HttpOnly`, `SameSite=Lax`, `Secure` behind HTTPS). Each session has its own random CSRF
//! token; [`csrf_guard`] refuses every POST whose `_csrf` field (or `X-CSRF-Token` header) does
//! not match it. The sign-in form itself is protected by a double-submit cookie.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::ToSpan;
use tramite_engine::machine::Actor;

use super::error::WebError;
use super::i18n::Lang;
use crate::http::auth::{new_token, token_hash};
use crate::runtime::Runtime;
use crate::store::UserRow;

pub const SESSION_COOKIE: &str = "tramite_session";
pub const LOGIN_COOKIE: &str = "tramite_login";
pub const LANG_COOKIE: &str = "tramite_lang";
/// How long a sign-in lasts.
const SESSION_HOURS: i64 = 12;

/// The value of cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// A `Set-Cookie` value with the flags every Trámite cookie carries.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: Option<i64>, same_site: &str, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite={same_site}");
    if let Some(s) = max_age {
        c.push_str(&format!("; Max-Age={s}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// Whether the request reached us over HTTPS (directly or through a proxy that says so).
pub fn is_https(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// Equality that takes the same time wherever the strings differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The signed-in user of a page, with the session's CSRF token and the page language.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: UserRow,
    pub csrf: String,
    pub lang: Lang,
}

impl Session {
    pub fn actor(&self) -> Actor {
        Actor { user: self.user.name.clone(), roles: self.user.roles.clone(), admin: self.user.admin }
    }
}

/// Creates a session for `user`; returns the `Set-Cookie` value.
pub async fn sign_in(rt: &Runtime, user: &str, secure: bool) -> Result<String, WebError> {
    let token = new_token();
    let now = rt.now();
    let expires = now.checked_add(SESSION_HOURS.hours()).unwrap_or(now);
    rt.store.insert_session(&token_hash(&token), user, &new_token(), now, expires).await?;
    Ok(set_cookie(SESSION_COOKIE, &token, "/", Some(SESSION_HOURS * 3600), "Lax", secure))
}

/// Ends the request's session; returns the `Set-Cookie` value that clears the cookie.
pub async fn sign_out(rt: &Runtime, headers: &HeaderMap) -> Result<String, WebError> {
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        rt.store.delete_session(&token_hash(&token)).await?;
    }
    Ok(set_cookie(SESSION_COOKIE, "", "/", Some(0), "Lax", is_https(headers)))
}

/// The session of a request, if it has a live one.
pub async fn load(rt: &Runtime, parts_headers: &HeaderMap, query: Option<&str>) -> Result<Option<Session>, WebError> {
    let Some(token) = cookie(parts_headers, SESSION_COOKIE) else { return Ok(None) };
    let lang = Lang::of_request(query, parts_headers);
    Ok(rt.store.session(&token_hash(&token), rt.now()).await?.map(|s| Session { user: s.user, csrf: s.csrf, lang }))
}

impl FromRequestParts<Arc<Runtime>> for Session {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, rt: &Arc<Runtime>) -> Result<Session, WebError> {
        if let Some(s) = parts.extensions.get::<Session>() {
            return Ok(s.clone());
        }
        match load(rt, &parts.headers, parts.uri.query()).await? {
            Some(s) => Ok(s),
            None => {
                let next = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
                Err(WebError::SignIn { next })
            }
        }
    }
}

/// The `_csrf` field of a URL-encoded body.
fn csrf_field(body: &[u8]) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v)
}

/// Whether a path is one of the forms that may carry files: `/new/{process}`, `/tasks/{id}`.
fn takes_files(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(parts.as_slice(), ["new" | "tasks", id] if !id.is_empty())
}

/// The `_csrf` part of a multipart body, read from a copy of it.
async fn multipart_csrf(headers: &HeaderMap, bytes: Bytes) -> Option<String> {
    let boundary = multer::parse_boundary(headers.get(header::CONTENT_TYPE)?.to_str().ok()?).ok()?;
    let body = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(bytes) });
    let mut form = multer::Multipart::new(body, boundary);
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("_csrf") {
            return field.text().await.ok();
        }
    }
    None
}

/// Refuses any POST without the right CSRF token (403). Pages reached by GET pass untouched.
/// On success the session is left in the request for the handler.
pub async fn csrf_guard(State(rt): State<Arc<Runtime>>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let lang = Lang::of_request(req.uri().query(), req.headers());
    let multipart = super::posted::is_multipart(req.headers());
    // Only the forms that take files may send large bodies, and only for someone signed in:
    // nothing larger than a plain form is read before that is known.
    let with_files = multipart && takes_files(req.uri().path());
    if with_files {
        match load(&rt, req.headers(), req.uri().query()).await {
            Ok(Some(_)) => {}
            Ok(None) => return WebError::SignIn { next: "/inbox".into() }.into_response(),
            Err(e) => return e.into_response(),
        }
    }
    let limit = if with_files { crate::http::upload_limit(&rt) } else { crate::http::BODY_LIMIT };
    let (mut parts, body) = req.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let mut cause: Option<&dyn std::error::Error> = Some(&e);
            let mut too_large = false;
            while let Some(c) = cause {
                too_large |= c.to_string().contains("length limit");
                cause = c.source();
            }
            if too_large {
                let message = format!("> {}", tramite_engine::files::show_size(limit as u64));
                return WebError::Upload(lang, message, true).into_response();
            }
            return WebError::BadRequest(lang).into_response();
        }
    };
    let header_token = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string);
    let from_body = if multipart { multipart_csrf(&parts.headers, bytes.clone()).await } else { csrf_field(&bytes) };
    let given = header_token.or(from_body).unwrap_or_default();
    let ok = if parts.uri.path() == "/login" {
        // No session yet: the token must match the one set in the sign-in form's cookie.
        cookie(&parts.headers, LOGIN_COOKIE).is_some_and(|c| !c.is_empty() && same(&c, &given))
    } else {
        match load(&rt, &parts.headers, parts.uri.query()).await {
            Ok(Some(s)) => {
                let ok = !given.is_empty() && same(&s.csrf, &given);
                parts.extensions.insert(s);
                ok
            }
            Ok(None) => {
                let next = parts
                    .headers
                    .get(header::REFERER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(local_path)
                    .unwrap_or("/inbox")
                    .to_string();
                return WebError::SignIn { next }.into_response();
            }
            Err(e) => return e.into_response(),
        }
    };
    if !ok {
        tracing::warn!(path = ?parts.uri.path(), "form refused: missing or wrong CSRF token");
        return WebError::Csrf(lang).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The path part of a same-site URL (absolute or relative), never another origin.
pub fn local_path(url: &str) -> Option<&str> {
    let path = match url.find("://") {
        Some(i) => &url[i + 3..][url[i + 3..].find('/')?..],
        None => url,
    };
    safe_next(path)
}

/// `next` if it is an absolute path on this site, to redirect to after signing in: one `/`,
/// then not `/` or `\` (`//host` and `/\host` leave the site, and browsers drop tabs and
/// newlines, so `/\t/host` is `//host` to them), no `\`, no control character or whitespace
/// anywhere, and a valid path and query. Anything else is `None` (callers go to `/`).
pub fn safe_next(next: &str) -> Option<&str> {
    let mut chars = next.chars();
    let plain = chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !next.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
        && next.parse::<axum::http::uri::PathAndQuery>().is_ok();
    plain.then_some(next)
}

/// Remembers `?lang=` in a cookie so later pages keep the language.
pub async fn remember_lang(req: Request, next: Next) -> Response {
    let chosen = req.uri().query().and_then(super::i18n::query_lang);
    let secure = is_https(req.headers());
    let mut res = next.run(req).await;
    if let Some(l) = chosen
        && let Ok(v) = set_cookie(LANG_COOKIE, l.code(), "/", Some(365 * 86400), "Lax", secure).parse()
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_task_and_start_forms_take_files() {
        assert!(takes_files("/tasks/i-1.3") && takes_files("/new/conocer.c45-correos"));
        assert!(!takes_files("/tasks/i-1.3/claim") && !takes_files("/login") && !takes_files("/new/"));
        assert!(!takes_files("/admin/users") && !takes_files("/tasks"));
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/tasks/1"), Some("/tasks/1"));
        assert_eq!(safe_next("/inbox?sla=warning&process=a.b"), Some("/inbox?sla=warning&process=a.b"));
        assert_eq!(safe_next("/"), Some("/"));
        for leaves in [
            "//evil.example/x",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/inbox\\..\\x",
            "https://evil.example/",
            "evil.example",
            "",
            "/inbox\r\nSet-Cookie: a=b",
            "/inbox\u{0}",
            "/inbox\u{7f}",
            "/a b",
            "/a\u{a0}b",
            "/a\u{2028}b",
        ] {
            assert_eq!(safe_next(leaves), None, "{leaves:?}");
        }
        assert_eq!(local_path("http://127.0.0.1:8080/inbox?sla=ok"), Some("/inbox?sla=ok"));
        assert_eq!(local_path("http://127.0.0.1:8080"), None);
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; tramite_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
