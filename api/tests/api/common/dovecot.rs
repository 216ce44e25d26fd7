//! A real IMAP server for the mailbox tests: Dovecot (Debian's `dovecot-imapd`, which
//! `scripts/test` installs) started per test from a configuration written in the test's folder —
//! one user in a passwd file, Maildir storage, TLS with a certificate made for the test (the
//! `openssl` command), IMAPS and IMAP (STARTTLS, no plain-text sign-in) on free loopback ports —
//! and stopped when dropped. Messages go in as Maildir files; the flags Dovecot keeps in their
//! file names say whether a message was marked.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::common::free_port;

pub const USER: &str = "buzon";
/// When every delivered message arrived at the server.
pub const ARRIVED: &str = "2026-03-02T16:00:00Z";
pub const PASSWORD: &str = "secreto-de-prueba";

/// A Dovecot of a test, killed when dropped.
pub struct Dovecot {
    child: Option<Child>,
    pub dir: PathBuf,
    pub imaps_port: u16,
    pub imap_port: u16,
    /// The certificate authority that signed the server's certificate: the one to trust.
    pub ca: PathBuf,
    conf: PathBuf,
    /// The user's Maildir.
    pub maildir: PathBuf,
    /// Who owns the mail (root may not: Dovecot refuses mail of UID 0).
    owner: (u32, u32),
}

