//! The institution's mail server as `--smtp` names it: TLS from the first byte (`smtps://`),
//! STARTTLS required (`smtp://`, the default for any host but this machine), or plain SMTP to a
//! relay on this machine. AUTH takes a user from the URL or `--smtp-user` and a password from a
//! file or the environment, never from the command line. Certificates are always verified,
//! against the system's CAs and those of `--smtp-ca`.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use super::access::{Password, SmtpAccess};

/// How long one exchange with the mail server may wait for it.
const TIMEOUT: Duration = Duration::from_secs(10);

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`smtps://`, port 465).
    ImplicitTls,
    /// Plain at first, then STARTTLS, which the server must offer (`smtp://`, port 587).
    StartTls,
    /// No TLS at all: a relay on this machine, or one named with `?tls=none` (port 25).
    Plain,
}

/// A mail server `--smtp` and its companions name, checked; shown without its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailServer {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// The user to authenticate as, with its password.
    pub login: Option<(String, Password)>,
    /// CA certificates trusted besides the system's.
    pub ca: Option<PathBuf>,
}

impl MailServer {
    /// Reads `smtps://[USER@]HOST[:PORT]` or `smtp://[USER@]HOST[:PORT][?tls=required|none]`
    /// with `access`. A password inside the URL is refused: it would show in the process list
    /// and the shell's history. Error messages never repeat the URL, which might hold one.
    pub fn new(url: &str, access: SmtpAccess) -> Result<MailServer, String> {
        let expected = "expected smtps://[USER@]HOST[:PORT] or smtp://[USER@]HOST[:PORT][?tls=required|none]";
        let parsed = url::Url::parse(url).map_err(|e| format!("--smtp: not a URL ({e}); {expected}"))?;
        if parsed.password().is_some() {
            return Err("--smtp: the URL holds a password; give it in a file (--smtp-password-file FILE) \
                        or in TRAMITE_SMTP_PASSWORD, never on the command line"
                .into());
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(format!("--smtp: no host; {expected}")),
        };
        if !matches!(parsed.path(), "" | "/") || parsed.fragment().is_some() {
            return Err(format!("--smtp: a mail server URL has no path; {expected}"));
        }
        let mut tls = None;
        for (key, value) in parsed.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "required") => tls = Some(Security::StartTls),
                ("tls", "none") => tls = Some(Security::Plain),
                ("tls", other) => return Err(format!("--smtp: tls={other}: write tls=required or tls=none")),
                (other, _) => return Err(format!("--smtp: unknown parameter `{other}`; {expected}")),
            }
        }
        let security = match (parsed.scheme(), tls) {
            ("smtps", None) => Security::ImplicitTls,
            ("smtps", Some(_)) => {
                return Err("--smtp: smtps:// is TLS from the first byte; `tls=` is for smtp:// only".into());
            }
            ("smtp", Some(t)) => t,
            ("smtp", None) if is_this_machine(&host) => Security::Plain,
            ("smtp", None) => Security::StartTls,
            (other, _) => return Err(format!("--smtp: unknown scheme `{other}://`; {expected}")),
        };
        let port = parsed.port().unwrap_or(match security {
            Security::ImplicitTls => 465,
            Security::StartTls => 587,
            Security::Plain => 25,
        });
        let in_url = percent_encoding::percent_decode_str(parsed.username())
            .decode_utf8()
            .map_err(|_| "--smtp: the user is not UTF-8".to_string())?
            .into_owned();
        let user = match (in_url.is_empty(), access.user) {
            (false, Some(_)) => return Err("--smtp: the user is given twice, in the URL and by --smtp-user".into()),
            (false, None) => Some(in_url),
            (true, user) => user,
        };
        let login = match (user, access.password) {
            (Some(user), Some(password)) => Some((user, password)),
            (Some(user), None) => {
                return Err(format!(
                    "--smtp: user `{user}` needs a password: --smtp-password-file FILE or TRAMITE_SMTP_PASSWORD"
                ));
            }
            (None, Some(_)) => {
                return Err("--smtp: a password without a user: name it in the URL (smtps://USER@HOST) \
                            or with --smtp-user"
                    .into());
            }
            (None, None) => None,
        };
        if security == Security::Plain && login.is_some() {
            return Err("--smtp: AUTH over plain SMTP would send the password in clear: use smtps:// or \
                        STARTTLS (smtp:// without tls=none)"
                .into());
        }
        if security == Security::Plain && access.ca.is_some() {
            return Err("--smtp-ca: the connection has no TLS (a relay on this machine, or tls=none)".into());
        }
        Ok(MailServer { host, port, security, login, ca: access.ca })
    }

    /// The lettre transport to this server. Reads the CA file now, so a bad one stops the start.
    pub fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.host.as_str()).port(self.port);
        let builder = match self.security {
            Security::Plain => builder,
            Security::StartTls => builder.tls(Tls::Required(self.tls_parameters()?)),
            Security::ImplicitTls => builder.tls(Tls::Wrapper(self.tls_parameters()?)),
        };
        let builder = match &self.login {
            Some((user, password)) => builder
                .credentials(Credentials::new(user.clone(), password.reveal().to_string()))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]),
            None => builder,
        };
        Ok(builder.timeout(Some(TIMEOUT)).build())
    }

    /// Verification against the system's CAs and those of `--smtp-ca`, for this host's name.
    fn tls_parameters(&self) -> Result<TlsParameters, String> {
        let mut params = TlsParameters::builder(self.host.clone());
        if let Some(file) = &self.ca {
            let pem = std::fs::read(file).map_err(|e| format!("--smtp-ca {}: {e}", file.display()))?;
            if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                return Err(format!("--smtp-ca {}: no PEM certificate in the file", file.display()));
            }
            let cert = Certificate::from_pem(&pem).map_err(|e| format!("--smtp-ca {}: {e}", file.display()))?;
            params = params.add_root_certificate(cert);
        }
        params.build().map_err(|e| format!("--smtp: setting up TLS: {e}"))
    }
}

