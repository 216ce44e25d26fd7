//! Harness for end-to-end tests: the real `tramite` binary on a loopback port, over SQLite or
//! a real PostgreSQL server, and a real SMTP sink (Python aiosmtpd) when a test needs e-mail.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod smtp;
pub use smtp::{SMTP_PASSWORD, SMTP_USER, SmtpServer, SmtpSink};

pub const BIN: &str = env!("CARGO_BIN_EXE_tramite");

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A scratch folder under `target/`, unique per test.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = repo().join("target").join("e2e").join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A fresh database URL: a new SQLite file, or a new database on the PostgreSQL server named by
/// `TRAMITE_TEST_POSTGRES` (an admin URL; `scripts/test` starts the server and sets it).
/// Always `Some`: a missing server fails the test rather than skipping it.
pub fn database(db: &Db, dir: &Path) -> Option<String> {
    match db {
        Db::Sqlite => Some(format!("sqlite://{}", dir.join("tramite.db").display())),
        Db::Postgres => {
            let admin = std::env::var("TRAMITE_TEST_POSTGRES")
                .expect("TRAMITE_TEST_POSTGRES is not set: run scripts/test, which starts PostgreSQL and sets it");
            let name = format!("t_{}", dir.file_name().unwrap().to_string_lossy().replace('-', "_"));
            let out = Command::new("psql")
                .args([&admin, "-v", "ON_ERROR_STOP=1", "-qc", &format!("CREATE DATABASE {name}")])
                .output()
                .unwrap();
            assert!(out.status.success(), "create database: {}", String::from_utf8_lossy(&out.stderr));
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
            Some(format!("{base}/{name}"))
        }
    }
}

/// Creates a user and returns their token.
pub fn add_user(db: &str, name: &str, roles: &[&str], email: Option<&str>, admin: bool) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(["user", "add", name, "--database", db]);
    for r in roles {
        cmd.args(["--role", r]);
    }
    if let Some(e) = email {
        cmd.args(["--email", e]);
    }
    if admin {
        cmd.arg("--admin");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A running `tramite serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub db: String,
    pub dir: PathBuf,
}

impl Server {
    pub fn start(db: &str, dir: &Path, smtp: Option<&str>) -> Server {
        Server::start_tree(db, dir, smtp, &repo().join("processes"), "warn")
    }

    /// Like `start`, over the definition tree at `processes` (with `forms/` and `calendars/`
    /// beside it) and logging at `log` (a `RUST_LOG` filter), without colours.
    pub fn start_tree(db: &str, dir: &Path, smtp: Option<&str>, processes: &Path, log: &str) -> Server {
        Server::start_with(db, dir, smtp, processes, log, &["--no-watch".into()], &[])
    }

    /// Like `start_tree`, with the file watch on and without e-mail.
    pub fn start_watching(db: &str, dir: &Path, processes: &Path, log: &str) -> Server {
        Server::start_with(db, dir, None, processes, log, &[], &[])
    }

    /// `tramite serve` over the tree at `processes` with more arguments and environment.
    pub fn start_with(
        db: &str,
        dir: &Path,
        smtp: Option<&str>,
        processes: &Path,
        log: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Server {
        std::fs::create_dir_all(dir).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--database", db]);
        // A free port unless the test chose one (`--listen` among `args`).
        if !args.iter().any(|a| a == "--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        // Files in the test's folder unless the test chose a store.
        if !args.iter().any(|a| a == "--files") {
            cmd.arg("--files").arg(dir.join("files"));
        }
        cmd.args(args)
            .arg("--processes")
            .arg(processes)
            .arg("--outbox")
            .arg(dir.join("outbox"))
            .arg("--templates")
            .arg(repo().join("templates"))
            .env("RUST_LOG", log)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join(format!("server-{}.log", std::process::id()))).unwrap(),
            ));
        if let Some(s) = smtp {
            cmd.args(["--smtp", s]);
        }
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("server did not start: {line:?}; see {}", dir.display()))
            .to_string();
        Server { child, base, db: db.to_string(), dir: dir.to_path_buf() }
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("server-{}.log", std::process::id()))).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A small blocking JSON client.
pub struct Api {
    pub base: String,
    pub token: String,
    http: reqwest::blocking::Client,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Api {
        Api { base: base.to_string(), token: token.to_string(), http: reqwest::blocking::Client::new() }
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_with(path, body, None)
    }

    /// Posts a text body (a YAML process file).
    pub fn post_text(&self, path: &str, body: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .body(body.to_string())
            .send()
            .unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }

    /// Like `post`, but a refused connection (a killed server) is `None` instead of a panic.
    pub fn try_post(&self, path: &str, body: Value) -> Option<(u16, Value)> {
        let r = self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(&body).send().ok()?;
        let status = r.status().as_u16();
        Some((status, r.json().ok()?))
    }

    pub fn post_with(&self, path: &str, body: Value, key: Option<&str>) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }
}

/// Polls `f` until it returns `Some`, for at most `secs` seconds.
pub fn eventually<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "condition not reached within {secs} s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Start data for a C.4.5 e-mail received at `received` (the server gives it its folio).
pub fn correo(received: &str) -> Value {
    json!({ "data": {
        "fecha_recepcion": received, "nombre_contacto": "Juana Pérez",
        "correo": "juana@example.org", "pregunta": "¿Cómo me certifico?"
    }})
}

/// A minute ago, as an RFC 3339 instant.
pub fn recent() -> String {
    jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_mins(1)).unwrap().to_string()
}

/// Five business days ago on the Mexican calendar, in local time with its offset.
pub fn five_business_days_ago() -> String {
    use tramite_engine::calendar::{Duration, Unit, builtin};
    let mx = builtin("mx").unwrap();
    let t = mx.sub(jiff::Timestamp::now(), Duration::new(5, Unit::BusinessDays));
    t.to_zoned(mx.zone().clone()).to_string().split('[').next().unwrap().to_string()
}

/// The id of the open task at `step` of an instance as the API shows it.
pub fn task_at(inst: &Value, step: &str) -> String {
    inst["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["step"] == step)
        .unwrap_or_else(|| panic!("no task at {step}: {inst}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}