impl Dovecot {
    /// A Dovecot for the test whose scratch folder is `scratch` (its name is in the server's
    /// folder's name). The server's folder is under the system's temporary folder, not the
    /// scratch folder: Dovecot's unprivileged processes must reach it, and a checkout may sit
    /// under a home folder only its owner may enter.
    pub fn start(scratch: &Path) -> Dovecot {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = scratch.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let dir = std::env::temp_dir().join(format!("tramite-dovecot-{name}-{}", N.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let ca = certificates(&dir);
        let me = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&dir).unwrap());
        let root = me == 0;
        // As root, the mail belongs to `nobody`; otherwise to whoever runs the test, and every
        // Dovecot process runs as them.
        let owner = if root {
            (65534, 65534)
        } else {
            (me, std::os::unix::fs::MetadataExt::gid(&std::fs::metadata(&dir).unwrap()))
        };
        let users = if root {
            String::new()
        } else {
            let name = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
            let name = name.trim();
            format!("default_internal_user = {name}\ndefault_login_user = {name}\ndefault_internal_group = {name}\n")
        };
        let mail = dir.join("mail");
        let maildir = mail.join(USER);
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        std::fs::write(dir.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let (imaps_port, imap_port) = (free_port(), free_port());
        let d = dir.display();
        let conf = dir.join("dovecot.conf");
        std::fs::write(
            &conf,
            format!(
                "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n{users}\
                 protocols = imap\nlisten = 127.0.0.1\nssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n\
                 disable_plaintext_auth = yes\nauth_mechanisms = plain login\nmail_location = maildir:{d}/mail/%u\n\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
                 userdb {{\n  driver = static\n  args = uid={} gid={} home={d}/mail/%u\n}}\n\
                 service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap_port}\n  }}\n\
                 inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps_port}\n    ssl = yes\n  }}\n}}\n",
                owner.0, owner.1
            ),
        )
        .unwrap();
        let mut d = Dovecot { child: None, dir, imaps_port, imap_port, ca, conf, maildir, owner };
        d.own();
        d.run();
        d
    }

    /// Gives the mail to its owner.
    fn own(&self) {
        if self.owner.0 == 0 {
            return;
        }
        fn walk(p: &Path, owner: (u32, u32)) {
            let _ = std::os::unix::fs::chown(p, Some(owner.0), Some(owner.1));
            if p.is_dir() {
                for e in std::fs::read_dir(p).unwrap().flatten() {
                    walk(&e.path(), owner);
                }
            }
        }
        walk(&self.dir.join("mail"), self.owner);
    }

    fn run(&mut self) {
        // Debian's, in /usr/sbin (which a user's PATH may lack).
        let bin = if Path::new("/usr/sbin/dovecot").exists() { "/usr/sbin/dovecot" } else { "dovecot" };
        let child = Command::new(bin)
            .arg("-F")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot (scripts/test installs Debian's dovecot-imapd)");
        self.child = Some(child);
        let ready = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            [self.imaps_port, self.imap_port].iter().all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
        });
        assert!(ready, "dovecot did not start: {}", self.log());
    }

    /// Stops the server (the mail stays).
    pub fn stop(&mut self) {
        if let Some(c) = self.child.take() {
            terminate(c);
        }
        // Its children (login, imap, auth) end once the master is gone; wait for the ports.
        let closed = (0..100).any(|_| {
            let open = [self.imaps_port, self.imap_port]
                .iter()
                .any(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok());
            if open {
                std::thread::sleep(Duration::from_millis(100));
            }
            !open
        });
        assert!(closed, "dovecot still answers after being stopped");
    }

    /// Starts the server again on the same ports.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// Stops the server and renumbers the folder as a rebuilt server would: a new UIDVALIDITY,
    /// and UIDs from `next_uid`.
    pub fn renumber(&mut self, uidvalidity: u32, next_uid: u32) {
        self.stop();
        for e in std::fs::read_dir(&self.maildir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("dovecot") {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
        std::fs::write(self.maildir.join("dovecot-uidlist"), format!("3 V{uidvalidity} N{next_uid}\n")).unwrap();
        self.own();
        self.run();
    }

    /// Makes a folder beside the inbox, as a mail program would.
    pub fn create_folder(&self, name: &str) {
        let folder = self.maildir.join(format!(".{name}"));
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(folder.join(sub)).unwrap();
        }
        std::fs::write(folder.join("maildirfolder"), "").unwrap();
        self.own();
    }

    /// Puts a message in the inbox, as a delivery agent writes it, received at [`ARRIVED`]
    /// (Dovecot reads a Maildir message's arrival from its file's time).
    pub fn deliver(&self, raw: &str) {
        static N: AtomicU32 = AtomicU32::new(0);
        let name =
            format!("{}.M{}P{}.tramite-test", 1_700_000_000, N.fetch_add(1, Ordering::SeqCst), std::process::id());
        let tmp = self.maildir.join("tmp").join(&name);
        std::fs::write(&tmp, crlf(raw)).unwrap();
        let arrived =
            std::time::UNIX_EPOCH + Duration::from_secs(ARRIVED.parse::<jiff::Timestamp>().unwrap().as_second() as u64);
        std::fs::File::options().write(true).open(&tmp).unwrap().set_modified(arrived).unwrap();
        let _ = std::os::unix::fs::chown(&tmp, Some(self.owner.0), Some(self.owner.1));
        std::fs::rename(&tmp, self.maildir.join("new").join(&name)).unwrap();
    }

    /// Each message of `folder` (`""`: the inbox) by its subject: whether it is flagged `\Seen`.
    pub fn seen(&self, folder: &str) -> BTreeMap<String, bool> {
        let base = if folder.is_empty() { self.maildir.clone() } else { self.maildir.join(format!(".{folder}")) };
        let mut out = BTreeMap::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(base.join(sub)) else { continue };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let flags = name.rsplit_once(":2,").map(|(_, f)| f.to_string()).unwrap_or_default();
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let subject =
                    text.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap_or_default().trim().to_string();
                out.insert(subject, flags.contains('S'));
            }
        }
        out
    }

    /// A `--mailboxes` entry for this server: `imaps` or `imap` (STARTTLS), trusting its
    /// certificate, the password in the environment variable `password_env`.
    pub fn mailbox_yaml(&self, process: &str, scheme: &str, password_env: &str, extra: &str) -> String {
        let port = if scheme == "imaps" { self.imaps_port } else { self.imap_port };
        format!(
            "- name: contacto\n  process: {process}\n  url: {scheme}://127.0.0.1:{port}\n  user: {USER}\n  password_env: {password_env}\n  ca_file: {}\n{extra}",
            self.ca.display()
        )
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(c) = self.child.take() {
            terminate(c);
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Stops Dovecot as its service would (SIGTERM: the master stops its children too), or kills it.
fn terminate(mut c: Child) {
    let asked = Command::new("kill").args(["-TERM", &c.id().to_string()]).status().is_ok_and(|s| s.success());
    let ended = asked
        && (0..50).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            matches!(c.try_wait(), Ok(Some(_)))
        });
    if !ended {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// A certificate authority of the test (`ca.pem`) and a server certificate it signed for
/// 127.0.0.1 and localhost (`cert.pem`, `key.pem`), as an institution's own CA would; returns
/// the CA's path.
fn certificates(dir: &Path) -> PathBuf {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("the openssl command");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Tramite test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "cert.pem",
    ]);
    dir.join("ca.pem")
}

/// `raw` with CRLF line ends, as messages are stored and sent.
pub fn crlf(raw: &str) -> String {
    raw.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// A plain message from `from` (an address, or `Name <address>`) with `subject` and `body`.
pub fn message(from: &str, subject: &str, body: &str) -> String {
    let id = subject.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    format!(
        "Message-ID: <{id}@example.org>\nDate: Mon, 2 Mar 2026 08:30:00 -0600\nFrom: {from}\nTo: contacto@example.org\n\
         Subject: {subject}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}\n"
    )
}
