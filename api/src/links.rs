//! Links for people without an account: a message can carry a link to one task of one case,
//! answerable by whoever holds it until it expires. The link is
//! `<public address>/p/t/<instance>.<task>.<expiry>.<signature>`, the signature an HMAC-SHA256
//! over the instance, the task and the expiry with the server's link secret. It opens that
//! task's form and nothing else of the case; answering completes the task, so a link works once
//! (the task it names is gone after).

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

/// Bytes of the signature kept in a link (128 bits).
const SIGNATURE_BYTES: usize = 16;

/// Shortest secret accepted (bytes).
pub const MIN_SECRET: usize = 32;

/// Signs and checks links.
#[derive(Clone)]
pub struct Links {
    secret: Vec<u8>,
    /// The address people reach the server at (`https://tramite.example.org`), no trailing `/`.
    base: String,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links").field("base", &self.base).finish_non_exhaustive()
    }
}

/// What a link names, once its signature holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTarget {
    pub instance: String,
    pub task: u64,
    pub expires: Timestamp,
}

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Not a link this server signed (altered, cut, or signed with another secret).
    Altered,
    /// Signed, but past its expiry.
    Expired,
}

impl Links {
    /// A signer with this secret (at least [`MIN_SECRET`] bytes) for links under `base`.
    pub fn new(secret: &[u8], base: &str) -> Result<Links, String> {
        if secret.len() < MIN_SECRET {
            return Err(format!("the link secret has {} bytes; it needs at least {MIN_SECRET}", secret.len()));
        }
        Ok(Links { secret: secret.to_vec(), base: base.trim_end_matches('/').to_string() })
    }

    /// A new random secret, hex-encoded (64 characters).
    pub fn random_secret() -> String {
        let bytes: [u8; 32] = rand::random();
        hex(&bytes)
    }

    fn mac(&self, instance: &str, task: u64, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes a key of any length");
        mac.update(format!("{instance}\n{task}\n{expires}").as_bytes());
        mac
    }

    /// The path part of a link: `<instance>.<task>.<expiry>.<signature>`.
    pub fn sign(&self, instance: &str, task: u64, expires: Timestamp) -> String {
        let secs = expires.as_second();
        let tag = self.mac(instance, task, secs).finalize().into_bytes();
        format!("{instance}.{task}.{secs}.{}", hex(&tag[..SIGNATURE_BYTES]))
    }

    /// The whole link.
    pub fn url(&self, instance: &str, task: u64, expires: Timestamp) -> String {
        format!("{}/p/t/{}", self.base, self.sign(instance, task, expires))
    }

    /// What a link names, if this server signed it and it has not expired at `now`.
    pub fn verify(&self, link: &str, now: Timestamp) -> Result<LinkTarget, LinkError> {
        let mut parts = link.split('.');
        let (Some(instance), Some(task), Some(expires), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Altered);
        };
        let ok_instance =
            !instance.is_empty() && instance.len() <= 64 && instance.bytes().all(|b| b.is_ascii_alphanumeric());
        let (Ok(task), Ok(secs), Some(sig)) = (task.parse::<u64>(), expires.parse::<i64>(), unhex(sig)) else {
            return Err(LinkError::Altered);
        };
        if !ok_instance || sig.len() != SIGNATURE_BYTES {
            return Err(LinkError::Altered);
        }
        self.mac(instance, task, secs).verify_truncated_left(&sig).map_err(|_| LinkError::Altered)?;
        let expires = Timestamp::from_second(secs).map_err(|_| LinkError::Altered)?;
        if now >= expires {
            return Err(LinkError::Expired);
        }
        Ok(LinkTarget { instance: instance.to_string(), task, expires })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links::new(&[7u8; 32], "https://tramite.example.org/").unwrap()
    }

    #[test]
    fn a_signed_link_names_its_task_until_it_expires() {
        let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let expires: Timestamp = "2026-06-08T12:00:00Z".parse().unwrap();
        let url = links().url("0190abc", 7, expires);
        assert!(url.starts_with("https://tramite.example.org/p/t/0190abc.7.1780920000."), "{url}");
        let link = url.rsplit('/').next().unwrap();
        let target = links().verify(link, now).unwrap();
        assert_eq!(target, LinkTarget { instance: "0190abc".into(), task: 7, expires });
        assert_eq!(links().verify(link, expires), Err(LinkError::Expired));
    }

    #[test]
    fn an_altered_link_or_another_secret_is_refused() {
        let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let expires: Timestamp = "2026-06-08T12:00:00Z".parse().unwrap();
        let link = links().sign("0190abc", 7, expires);
        for altered in [
            link.replace(".7.", ".8."),
            link.replace("0190abc", "0190abd"),
            link.replace(".1780920000.", ".1780920001."),
            format!("{link}0"),
            link[..link.len() - 2].to_string(),
            "x".to_string(),
            "a.b.c.d".to_string(),
            format!("{link}.x"),
        ] {
            assert_eq!(links().verify(&altered, now), Err(LinkError::Altered), "{altered}");
        }
        let other = Links::new(&[8u8; 32], "https://x").unwrap();
        assert_eq!(other.verify(&link, now), Err(LinkError::Altered));
        assert!(Links::new(b"short", "https://x").is_err());
    }
}
