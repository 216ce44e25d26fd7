//! Harness for browser tests: Debian's headless Chromium driven through chromedriver (WebDriver)
//! with fantoccini, users with passwords, a cookie-keeping HTTP client for the web pages, and
//! screenshots under `target/screenshots/`.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::common::{BIN, free_port, repo};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const PASSWORD: &str = "clave-segura-2026";

/// Creates a user with a web password (and an API token, returned).
pub fn add_user_with_password(db: &str, name: &str, roles: &[&str], admin: bool) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(["user", "add", name, "--database", db, "--password-stdin"]);
    for r in roles {
        cmd.args(["--role", r]);
    }
    if admin {
        cmd.arg("--admin");
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A chromedriver (and the Chromium it starts), ended when dropped. As root (CI, the shared
/// development machine) it runs in a PID namespace of its own (`unshare --pid`): whatever
/// signals chromedriver or Chromium send cannot reach processes outside, and ending the
/// namespace's first process ends all of them.
pub struct Driver {
    child: Child,
    contained: bool,
    pub url: String,
    pub dir: PathBuf,
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
}

impl Driver {
    /// Starts chromedriver on a free loopback port. Fails (never skips) when Chromium is missing.
    pub fn start(dir: &Path) -> Driver {
        assert!(
            Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
            "install Debian's chromium and chromium-driver (scripts/test does)"
        );
        // Chromium hangs at start when its profile path holds `..`.
        let dir = dir.canonicalize().unwrap();
        let port = free_port();
        let contained = is_root() && Path::new("/usr/bin/unshare").exists();
        let mut cmd = if contained {
            let mut c = Command::new("/usr/bin/unshare");
            c.args(["--pid", "--fork", "--kill-child", "--mount-proc", CHROMEDRIVER]);
            c
        } else {
            Command::new(CHROMEDRIVER)
        };
        let child = cmd
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", dir.join("chromedriver.log").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start; see {}", dir.display());
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, contained, url: format!("http://127.0.0.1:{port}"), dir }
    }

    /// A new headless browser session with a fresh profile, downloading into `downloads()`.
    pub async fn browser(&self, width: u32, height: u32) -> Client {
        let profile = self.dir.join(format!("profile-{}", super::common::free_port()));
        std::fs::create_dir_all(&profile).unwrap();
        std::fs::create_dir_all(self.downloads()).unwrap();
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--disable-breakpad".into(),
            "--disable-crash-reporter".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                "prefs": {
                    "download.default_directory": self.downloads().display().to_string(),
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                    "safebrowsing.enabled": false,
                    // People in Mexico: the UI must come up in Spanish.
                    "intl.accept_languages": "es-MX,es",
                },
            },
        });
        let caps = caps.as_object().unwrap().clone();
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client =
            ClientBuilder::new(connector).capabilities(caps).connect(&self.url).await.expect("a WebDriver session");
        client.set_window_size(width, height).await.unwrap();
        client
    }

    pub fn downloads(&self) -> PathBuf {
        self.dir.join("downloads")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Contained: killing `unshare` kills chromedriver (--kill-child), the namespace's first
        // process, and with it every process in the namespace. Otherwise chromedriver leads its
        // own process group, which holds the Chromium processes it started: each is ended by
        // its own positive pid. Never signal a group or -1 from here.
        let group = self.child.id();
        let members = if self.contained { Vec::new() } else { group_members(group) };
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in members.into_iter().filter(|p| *p > 1 && *p != group && *p != std::process::id()) {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
        }
    }
}

/// Pids whose process group is `pgid`, read from `/proc`.
fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return out };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        // Fields after the command name (which may hold spaces) start after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // state ppid pgrp …
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) {
            out.push(pid);
        }
    }
    out
}

/// Signs in through the form and waits for the inbox.
pub async fn sign_in(c: &Client, base: &str, name: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("#name")).await.unwrap().send_keys(name).await.unwrap();
    c.find(Locator::Css("#password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    c.find(Locator::Css("form[action='/login'] button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_path(c, "/inbox").await;
}

pub async fn sign_out(c: &Client) {
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();
    wait_path(c, "/login").await;
}

/// Waits until the page's path is `path`.
pub async fn wait_path(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = c.current_url().await.unwrap();
        if url.path() == path {
            return;
        }
        assert!(Instant::now() < deadline, "still at {url}, expected {path}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of the first element matching `css`. An element replaced between finding and
/// reading it (htmx swapping a list) is looked up again.
pub async fn text(c: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}`: {e}"));
        match found.text().await {
            Ok(t) => return t,
            Err(e) if e.to_string().contains("stale element") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("`{css}`: {e}"),
        }
    }
}

/// The current value of a form control.
pub async fn value(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css)).await.unwrap().prop("value").await.unwrap().unwrap_or_default()
}

/// Saves a screenshot as `target/screenshots/NAME.png`.
pub async fn screenshot(c: &Client, name: &str) {
    let dir = repo().join("target").join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Waits for a finished download ending in `ext` and returns its path.
pub fn wait_download(dir: &Path, ext: &str) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == ext) {
                    return p;
                }
            }
        }
        assert!(Instant::now() < deadline, "no .{ext} download in {}", dir.display());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A plain HTTP client for the web pages that keeps its cookies by hand and never follows
/// redirects (so tests see each 303 and each `Set-Cookie`).
pub struct WebClient {
    pub base: String,
    http: reqwest::blocking::Client,
    pub cookies: Vec<(String, String)>,
}

/// A response: status, `Location`, body.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl WebClient {
    pub fn new(base: &str) -> WebClient {
        let http = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        WebClient { base: base.to_string(), http, cookies: Vec::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, r: &reqwest::blocking::Response) {
        for v in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !val.is_empty() && !attrs.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), val.to_string()));
            }
        }
    }

    fn finish(&mut self, r: reqwest::blocking::Response) -> Page {
        self.keep(&r);
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let location = headers.get(reqwest::header::LOCATION).map(|v| v.to_str().unwrap().to_string());
        Page { status, location, body: r.text().unwrap(), headers }
    }

    /// `path` on this client's server, or an absolute URL as it is (another server on
    /// loopback, whose cookies this client keeps too, as a browser does for one host).
    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn send_get(&self, path: &str) -> reqwest::blocking::Response {
        self.http.get(self.url(path)).header(reqwest::header::COOKIE, self.cookie_header()).send().unwrap()
    }

    pub fn get(&mut self, path: &str) -> Page {
        let r = self.send_get(path);
        self.finish(r)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
        let r = self
            .http
            .post(self.url(path))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .unwrap();
        self.finish(r)
    }

    /// Posts a body of this content type (a multipart form).
    pub fn post_body(&mut self, path: &str, content_type: &str, body: Vec<u8>) -> Page {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .unwrap();
        self.finish(r)
    }

    /// A download: status, headers and the bytes as sent.
    pub fn get_bytes(&mut self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let r = self.send_get(path);
        (r.status().as_u16(), r.headers().clone(), r.bytes().unwrap().to_vec())
    }

    /// Signs in through the form; returns the session's CSRF token (read from the inbox page).
    pub fn sign_in(&mut self, name: &str, password: &str) -> Page {
        let login = self.get("/login");
        assert_eq!(login.status, 200);
        let token = csrf_of(&login.body);
        self.post("/login", &[("_csrf", &token), ("name", name), ("password", password), ("next", "/inbox")])
    }
}

/// The first `_csrf` hidden field of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").unwrap_or_else(|| panic!("no CSRF field in {html}"));
    let rest = &html[at + 20..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
