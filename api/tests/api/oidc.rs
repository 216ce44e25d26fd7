//! Signing in with the institution's accounts (`serve --oidc`) through a real OpenID provider:
//! `tests/oidc/provider.js`, the certified `oidc-provider` package on loopback, which
//! `scripts/test` starts and names in `TRAMITE_TEST_OIDC`. Each test registers its own client
//! (the provider checks redirect URIs exactly) for a server on a port chosen beforehand. Headless
//! Chromium signs in through the provider's own login page; the other tests walk the same pages
//! with a plain HTTP client. Without `TRAMITE_TEST_OIDC` they say so and pass.

use crate::common;
use crate::web;

use std::process::Command;

use common::{BIN, Db, Server, database, free_port, repo, scratch};
use fantoccini::Locator;
use serde_json::{Value, json};
use web::{Driver, Page, WebClient};

/// The test provider, or `None` (and a line saying the test is skipped).
fn provider(test: &str) -> Option<TestProvider> {
    match std::env::var("TRAMITE_TEST_OIDC") {
        Ok(issuer) if !issuer.is_empty() => Some(TestProvider { issuer }),
        _ => {
            eprintln!("skipped: {test} (TRAMITE_TEST_OIDC is not set; scripts/test starts the provider and sets it)");
            None
        }
    }
}

/// The provider's address. Its blocking HTTP clients live only within each call, so async
/// tests may hold it.
struct TestProvider {
    issuer: String,
}

impl TestProvider {
    /// Registers a client whose redirect URI is `redirect`; its id and secret.
    fn register(&self, redirect: &str) -> (String, String) {
        let body = json!({
            "redirect_uris": [redirect], "grant_types": ["authorization_code"], "response_types": ["code"],
        });
        let r = reqwest::blocking::Client::new().post(format!("{}/reg", self.issuer)).json(&body).send().unwrap();
        assert_eq!(r.status().as_u16(), 201, "registration refused");
        let v: Value = r.json().unwrap();
        (v["client_id"].as_str().unwrap().to_string(), v["client_secret"].as_str().unwrap().to_string())
    }

    /// Creates or changes an account of the provider.
    fn set_groups(&self, account: &str, groups: &[&str]) {
        let url = format!("{}/test/accounts/{account}", self.issuer);
        let r = reqwest::blocking::Client::new().put(url).json(&json!({"groups": groups})).send();
        assert_eq!(r.unwrap().status().as_u16(), 204);
    }
}

/// `tramite serve --oidc` over the shipped processes, with a client of its own at the provider:
/// `cc-operadores` gives `operador`, `ti-admins` makes admins.
fn serve(db: &Db, name: &str, p: &TestProvider) -> Server {
    let dir = scratch(name);
    let url = database(db, &dir).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let (client_id, secret) = p.register(&format!("{base}/auth/oidc/callback"));
    let file = dir.join("oidc.yaml");
    let config = format!(
        "issuer: {}\nclient_id: {client_id}\nclient_secret_env: TEST_OIDC_SECRET\nbase_url: {base}\ndisplay_name: Cuenta de prueba\nscopes: [openid, profile, email, groups]\ngroups:\n  cc-operadores: [operador]\nadmin_groups: [ti-admins]\n",
        p.issuer
    );
    std::fs::write(&file, config).unwrap();
    let args = ["--no-watch", "--listen", &format!("127.0.0.1:{port}"), "--oidc", file.to_str().unwrap()];
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env = [("TEST_OIDC_SECRET".to_string(), secret)];
    Server::start_with(&url, &dir, None, &repo().join("processes"), "info", &args, &env)
}