impl fmt::Display for MailServer {
    /// The server as a URL without the password, for the log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.security == Security::ImplicitTls { "smtps" } else { "smtp" };
        let user = self.login.as_ref().map(|(u, _)| format!("{u}@")).unwrap_or_default();
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let tls = match (self.security, is_this_machine(&self.host)) {
            (Security::StartTls, true) => "?tls=required",
            (Security::Plain, false) => "?tls=none",
            _ => "",
        };
        write!(f, "{scheme}://{user}{host}:{}{tls}", self.port)
    }
}

/// Whether `host` is this machine (`localhost` or a loopback address), where plain SMTP to a
/// relay crosses no network.
fn is_this_machine(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn with_password(user: Option<&str>) -> SmtpAccess {
        SmtpAccess { user: user.map(str::to_string), password: Some(Password::new("s3creto".into())), ca: None }
    }

    #[test]
    fn schemes_choose_tls_and_ports() {
        let cases = [
            ("smtps://mail.example.org", Security::ImplicitTls, 465),
            ("smtps://mail.example.org:2465", Security::ImplicitTls, 2465),
            ("smtp://mail.example.org", Security::StartTls, 587),
            ("smtp://mail.example.org:25", Security::StartTls, 25),
            ("smtp://relay.example.org?tls=none", Security::Plain, 25),
            ("smtp://127.0.0.1:2525", Security::Plain, 2525),
            ("smtp://localhost", Security::Plain, 25),
            ("smtp://[::1]:2525/", Security::Plain, 2525),
            ("smtp://127.0.0.1:2525?tls=required", Security::StartTls, 2525),
        ];
        for (url, security, port) in cases {
            let s = MailServer::new(url, SmtpAccess::default()).unwrap();
            assert_eq!((s.security, s.port), (security, port), "{url}");
        }
        assert_eq!(MailServer::new("smtp://[::1]:2525", SmtpAccess::default()).unwrap().host, "::1");
    }

    #[test]
    fn the_user_comes_from_the_url_or_the_flag_and_the_password_never_from_the_url() {
        let s = MailServer::new("smtps://tramite%40inst.mx@mail.inst.mx", with_password(None)).unwrap();
        assert_eq!(s.login.as_ref().unwrap().0, "tramite@inst.mx");
        assert_eq!(s.to_string(), "smtps://tramite@inst.mx@mail.inst.mx:465");
        let s = MailServer::new("smtp://mail.inst.mx", with_password(Some("avisos"))).unwrap();
        assert_eq!(s.login.as_ref().unwrap().0, "avisos");

        let e = MailServer::new("smtps://tramite:s3creto@mail.inst.mx", with_password(None)).unwrap_err();
        assert!(e.contains("holds a password") && !e.contains("s3creto"), "{e}");
        let e = MailServer::new("smtps://tramite:s3creto@mail.inst.mx:bad", SmtpAccess::default()).unwrap_err();
        assert!(!e.contains("s3creto"), "{e}");
        let e = MailServer::new("smtps://tramite@mail.inst.mx", SmtpAccess::default()).unwrap_err();
        assert!(e.contains("needs a password"), "{e}");
        let e = MailServer::new("smtps://mail.inst.mx", SmtpAccess { user: None, ..with_password(None) }).unwrap_err();
        assert!(e.contains("without a user"), "{e}");
        let e = MailServer::new("smtps://a@mail.inst.mx", with_password(Some("b"))).unwrap_err();
        assert!(e.contains("given twice"), "{e}");
    }

    #[test]
    fn no_password_and_no_ca_over_plain_smtp() {
        let e = MailServer::new("smtp://tramite@127.0.0.1:2525", with_password(None)).unwrap_err();
        assert!(e.contains("in clear"), "{e}");
        let e = MailServer::new("smtp://tramite@relay.inst.mx?tls=none", with_password(None)).unwrap_err();
        assert!(e.contains("in clear"), "{e}");
        let ca = SmtpAccess { ca: Some("ca.pem".into()), ..SmtpAccess::default() };
        assert!(MailServer::new("smtp://127.0.0.1:2525", ca).unwrap_err().starts_with("--smtp-ca"));
    }

    #[test]
    fn malformed_urls_say_what_is_expected() {
        for url in [
            "mail.inst.mx:25",
            "http://mail.inst.mx",
            "smtp://",
            "smtp://h/path",
            "smtp://h?tls=maybe",
            "smtp://h?x=1",
            "smtps://h?tls=required",
        ] {
            let e = MailServer::new(url, SmtpAccess::default()).unwrap_err();
            assert!(e.starts_with("--smtp:"), "{url}: {e}");
        }
    }

    #[test]
    fn the_password_is_in_no_debug_output() {
        let s = MailServer::new("smtps://tramite@mail.inst.mx", with_password(None)).unwrap();
        let t = crate::mail::Transport::Smtp(s.transport().unwrap());
        for shown in [format!("{s:?}"), format!("{s}"), format!("{t:?}"), format!("{:?}", with_password(None))] {
            assert!(!shown.contains("s3creto"), "{shown}");
        }
    }
}
