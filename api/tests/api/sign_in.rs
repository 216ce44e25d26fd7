//! Signing in to the web UI under attack, on SQLite and PostgreSQL: failed attempts are
//! throttled per account and per client address on the server's clock, password hashes run a
//! few at a time however many attempts arrive, `next` never leaves the site, and what an
//! attacker types never forges a log line.

use crate::common;
use crate::in_process;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use common::Db;
use in_process::{App, addr};

/// One process, so users have a role to hold.
const TREE: &[(&str, &str)] = &[(
    "processes/uno.yaml",
    "process: prueba.uno\ntitle: Uno\ncalendar: mx\nroles:\n  operador: Operador\nstart:\n  roles: [operador]\nsteps:\n  hacer:\n    task: Hacer\n    role: operador\n    next: end\n",
)];

const PASSWORD: &str = "clave-correcta-1";

/// Five wrong passwords for one account lock it for the window (15 minutes on the server's
/// clock), even for the right password and from another address; the page says so and
/// `Retry-After` says how long. A success clears the account's count.
async fn failures_lock_the_account(db: Db) {
    let app = App::new(&db, "signin-account", TREE).await;
    app.user("ana", &["operador"], false, Some(PASSWORD)).await;
    let from = addr("198.51.100.7");

    // Four failures, a success, four more: never locked.
    for _ in 0..4 {
        assert_eq!(app.sign_in("ana", "mala", from).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.sign_in("ana", PASSWORD, from).await.status, StatusCode::SEE_OTHER);
    for _ in 0..4 {
        assert_eq!(app.sign_in("ana", "mala", from).await.status, StatusCode::UNAUTHORIZED);
    }
    // The fifth failure in the window locks the account.
    assert_eq!(app.sign_in("ana", "mala", from).await.status, StatusCode::UNAUTHORIZED);
    let locked = app.sign_in("ana", "mala", from).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{}", locked.body);
    let right = app.sign_in("ana", PASSWORD, addr("203.0.113.9")).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "the right password is refused while locked");
    let wait: i64 = right.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    assert!(right.body.contains("Demasiados intentos fallidos"), "{}", right.body);
    assert!(right.cookies().iter().all(|c| !c.starts_with("tramite_session=")));

    app.advance(wait - 1);
    assert_eq!(app.sign_in("ana", PASSWORD, from).await.status, StatusCode::TOO_MANY_REQUESTS);
    app.advance(1);
    let a = app.sign_in("ana", PASSWORD, from).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
}

/// Failures from one address over many accounts (known or not) lock that address; other
/// addresses still sign in.
async fn failures_lock_the_address(db: Db) {
    let app = App::new(&db, "signin-address", TREE).await;
    app.user("ana", &["operador"], false, Some(PASSWORD)).await;
    let attacker = addr("198.51.100.66");
    let mut refused = 0;
    for i in 0..40 {
        let a = app.sign_in(&format!("nadie{i}"), "mala", attacker).await;
        match a.status {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::TOO_MANY_REQUESTS => break,
            s => panic!("{s}: {}", a.body),
        }
    }
    assert_eq!(refused, 20, "twenty failures from one address, then 429");
    let a = app.sign_in("ana", PASSWORD, attacker).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.header("retry-after").is_some());
    assert_eq!(app.sign_in("ana", PASSWORD, addr("198.51.100.67")).await.status, StatusCode::SEE_OTHER);
}

