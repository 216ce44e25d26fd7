//! The `serve --mailboxes FILE` configuration: which mailboxes start cases of which process.
//! Read and checked once at start; what is wrong is said with the mailbox, the key and how to
//! fix it. Passwords come from a file or an environment variable, never from this file, and are
//! never shown (the `Debug` of a mailbox hides it).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::runtime::Runtime;

/// One entry of the file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMailbox {
    #[serde(default)]
    name: Option<String>,
    process: String,
    url: String,
    user: String,
    /// Only to refuse it with a useful message.
    #[serde(default)]
    password: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    password_env: Option<String>,
    #[serde(default)]
    folder: Option<String>,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    poll_seconds: Option<u64>,
    #[serde(default)]
    move_to: Option<String>,
}

/// How the connection is secured: TLS from the first byte, or STARTTLS (required: a server
/// that does not offer it is not read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Imaps,
    StartTls,
}

/// What is done to a message once its case is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marking {
    /// Flagged `\Seen` (the default).
    Seen,
    /// Moved to this folder (IMAP `MOVE`).
    MoveTo(String),
}

/// A checked mailbox.
#[derive(Clone)]
pub struct MailboxConfig {
    /// Names the mailbox in logs and in the database (default `user@host/folder`).
    pub name: String,
    pub process: String,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
    password: String,
    pub folder: String,
    /// Time between two polls.
    pub poll: Duration,
    pub marking: Marking,
    /// The roots its server's certificate is checked against.
    pub tls: Arc<ClientConfig>,
}

impl fmt::Debug for MailboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailboxConfig")
            .field("name", &self.name)
            .field("process", &self.process)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &"…")
            .field("folder", &self.folder)
            .field("poll", &self.poll)
            .field("marking", &self.marking)
            .finish_non_exhaustive()
    }
}

impl MailboxConfig {
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The same mailbox with another password (tests: a wrong one).
    pub fn with_password(mut self, password: &str) -> MailboxConfig {
        self.password = password.to_string();
        self
    }
}

/// Time between polls unless `poll_seconds` says otherwise.
pub const DEFAULT_POLL: Duration = Duration::from_secs(60);

/// Reads and checks a `--mailboxes` file's text: a YAML list of mailboxes. Relative paths are
/// read from `dir` (the file's folder); `env` reads `password_env`.
pub fn parse(text: &str, dir: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Vec<MailboxConfig>, String> {
    let raw: Vec<RawMailbox> = serde_saphyr::from_str(text).map_err(|e| e.without_snippet().to_string())?;
    if raw.is_empty() {
        return Err("the file lists no mailbox: write a list of mailboxes (`- process: …`)".into());
    }
    let mut system_roots = None;
    let mut out: Vec<MailboxConfig> = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let which = r.name.clone().unwrap_or_else(|| format!("{}", i + 1));
        let m = checked(r, dir, &env, &mut system_roots).map_err(|e| format!("mailbox {which}: {e}"))?;
        if out.iter().any(|o| o.name == m.name) {
            return Err(format!(
                "mailbox {which}: the name `{}` is used twice; give each mailbox its own `name`",
                m.name
            ));
        }
        out.push(m);
    }
    Ok(out)
}