/// `tramite user list` of the server's database.
fn user_list(s: &Server) -> String {
    let out = Command::new(BIN).args(["user", "list", "--database", &s.db]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn user_line(s: &Server, name: &str) -> Option<String> {
    user_list(s).lines().find(|l| l.starts_with(&format!("{name}  "))).map(str::to_string)
}

/// `Location` resolved against the URL it answered.
fn resolve(from: &str, location: &str) -> String {
    if location.starts_with("http") {
        return location.to_string();
    }
    let origin_end = from.find("://").map(|i| i + 3).and_then(|i| from[i..].find('/').map(|j| i + j));
    format!("{}{location}", &from[..origin_end.unwrap_or(from.len())])
}

/// Follows redirects from `url` until a page answers (or the way leads back to Trámite's
/// callback, when `stop_at_callback`); the last URL and page.
fn follow(c: &mut WebClient, url: &str, stop_at_callback: bool) -> (String, Page) {
    let mut url = url.to_string();
    for _ in 0..10 {
        let page = c.get(&url);
        match (page.status, &page.location) {
            (302 | 303, Some(to)) => {
                let next = resolve(&url, to);
                if stop_at_callback && next.contains("/auth/oidc/callback") {
                    return (next, page);
                }
                url = next;
            }
            _ => return (url, page),
        }
    }
    panic!("too many redirects from {url}");
}

/// Signs in at the provider as `login` through its login form, without a browser; Trámite's
/// callback URL with the code and state.
fn provider_login(c: &mut WebClient, login: &str, next: &str) -> String {
    let start = c.get(&format!("/auth/oidc/start?next={next}"));
    assert_eq!(start.status, 303, "{}", start.body);
    let to = start.location.unwrap();
    let (at, form) = follow(c, &to, true);
    if at.contains("/auth/oidc/callback") {
        return at; // the provider still had a session
    }
    assert!(form.body.contains("name=\"login\""), "no login form at {at}: {}", form.body);
    let action = form.body.split("action=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();
    let posted = c.post(&resolve(&at, &action), &[("prompt", "login"), ("login", login), ("password", "cualquiera")]);
    let back = posted.location.unwrap_or_else(|| panic!("login not accepted: {}", posted.body));
    let (callback, _) = follow(c, &resolve(&at, &back), true);
    assert!(callback.contains("/auth/oidc/callback"), "the provider did not send us back: {callback}");
    callback
}

/// Signs in as `login` through the provider and returns Trámite's answer to the callback.
fn sign_in_as(s: &Server, login: &str) -> (WebClient, Page) {
    let mut c = WebClient::new(&s.base);
    let callback = provider_login(&mut c, login, "/inbox");
    let page = c.get(&callback);
    (c, page)
}

/// Headless Chromium: the sign-in page offers the provider beside the password form; the
/// provider's own login page signs `ana` in, landing on the inbox with the role her group maps
/// to; `admin` comes in as an admin; a local password still signs in.
async fn browser_signs_in_through_the_provider(db: Db) {
    let Some(p) = provider("browser_signs_in_through_the_provider") else { return };
    // Registration uses a blocking client: off the test's async runtime.
    let s = std::thread::scope(|t| t.spawn(|| serve(&db, "oidc-browser", &p)).join().unwrap());
    web::add_user_with_password(&s.db, "local", &["operador"], false);
    let driver = Driver::start(&s.dir);
    let c = driver.browser(1280, 900).await;
    for (login, admin) in [("ana", false), ("admin", true)] {
        c.goto(&format!("{}/login?next=%2Finbox", s.base)).await.unwrap();
        let button = web::text(&c, "#oidc-sign-in").await;
        assert_eq!(button, "Entrar con Cuenta de prueba");
        c.find(Locator::Css("#oidc-sign-in")).await.unwrap().click().await.unwrap();
        let field = c.wait().for_element(Locator::Css("input[name=login]")).await.unwrap();
        assert!(c.current_url().await.unwrap().as_str().starts_with(&p.issuer), "at the provider");
        field.send_keys(login).await.unwrap();
        c.find(Locator::Css("input[name=password]")).await.unwrap().send_keys("cualquiera").await.unwrap();
        c.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
        web::wait_path(&c, "/inbox").await;
        assert!(web::text(&c, "header .who").await.contains(login));
        if admin {
            c.goto(&format!("{}/admin", s.base)).await.unwrap();
            web::wait_path(&c, "/admin").await;
            assert!(c.source().await.unwrap().contains("href=\"/admin/users\""), "admins see the users page");
        } else {
            web::screenshot(&c, &format!("oidc-inbox-{db:?}")).await;
        }
        web::sign_out(&c).await;
        // The provider's session too, so the next account signs in afresh.
        c.delete_all_cookies().await.unwrap();
    }
    assert_eq!(user_line(&s, "ana").unwrap(), "ana  roles: operador");
    assert_eq!(user_line(&s, "admin").unwrap(), "admin  roles: -  [admin]");
    web::sign_in(&c, &s.base, "local").await;
    c.close().await.unwrap();
}

/// An account whose groups map to no role gets a page saying so (403), no session, and no user.
fn accounts_without_a_role_are_refused(db: Db) {
    let Some(p) = provider("accounts_without_a_role_are_refused") else { return };
    let s = serve(&db, "oidc-norole", &p);
    let (mut c, page) = sign_in_as(&s, "nadie");
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("no tiene ningún rol en Trámite"), "{}", page.body);
    assert!(!c.cookies.iter().any(|(k, _)| k == "tramite_session"));
    assert_eq!(c.get("/inbox").status, 303, "not signed in");
    assert_eq!(user_line(&s, "nadie"), None);
    assert!(s.log().contains("OpenID sign-in refused: no Trámite role"), "{}", s.log());
}

/// The way back must carry the state this browser was given, once: a changed state, a missing
/// cookie, a replayed callback and an error from the provider are refused with a page.
fn the_way_back_is_checked(db: Db) {
    let Some(p) = provider("the_way_back_is_checked") else { return };
    let s = serve(&db, "oidc-state", &p);
    let mut c = WebClient::new(&s.base);
    let callback = provider_login(&mut c, "ana", "/inbox");
    let state = callback.split("state=").nth(1).unwrap().split('&').next().unwrap().to_string();

    let tampered = callback.replace(&format!("state={state}"), &format!("state={state}x"));
    let page = c.get(&tampered);
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("id=\"oidc-refused\""), "{}", page.body);
    let mut stranger = WebClient::new(&s.base);
    assert_eq!(stranger.get(&callback).status, 400, "another browser cannot finish this sign-in");

    let page = c.get(&callback);
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/inbox")), "{}", page.body);
    assert_eq!(c.get("/inbox").status, 200);
    let again = c.get(&callback);
    assert_eq!(again.status, 400, "a sign-in is finished once");

    let mut d = WebClient::new(&s.base);
    let start = d.get("/auth/oidc/start?next=%2F%2Fevil.example");
    let to = start.location.unwrap();
    let state = to.split("state=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let page = d.get(&format!("/auth/oidc/callback?error=access_denied&state={state}"));
    assert_eq!(page.status, 401, "{}", page.body);
    assert!(page.body.contains("access_denied"));
    let page = d.get("/auth/oidc/callback?code=abc");
    assert_eq!(page.status, 400);
    assert!(!s.log().contains("panicked"));
}

/// Roles are the provider's at every sign-in: a group added, changed or taken away shows at the
/// next one; with no group left the user keeps no role and is refused.
fn roles_follow_the_provider(db: Db) {
    let Some(p) = provider("roles_follow_the_provider") else { return };
    let s = serve(&db, "oidc-roles", &p);
    let account = format!("cambia-{}-{}", std::process::id(), free_port());
    p.set_groups(&account, &["cc-operadores"]);
    let (_, page) = sign_in_as(&s, &account);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(user_line(&s, &account).unwrap(), format!("{account}  roles: operador"));
    p.set_groups(&account, &["ti-admins", "otro"]);
    let (mut c, page) = sign_in_as(&s, &account);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(user_line(&s, &account).unwrap(), format!("{account}  roles: -  [admin]"));
    assert_eq!(c.get("/admin").status, 200);
    p.set_groups(&account, &[]);
    let (_, page) = sign_in_as(&s, &account);
    assert_eq!(page.status, 403);
    assert_eq!(user_line(&s, &account).unwrap(), format!("{account}  roles: -"));
    assert_eq!(c.get("/admin").status, 403, "the session left open lost admin with the group");
}

/// A user disabled with `tramite user disable` cannot sign in through the provider either; a
/// local user's name is never taken over by a provider account, and their password still works.
fn disabled_and_local_users_stay_out(db: Db) {
    let Some(p) = provider("disabled_and_local_users_stay_out") else { return };
    let s = serve(&db, "oidc-disabled", &p);
    let (_, page) = sign_in_as(&s, "ana");
    assert_eq!(page.status, 303, "{}", page.body);
    let out = Command::new(BIN).args(["user", "disable", "ana", "--database", &s.db]).output().unwrap();
    assert!(out.status.success());
    let (_, page) = sign_in_as(&s, "ana");
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("deshabilitada"), "{}", page.body);

    web::add_user_with_password(&s.db, "admin", &["operador"], false);
    let (_, page) = sign_in_as(&s, "admin");
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("ya pertenece a otra cuenta"), "{}", page.body);
    assert_eq!(user_line(&s, "admin").unwrap(), "admin  roles: operador", "the local user is as it was");
    let mut c = WebClient::new(&s.base);
    let page = c.sign_in("admin", web::PASSWORD);
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/inbox")), "{}", page.body);
}

/// A wrong `--oidc` file stops the server at start, saying what is wrong.
#[test]
fn a_wrong_file_stops_the_server() {
    let dir = scratch("oidc-file");
    let file = dir.join("oidc.yaml");
    std::fs::write(&file, "issuer: http://login.example.edu\nclient_id: t\nbase_url: https://t.example.edu\n").unwrap();
    let db = format!("sqlite://{}", dir.join("t.db").display());
    let out = Command::new(BIN).args(["serve", "--database", &db, "--oidc", file.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--oidc") && err.contains("`issuer`") && err.contains("https://"), "{err}");
}

macro_rules! on_both {
    (async: $($a:ident),* ; sync: $($s:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $a() { super::$a(super::Db::Sqlite).await })*
            $(#[test] fn $s() { super::$s(super::Db::Sqlite) })*
        }
        mod postgres {
            $(#[tokio::test] async fn $a() { super::$a(super::Db::Postgres).await })*
            $(#[test] fn $s() { super::$s(super::Db::Postgres) })*
        }
    };
}

on_both!(
    async: browser_signs_in_through_the_provider;
    sync: accounts_without_a_role_are_refused, the_way_back_is_checked, roles_follow_the_provider, disabled_and_local_users_stay_out
);
