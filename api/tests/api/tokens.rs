//! API tokens and users as admins manage them, on SQLite and PostgreSQL: tokens expire (90
//! days unless told otherwise) and can be revoked; a disabled user can neither sign in nor use
//! a token or a session; `tramite user list` shows who has what.

use crate::common;
use crate::in_process;

use std::process::Command;

use axum::http::StatusCode;
use common::{BIN, Db};
use in_process::{Answer, App, addr};
use tramite::cli::user::{issue_token, listing, render, revoke, set_disabled};

const TREE: &[(&str, &str)] = &[(
    "processes/uno.yaml",
    "process: prueba.uno\ntitle: Uno\ncalendar: mx\nroles:\n  operador: Operador\nstart:\n  roles: [operador]\nsteps:\n  hacer:\n    task: Hacer\n    role: operador\n    next: end\n",
)];

const DAY: i64 = 86_400;

fn refused(a: &Answer, code: &str) {
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert!(a.header("content-type").is_some_and(|c| c.starts_with("application/json")));
    assert_eq!(a.json()["error"]["code"], code, "{}", a.body);
}

/// A token works for 90 days from its creation, then is refused with `token_expired`.
async fn tokens_expire_after_90_days(db: Db) {
    let app = App::new(&db, "tokens-expire", TREE).await;
    let ana = app.user("ana", &["operador"], false, None).await;
    assert_eq!(app.get("/api/inbox", &ana).await.status, StatusCode::OK);
    app.advance(90 * DAY - 1);
    assert_eq!(app.get("/api/inbox", &ana).await.status, StatusCode::OK);
    app.advance(1);
    let a = app.get("/api/inbox", &ana).await;
    refused(&a, "token_expired");
    assert!(a.json()["error"]["message"].as_str().unwrap().contains("expired"), "{}", a.body);
}

const PASSWORD: &str = "clave-de-ana-1";

/// A revoked token is refused (`token_revoked`), the user's others still work; a disabled user
/// cannot sign in, and their session and tokens stop working until they are enabled again.
async fn revoked_tokens_and_disabled_users_are_refused(db: Db) {
    let app = App::new(&db, "tokens-revoke", TREE).await;
    let store = &app.rt.store;
    let now = app.rt.now();
    let ana = app.user("ana", &["operador"], false, Some(PASSWORD)).await;
    let (weekly, weekly_id) = issue_token(store, "ana", 7, now).await.unwrap();
    assert_eq!(app.get("/api/inbox", &weekly).await.status, StatusCode::OK);
    assert!(issue_token(store, "nadie", 7, now).await.is_err());

    assert_eq!(revoke(store, "ana", Some(weekly_id), now).await, Ok(1));
    refused(&app.get("/api/inbox", &weekly).await, "token_revoked");
    assert_eq!(app.get("/api/inbox", &ana).await.status, StatusCode::OK, "the other token still works");
    assert!(revoke(store, "ana", Some(weekly_id), now).await.is_err(), "no live token with that id");
    assert!(revoke(store, "nadie", None, now).await.is_err());

    let cookie = app.session("ana", PASSWORD).await;
    assert_eq!(app.page("/inbox", &cookie, addr("192.0.2.1")).await.status, StatusCode::OK);
    set_disabled(store, "ana", true).await.unwrap();
    refused(&app.get("/api/inbox", &ana).await, "user_disabled");
    let page = app.page("/inbox", &cookie, addr("192.0.2.1")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "the session ended");
    assert!(page.header("location").unwrap().starts_with("/login"));
    assert_eq!(app.sign_in("ana", PASSWORD, addr("192.0.2.1")).await.status, StatusCode::UNAUTHORIZED);

    set_disabled(store, "ana", false).await.unwrap();
    assert_eq!(app.get("/api/inbox", &ana).await.status, StatusCode::OK);
    assert_eq!(app.sign_in("ana", PASSWORD, addr("192.0.2.1")).await.status, StatusCode::SEE_OTHER);
    assert!(set_disabled(store, "nadie", true).await.is_err());

    assert_eq!(revoke(store, "ana", None, now).await, Ok(1), "every live token");
    refused(&app.get("/api/inbox", &ana).await, "token_revoked");
}

