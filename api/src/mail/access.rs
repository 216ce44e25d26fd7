//! What `--smtp` needs beside its URL: the user, the password (from a file or the environment,
//! never the command line) and a CA to trust.

use std::fmt;
use std::path::{Path, PathBuf};

/// A password, kept out of `Debug` output and so out of logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(password: String) -> Password {
        Password(password)
    }

    /// The password itself, for the SMTP client only.
    pub(crate) fn reveal(&self) -> &str {
        &self.0
    }

    /// The content of `file` without its trailing newline; one line, not empty.
    pub fn from_file(file: &Path) -> Result<Password, String> {
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("--smtp-password-file {}: {e}", file.display()))?;
        let line = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
        if line.is_empty() {
            return Err(format!("--smtp-password-file {}: the file is empty", file.display()));
        }
        if line.contains(['\n', '\r']) {
            return Err(format!("--smtp-password-file {}: the password must be the file's only line", file.display()));
        }
        Ok(Password(line.to_string()))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// What `--smtp` needs beside its URL.
#[derive(Debug, Clone, Default)]
pub struct SmtpAccess {
    /// The user to authenticate as when the URL names none (`--smtp-user`).
    pub user: Option<String>,
    /// From `--smtp-password-file` or `TRAMITE_SMTP_PASSWORD`.
    pub password: Option<Password>,
    /// A PEM file of CA certificates trusted besides the system's (`--smtp-ca`).
    pub ca: Option<PathBuf>,
}

impl SmtpAccess {
    /// The access `serve` was given: `--smtp-user`, the password from `--smtp-password-file` or
    /// else `env_password` (`TRAMITE_SMTP_PASSWORD`; not both), `--smtp-ca`.
    pub fn gather(
        user: Option<String>,
        password_file: Option<&Path>,
        env_password: Option<String>,
        ca: Option<PathBuf>,
    ) -> Result<SmtpAccess, String> {
        let env_password = env_password.filter(|p| !p.is_empty());
        let password = match (password_file, env_password) {
            (Some(_), Some(_)) => {
                return Err("the SMTP password is given twice, by --smtp-password-file and by \
                            TRAMITE_SMTP_PASSWORD: keep one"
                    .into());
            }
            (Some(file), None) => Some(Password::from_file(file)?),
            (None, Some(p)) => Some(Password(p)),
            (None, None) => None,
        };
        Ok(SmtpAccess { user: user.filter(|u| !u.is_empty()), password, ca })
    }

    pub fn is_empty(&self) -> bool {
        self.user.is_none() && self.password.is_none() && self.ca.is_none()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_password_file_is_one_line() {
        let dir = std::env::temp_dir().join(format!("tramite-smtp-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        for (text, ok) in
            [("s3creto\n", true), ("s3creto\r\n", true), ("s3creto", true), ("", false), ("a\nb\n", false)]
        {
            std::fs::write(&file, text).unwrap();
            match Password::from_file(&file) {
                Ok(p) => assert!(ok && p == Password::new("s3creto".into()), "{text:?}"),
                Err(e) => assert!(!ok && !e.contains("s3creto"), "{text:?}: {e}"),
            }
        }
        let e = SmtpAccess::gather(None, Some(&file), Some("otro".into()), None).unwrap_err();
        assert!(e.contains("twice"), "{e}");
        let a = SmtpAccess::gather(Some("u".into()), None, Some("otro".into()), None).unwrap();
        assert_eq!(a.password, Some(Password::new("otro".into())));
        assert!(SmtpAccess::gather(None, None, Some(String::new()), None).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