fn checked(
    r: RawMailbox,
    dir: &Path,
    env: &impl Fn(&str) -> Option<String>,
    system_roots: &mut Option<Vec<CertificateDer<'static>>>,
) -> Result<MailboxConfig, String> {
    let (security, host, port) = server(r.url.trim())?;
    let user = r.user.trim().to_string();
    if user.is_empty() {
        return Err("`user` is empty: write the account Trámite signs in as".into());
    }
    let password = match (r.password, r.password_file, r.password_env) {
        (Some(_), _, _) => {
            return Err("`password`: never write the password here; put it in a file (`password_file`) or an environment variable (`password_env`)".into());
        }
        (None, Some(_), Some(_)) => return Err("give `password_file` or `password_env`, not both".into()),
        (None, Some(file), None) => {
            let path = dir.join(file);
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("`password_file` {}: {e}", path.display()))?;
            let line = text.lines().next().unwrap_or_default().to_string();
            if line.is_empty() {
                return Err(format!("`password_file` {}: the first line is empty", path.display()));
            }
            line
        }
        (None, None, Some(var)) => match env(&var) {
            Some(s) if !s.is_empty() => s,
            _ => return Err(format!("`password_env`: the environment variable {var} is not set")),
        },
        (None, None, None) => {
            return Err("the password is missing: give `password_file` (a file holding it) or `password_env` (an environment variable)".into());
        }
    };
    let folder = r.folder.map(|f| f.trim().to_string()).unwrap_or_else(|| "INBOX".into());
    let marking = match r.move_to.map(|f| f.trim().to_string()) {
        None => Marking::Seen,
        Some(f) if f == folder => return Err(format!("`move_to`: {f:?} is the folder read; name another folder")),
        Some(f) => Marking::MoveTo(folder_name("move_to", f)?),
    };
    let folder = folder_name("folder", folder)?;
    let poll = match r.poll_seconds {
        Some(0) => return Err("`poll_seconds` must be at least 1".into()),
        Some(s) => Duration::from_secs(s),
        None => DEFAULT_POLL,
    };
    let ca_file = r.ca_file.map(|f| dir.join(f));
    let tls = tls_config(ca_file.as_deref(), system_roots)?;
    let name = match r.name.map(|n| n.trim().to_string()) {
        Some(n) if n.is_empty() => return Err("`name` is empty".into()),
        Some(n) => n,
        None => format!("{user}@{host}/{folder}"),
    };
    let process = r.process.trim().to_string();
    Ok(MailboxConfig { name, process, host, port, security, user, password, folder, poll, marking, tls })
}

