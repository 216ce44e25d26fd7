//! Harness for tests that need the server's clock or its insides: the real router (`http::app`)
//! over a runtime on a [`ManualClock`], called in process with `tower::ServiceExt::oneshot`, on
//! a fresh SQLite file or PostgreSQL database. Requests can carry a client address
//! (`ConnectInfo`), as `tramite serve` gives them.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use jiff::Timestamp;
use serde_json::Value;
use tower::ServiceExt;
use tramite::app::{self, UserForm};
use tramite::clock::ManualClock;
use tramite::mail::Templates;
use tramite::runtime::Runtime;
use tramite::store::Store;
use tramite_engine::machine::Actor;

use super::common::{Db, database, repo, scratch};

/// An answer: status, headers, body as text.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The values of every `Set-Cookie` as `name=value`.
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().to_string())
            .collect()
    }
}

/// The router, the runtime and its manual clock.
pub struct App {
    pub rt: Arc<Runtime>,
    pub clock: Arc<ManualClock>,
    pub router: Router,
    pub dir: PathBuf,
    pub url: String,
}

/// The instant every test starts at: a Monday morning in Mexico City.
pub const T0: &str = "2026-03-02T15:00:00Z";

impl App {
    /// A fresh database with `files` (path under the tree → text, e.g. `processes/p.yaml`,
    /// `forms/f.yaml`) deployed beside the shipped calendars.
    pub async fn new(db: &Db, name: &str, files: &[(&str, &str)]) -> App {
        let dir = scratch(name);
        let url = database(db, &dir).unwrap();
        App::at(&url, &dir, files).await
    }

    /// Like [`App::new`], over the database at `url` (migrated to the latest version first).
    pub async fn at(url: &str, dir: &Path, files: &[(&str, &str)]) -> App {
        let (dir, url) = (dir.to_path_buf(), url.to_string());
        let tree = dir.join("tree");
        for (path, text) in files {
            let p = tree.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        std::fs::create_dir_all(tree.join("processes")).unwrap();
        copy_dir(&repo().join("calendars"), &tree.join("calendars"));
        let clock = Arc::new(ManualClock::new(T0.parse().unwrap()));
        let store = Store::open(&url).await.unwrap();
        let rt = Arc::new(Runtime::new(store, Templates::load(None).unwrap(), clock.clone()));
        rt.set_files(tramite::blobs::Blobs::local(dir.join("files")).unwrap());
        rt.start_writer();
        let d = rt.deploy_paths(&[tree.join("processes")]).await.unwrap();
        assert!(
            d.not_deployed.is_empty(),
            "not deployed: {:?}",
            d.not_deployed.iter().map(|n| &n.rendered).collect::<Vec<_>>()
        );
        let router = tramite::http::app(rt.clone());
        App { rt, clock, router, dir, url }
    }

    /// Moves the clock on by `secs` seconds.
    pub fn advance(&self, secs: i64) {
        let now: Timestamp = tramite::clock::Clock::now(&*self.clock);
        self.clock.set(now.checked_add(jiff::SignedDuration::from_secs(secs)).unwrap());
    }

    /// Creates a user as an admin would (roles one per entry); their API token.
    pub async fn user(&self, name: &str, roles: &[&str], admin: bool, password: Option<&str>) -> String {
        let form = UserForm {
            name: name.into(),
            email: String::new(),
            roles: roles.join("\n"),
            admin,
            password: password.unwrap_or_default().into(),
        };
        app::add_user(&self.rt, &Actor::admin("setup"), &form).await.unwrap()
    }

    /// One request through the router.
    pub async fn send(&self, req: Request<Body>) -> Answer {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024 * 1024).await.unwrap();
        Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes: bytes.to_vec() }
    }

    /// A JSON API call with a bearer token (`body` sent as JSON when given).
    pub async fn api(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Answer {
        let mut req =
            Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.api(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.api(Method::POST, path, token, Some(body)).await
    }

    /// Starts an instance with an `Idempotency-Key`.
    pub async fn start_with_key(&self, process: &str, token: &str, key: &str) -> Answer {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/processes/{process}/instances"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", key)
            .body(Body::from(r#"{"data":{}}"#))
            .unwrap();
        self.send(req).await
    }

    /// A web page (GET) with these cookies, from `from`.
    pub async fn page(&self, path: &str, cookies: &str, from: SocketAddr) -> Answer {
        let mut req = Request::builder().uri(path).header(header::COOKIE, cookies).body(Body::empty()).unwrap();
        req.extensions_mut().insert(ConnectInfo(from));
        self.send(req).await
    }

    /// The sign-in form posted from `from` (the form token fetched first, as a browser does).
    pub async fn sign_in(&self, name: &str, password: &str, from: SocketAddr) -> Answer {
        self.sign_in_next(name, password, "/inbox", from).await
    }

    pub async fn sign_in_next(&self, name: &str, password: &str, next: &str, from: SocketAddr) -> Answer {
        let form = self.page("/login", "", from).await;
        let cookie = form.cookies().into_iter().find(|c| c.starts_with("tramite_login=")).unwrap();
        let token = cookie.trim_start_matches("tramite_login=").to_string();
        let body = serde_urlencoded::to_string([
            ("_csrf", token.as_str()),
            ("name", name),
            ("password", password),
            ("next", next),
        ])
        .unwrap();
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/login")
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        req.extensions_mut().insert(ConnectInfo(from));
        self.send(req).await
    }

    /// The session cookie (`tramite_session=…`) of a successful sign-in.
    pub async fn session(&self, name: &str, password: &str) -> String {
        let a = self.sign_in(name, password, addr("192.0.2.1")).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        a.cookies().into_iter().find(|c| c.starts_with("tramite_session=")).unwrap()
    }
}

/// A client address on port 40000.
pub fn addr(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 40000)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