/// `user list` shows each user's roles and standing and each token's dates; a token's last use
/// is written at most hourly.
async fn user_list_shows_roles_standing_and_tokens(db: Db) {
    let app = App::new(&db, "tokens-list", TREE).await;
    let store = &app.rt.store;
    let ana = app.user("ana", &["operador"], false, None).await;
    app.user("root", &[], true, None).await;
    let (_, weekly) = issue_token(store, "root", 7, app.rt.now()).await.unwrap();
    set_disabled(store, "root", true).await.unwrap();

    assert_eq!(app.get("/api/inbox", &ana).await.status, StatusCode::OK);
    app.advance(30 * 60);
    assert_eq!(app.get("/api/inbox", &ana).await.status, StatusCode::OK);
    let list = listing(store).await.unwrap();
    let a = list.iter().find(|l| l.account.user.name == "ana").unwrap();
    assert_eq!((a.account.user.roles.clone(), a.account.disabled, a.tokens.len()), (vec!["operador".into()], false, 1));
    assert_eq!(a.tokens[0].last_used_at, Some(in_process::T0.parse().unwrap()), "not written again within the hour");
    app.advance(31 * 60);
    assert_eq!(app.get("/api/inbox", &ana).await.status, StatusCode::OK);
    let list = listing(store).await.unwrap();
    let a = list.iter().find(|l| l.account.user.name == "ana").unwrap();
    assert_eq!(a.tokens[0].last_used_at, Some(app.rt.now()));

    app.advance(8 * DAY);
    let text = render(&listing(store).await.unwrap(), app.rt.now());
    assert!(text.contains("ana  roles: operador\n"), "{text}");
    assert!(text.contains("root  roles: -  [admin, DISABLED]"), "{text}");
    assert!(
        text.contains(&format!(
            "  token {weekly}  created 2026-03-02 15:00 UTC  expired 2026-03-09 15:00 UTC  last used never"
        )),
        "{text}"
    );
    assert!(text.contains("expires 2026-05-31 15:00 UTC  last used 2026-03-02 16:01 UTC"), "{text}");
}

/// The same commands through the `tramite` binary.
async fn user_commands_on_the_command_line(db: Db) {
    let app = App::new(&db, "tokens-cli", TREE).await;
    app.user("ana", &["operador"], false, None).await;
    let tramite = |args: &[&str]| {
        let out = Command::new(BIN).args(args).args(["--database", &app.url]).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, token, _) = tramite(&["user", "token", "ana", "--days", "30"]);
    assert_eq!(code, Some(0));
    assert_eq!(token.trim().len(), 64);
    let (code, list, _) = tramite(&["user", "list"]);
    assert_eq!(code, Some(0));
    assert!(list.starts_with("ana  roles: operador\n  token 1  created"), "{list}");
    assert!(list.contains("  token 2  created"), "{list}");
    assert_eq!(tramite(&["user", "disable", "ana"]).0, Some(0));
    assert!(tramite(&["user", "list"]).1.contains("ana  roles: operador  [DISABLED]"));
    assert_eq!(tramite(&["user", "enable", "ana"]).0, Some(0));
    let (code, _, err) = tramite(&["user", "revoke", "ana", "--token", "99"]);
    assert_eq!(code, Some(1), "{err}");
    let (code, _, err) = tramite(&["user", "revoke", "ana"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("2 token(s)"), "{err}");
    assert_eq!(tramite(&["user", "token", "nadie"]).0, Some(1));
    assert_eq!(tramite(&["user", "token", "ana", "--days", "0"]).0, Some(2), "at least a day");
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::Db::Postgres).await })*
        }
    };
}

on_both!(
    tokens_expire_after_90_days,
    revoked_tokens_and_disabled_users_are_refused,
    user_list_shows_roles_standing_and_tokens,
    user_commands_on_the_command_line
);