/// `imaps://host[:993]` or `imap://host[:143]` (STARTTLS).
fn server(url: &str) -> Result<(Security, String, u16), String> {
    let bad =
        || format!("`url`: {url:?} is not a mailbox address: write imaps://host:993, or imap://host:143 for STARTTLS");
    let (security, rest, default_port) = if let Some(rest) = url.strip_prefix("imaps://") {
        (Security::Imaps, rest, 993)
    } else if let Some(rest) = url.strip_prefix("imap://") {
        (Security::StartTls, rest, 143)
    } else {
        return Err(bad());
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains(['/', '@', '?', '#']) || rest.contains(char::is_whitespace) {
        return Err(bad());
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && (!h.contains(':') || h.ends_with(']')) => {
            (h, p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?)
        }
        _ => (rest, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    Ok((security, host.to_string(), port))
}

/// A folder name the server is sent as it is (quoted): no line breaks.
fn folder_name(key: &str, f: String) -> Result<String, String> {
    if f.is_empty() || f.contains(['\r', '\n']) {
        return Err(format!("`{key}`: {f:?} is not a folder name"));
    }
    Ok(f)
}

/// TLS with certificates always checked: against the system's roots, and the roots of
/// `ca_file` (PEM) when given, for an institution's own certificate authority.
fn tls_config(
    ca_file: Option<&Path>,
    system_roots: &mut Option<Vec<CertificateDer<'static>>>,
) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    let system = system_roots.get_or_insert_with(|| rustls_native_certs::load_native_certs().certs);
    roots.add_parsable_certificates(system.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("`ca_file` {}: {e}", path.display()))?;
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("`ca_file` {}: {e}", path.display()))?;
            roots.add(cert).map_err(|e| format!("`ca_file` {}: {e}", path.display()))?;
            found += 1;
        }
        if found == 0 {
            return Err(format!("`ca_file` {}: no PEM certificate in it", path.display()));
        }
    }
    if roots.is_empty() {
        return Err("no certificate authority to check the server against: install the system's CA certificates (Debian: ca-certificates) or give `ca_file`".into());
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Checks the mailboxes against the deployed processes: each names a process that is deployed
/// and says in `start.mailbox` which field each part of a message fills.
pub fn check_processes(mailboxes: &[MailboxConfig], rt: &Runtime) -> Result<(), String> {
    for m in mailboxes {
        let Some(d) = rt.deployed(&m.process, None) else {
            let known: Vec<String> = rt
                .registry()
                .all_latest()
                .iter()
                .filter(|d| d.process.start.mailbox.is_some())
                .map(|d| d.process.id.clone())
                .collect();
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return Err(format!(
                "mailbox {}: no process `{}` is deployed (processes with `start.mailbox`: {known})",
                m.name, m.process
            ));
        };
        if d.process.start.mailbox.is_none() {
            return Err(format!(
                "mailbox {}: process `{}` does not say how a message starts a case: add `mailbox:` under its `start:` (docs/language.md)",
                m.name, m.process
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        std::env::temp_dir()
    }

    fn env(var: &str) -> Option<String> {
        (var == "CLAVE").then(|| "secreto".to_string())
    }

    fn one(yaml: &str) -> Result<MailboxConfig, String> {
        parse(yaml, &dir(), env).map(|mut v| v.remove(0))
    }

    #[test]
    fn a_mailbox_with_its_defaults() {
        let m =
            one("- process: p\n  url: imaps://mail.example.org\n  user: contacto\n  password_env: CLAVE\n").unwrap();
        assert_eq!((m.host.as_str(), m.port, m.security), ("mail.example.org", 993, Security::Imaps));
        assert_eq!((m.folder.as_str(), m.poll, &m.marking), ("INBOX", DEFAULT_POLL, &Marking::Seen));
        assert_eq!(m.name, "contacto@mail.example.org/INBOX");
        assert_eq!(m.password(), "secreto");
        assert!(!format!("{m:?}").contains("secreto"), "the password is not shown");
        let m = one("- process: p\n  url: imap://[::1]:1143/\n  user: u\n  password_env: CLAVE\n  move_to: Hechos\n  poll_seconds: 5\n").unwrap();
        assert_eq!((m.host.as_str(), m.port, m.security), ("::1", 1143, Security::StartTls));
        assert_eq!((m.poll, &m.marking), (Duration::from_secs(5), &Marking::MoveTo("Hechos".into())));
    }

    #[test]
    fn mistakes_are_named() {
        let base = "- process: p\n  url: imaps://mail.example.org\n  user: u\n";
        let cases = [
            (format!("{base}  password: secreto\n"), "never write the password here"),
            (format!("{base}  password_env: OTRA\n"), "OTRA is not set"),
            (base.to_string(), "the password is missing"),
            (format!("{base}  password_env: CLAVE\n  password_file: x\n"), "not both"),
            (format!("{base}  password_file: no-such-file-here\n"), "`password_file`"),
            (format!("{base}  password_env: CLAVE\n  ca_file: no-such-ca.pem\n"), "`ca_file`"),
            (format!("{base}  password_env: CLAVE\n  poll_seconds: 0\n"), "at least 1"),
            (format!("{base}  password_env: CLAVE\n  move_to: INBOX\n"), "the folder read"),
            (format!("{base}  password_env: CLAVE\n  pasword: x\n"), "pasword"),
            (
                "- process: p\n  url: http://mail.example.org\n  user: u\n  password_env: CLAVE\n".into(),
                "imaps://host:993",
            ),
            (
                "- process: p\n  url: imaps://u:p@mail.example.org\n  user: u\n  password_env: CLAVE\n".into(),
                "not a mailbox address",
            ),
            ("[]".into(), "no mailbox"),
        ];
        for (yaml, wanted) in cases {
            let e = parse(&yaml, &dir(), env).unwrap_err();
            assert!(e.contains(wanted), "{yaml:?}: {e}");
        }
        let twice = format!("{base}  password_env: CLAVE\n{base}  password_env: CLAVE\n");
        assert!(parse(&twice, &dir(), env).unwrap_err().contains("used twice"));
    }
}