/// 64 sign-ins at once never run more password hashes at a time than the server has permits
/// for; those that wait too long are told to come back (503), none fails.
async fn hashes_run_a_few_at_a_time(db: Db) {
    let app = Arc::new(App::new(&db, "signin-hashes", TREE).await);
    app.user("ana", &["operador"], false, Some(PASSWORD)).await;
    let mut attempts = Vec::new();
    for i in 0..64u8 {
        let app = app.clone();
        attempts.push(tokio::spawn(async move {
            // Half the right password, half unknown names (one each, so no lock intervenes).
            let (name, password) =
                if i % 2 == 0 { ("ana".to_string(), PASSWORD) } else { (format!("nadie{i}"), "mala") };
            app.sign_in(&name, password, addr(&format!("10.0.{}.{}", i / 8, i % 8 + 1))).await.status
        }));
    }
    for a in attempts {
        let status = a.await.unwrap();
        assert!(
            [StatusCode::SEE_OTHER, StatusCode::UNAUTHORIZED, StatusCode::SERVICE_UNAVAILABLE].contains(&status),
            "{status}"
        );
    }
    let guard = &app.rt.sign_in;
    assert!(guard.peak_hashes() >= 1, "the hashes ran");
    assert!(
        guard.peak_hashes() <= guard.policy().hash_permits,
        "{} hashes ran at once, with {} permits",
        guard.peak_hashes(),
        guard.policy().hash_permits
    );
}

/// `next` is followed only as a path on this site; anything else goes to `/`.
async fn next_stays_on_the_site(db: Db) {
    let app = App::new(&db, "signin-next", TREE).await;
    app.user("ana", &["operador"], false, Some(PASSWORD)).await;
    let cookie = app.session("ana", PASSWORD).await;
    let from = addr("192.0.2.1");
    for (next, to) in [
        ("%2F%09%2Fevil.example", "/"),
        ("//evil.example/", "/"),
        ("%2F%5Cevil.example", "/"),
        ("https://evil.example/", "/"),
        ("%2Finbox%0D%0ASet-Cookie:%20x=1", "/"),
        ("%2Finbox%00", "/"),
        ("%2Fa%20b", "/"),
        ("%2Ftasks%2F1%3Fx%3D1", "/tasks/1?x=1"),
    ] {
        let a = app.page(&format!("/login?next={next}"), &cookie, from).await;
        assert_eq!((a.status, a.header("location")), (StatusCode::SEE_OTHER, Some(to)), "next={next}");
    }
    let a = app.sign_in_next("ana", PASSWORD, "/\t/evil.example", from).await;
    assert_eq!((a.status, a.header("location")), (StatusCode::SEE_OTHER, Some("/")));
    let a = app.sign_in_next("ana", PASSWORD, "/tasks/7", from).await;
    assert_eq!(a.header("location"), Some("/tasks/7"));
}

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything this test binary logs (the process has one global subscriber; per-thread ones miss
/// events of tasks that run elsewhere).
fn captured_log() -> &'static Captured {
    static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

/// A sign-in name (or a task id in a URL) with a newline and a terminal escape is logged
/// escaped: one event, one line.
async fn typed_names_do_not_forge_log_lines(db: Db) {
    let log = captured_log();
    let app = App::new(&db, "signin-log", TREE).await;
    app.user("ana", &["operador"], false, Some(PASSWORD)).await;
    let marker = format!("intruso-{db:?}");
    let name = format!("{marker}\nFORGED INFO tramite: signed in user=root\u{1b}[2J");
    assert_eq!(app.sign_in(&name, "mala", addr("192.0.2.9")).await.status, StatusCode::UNAUTHORIZED);
    // A task id in a URL is decoded before it is logged: escaped too.
    let cookie = app.session("ana", PASSWORD).await;
    let page = app.page(&format!("/tasks/{marker}%0AFORGED%20line%1B%5B2J"), &cookie, addr("192.0.2.9")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let out = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
    assert!(out.lines().any(|l| l.contains("sign-in refused") && l.contains(&marker)), "{out}");
    assert!(out.lines().any(|l| l.contains("task page refused") && l.contains(&marker)), "{out}");
    assert!(!out.contains('\u{1b}'), "a raw escape reached the log: {out:?}");
    assert!(!out.lines().any(|l| l.starts_with("FORGED")), "a forged line: {out}");
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
    failures_lock_the_account,
    failures_lock_the_address,
    hashes_run_a_few_at_a_time,
    next_stays_on_the_site,
    typed_names_do_not_forge_log_lines
);
