//! SMTP servers on loopback for the tests that send e-mail: a sink that takes anything, and a
//! mail server as an institution runs one, with TLS and AUTH.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{free_port, repo};

/// A real SMTP server on loopback (aiosmtpd) writing each message to a maildir.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
}

impl SmtpSink {
    pub fn start(dir: &Path) -> SmtpSink {
        SmtpSink::start_on(dir, free_port())
    }

    /// A sink on `port` (a relay that comes back where it was).
    pub fn start_on(dir: &Path, port: u16) -> SmtpSink {
        let maildir = dir.join("maildir");
        let mut child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/test installs it)");
        let ready = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if !ready {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("aiosmtpd did not start: {}", String::from_utf8_lossy(&out.stderr));
        }
        SmtpSink { child, port, maildir }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The raw text of every message received so far.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in entries.flatten() {
                    out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The user and password [`SmtpServer`] accepts.
pub const SMTP_USER: &str = "tramite";
pub const SMTP_PASSWORD: &str = "correo-s3creto";

/// A real mail server on loopback as an institution runs one (tests/smtp/server.py, aiosmtpd):
/// STARTTLS required, or TLS from the first byte (`smtps`); AUTH required, for [`SMTP_USER`]
/// with [`SMTP_PASSWORD`]; a certificate for 127.0.0.1 from a CA of its own (`ca.pem` in its
/// folder, kept when it starts again there). Stopped when dropped.
pub struct SmtpServer {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    pub smtps: bool,
}

impl SmtpServer {
    pub fn start(dir: &Path, smtps: bool) -> SmtpServer {
        SmtpServer::start_on(dir, smtps, free_port())
    }

    /// On `port`: the same server back after it was stopped.
    pub fn start_on(dir: &Path, smtps: bool, port: u16) -> SmtpServer {
        SmtpServer::spawn(dir, smtps, port, None)
    }

    /// With a certificate for `names` only (comma-separated host names and addresses).
    pub fn start_named(dir: &Path, smtps: bool, names: &str) -> SmtpServer {
        SmtpServer::spawn(dir, smtps, free_port(), Some(names))
    }

    fn spawn(dir: &Path, smtps: bool, port: u16, names: Option<&str>) -> SmtpServer {
        std::fs::create_dir_all(dir).unwrap();
        let log = dir.join(format!("server-{port}.log"));
        let mut cmd = Command::new("python3");
        cmd.arg(repo().join("tests/smtp/server.py")).arg("--dir").arg(dir);
        cmd.args(["--port", &port.to_string(), "--user", SMTP_USER, "--password", SMTP_PASSWORD]);
        if smtps {
            cmd.arg("--smtps");
        }
        if let Some(n) = names {
            cmd.args(["--names", n]);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .expect("python3 with aiosmtpd and cryptography (scripts/test installs them)");
        let ready = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            dir.join("ca.pem").is_file() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if !ready {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tests/smtp/server.py did not start: {}", std::fs::read_to_string(&log).unwrap_or_default());
        }
        SmtpServer { child: Some(child), port, dir: dir.to_path_buf(), smtps }
    }

    /// A CA and a server certificate it signs in `dir`, no server: a CA that signed nothing
    /// another server shows.
    pub fn make_ca(dir: &Path) -> PathBuf {
        let out = Command::new("python3")
            .arg(repo().join("tests/smtp/server.py"))
            .arg("--dir")
            .arg(dir)
            .arg("--certificates-only")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        dir.join("ca.pem")
    }

    /// The CA that signed the server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// `--smtp` for this server, with its user: `smtps://…` or `smtp://…?tls=required`.
    pub fn url(&self) -> String {
        match self.smtps {
            true => format!("smtps://{SMTP_USER}@127.0.0.1:{}", self.port),
            false => format!("smtp://{SMTP_USER}@127.0.0.1:{}?tls=required", self.port),
        }
    }

    /// Every message accepted so far: `user`, `tls` (the protocol version), `from`, `to`,
    /// `message_id`, `data`.
    pub fn received(&self) -> Vec<Value> {
        SmtpServer::lines(&self.dir.join("received.jsonl"))
    }

    /// Every AUTH attempt so far: `user`, `ok`, `tls`.
    pub fn logins(&self) -> Vec<Value> {
        SmtpServer::lines(&self.dir.join("auth.jsonl"))
    }

    fn lines(file: &Path) -> Vec<Value> {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// Stops the server, as a mail server goes down.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
