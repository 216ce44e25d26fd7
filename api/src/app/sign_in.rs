//! Signing in with a password, under attack. Failed attempts are counted per account and per
//! client address over a fixed window on the runtime's clock: after
//! [`SignInPolicy::account_failures`] failures (5) within [`SignInPolicy::window`] (15 minutes)
//! the account refuses every attempt, the right password too, for a window from the failure
//! that locked it; an address is locked likewise after
//! [`SignInPolicy::address_failures`] (20, so that one office behind one address is not locked
//! out by a few typos). A locked attempt is answered before any hash is computed.
//!
//! Password hashes (Argon2id, 19 MiB and two passes each) run at most
//! [`SignInPolicy::hash_permits`] at a time; an attempt that waits longer than
//! [`SignInPolicy::hash_wait`] for its turn is told to come back ([`SignIn::Busy`]), so a flood
//! of attempts costs neither unbounded memory nor every core.
//!
//! The counts live in this process's memory: several nodes count apart, and a restart forgets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::AppError;
use crate::runtime::Runtime;
use crate::store::UserRow;

/// Limits of the sign-in guard.
#[derive(Debug, Clone)]
pub struct SignInPolicy {
    /// Failures of one account within the window that lock it.
    pub account_failures: u32,
    /// Failures from one client address within the window that lock it.
    pub address_failures: u32,
    pub window: SignedDuration,
    /// Password hashes computed at once.
    pub hash_permits: usize,
    /// How long an attempt waits for a hash permit before it is turned away.
    pub hash_wait: std::time::Duration,
    /// Read the client's address from the last `X-Forwarded-For` entry (behind a reverse proxy
    /// that appends it) instead of the connection's peer.
    pub trust_forwarded_for: bool,
}

impl Default for SignInPolicy {
    fn default() -> SignInPolicy {
        SignInPolicy {
            account_failures: 5,
            address_failures: 20,
            window: SignedDuration::from_mins(15),
            hash_permits: 2,
            hash_wait: std::time::Duration::from_secs(2),
            trust_forwarded_for: false,
        }
    }
}

/// How a sign-in ended.
#[derive(Debug)]
pub enum SignIn {
    /// The password is right.
    Accepted(UserRow),
    /// Wrong name or password (counted).
    Refused,
    /// Too many failures for this account or address: refused, whatever the password, for
    /// `retry_after` more seconds.
    Locked { retry_after: u64 },
    /// Too many hashes waiting: come back shortly.
    Busy,
}

/// Failures of one account or address.
#[derive(Debug, Clone, Copy)]
struct Failures {
    since: Timestamp,
    count: u32,
    locked_until: Option<Timestamp>,
}

/// Failures per key (an account or an address) in a fixed window, at most [`Throttle::CAP`] keys.
#[derive(Debug)]
struct Throttle {
    max: u32,
    window: SignedDuration,
    entries: HashMap<String, Failures>,
}

impl Throttle {
    /// Keys kept at most: an attacker spraying names or addresses cannot grow the map further;
    /// once full, forgotten first are the keys whose window has passed, then the oldest.
    const CAP: usize = 10_000;

    fn new(max: u32, window: SignedDuration) -> Throttle {
        Throttle { max, window, entries: HashMap::new() }
    }

    /// Until when `key` is locked, if it is at `now`.
    fn locked(&self, key: &str, now: Timestamp) -> Option<Timestamp> {
        self.entries.get(key)?.locked_until.filter(|until| *until > now)
    }

    fn fail(&mut self, key: &str, now: Timestamp) {
        let window = self.window;
        if !self.entries.contains_key(key) && self.entries.len() >= Self::CAP {
            self.forget(now);
        }
        let f = self.entries.entry(key.to_string()).or_insert(Failures { since: now, count: 0, locked_until: None });
        let lapsed =
            f.locked_until.is_some_and(|u| u <= now) || f.since.saturating_add(window).is_ok_and(|end| end <= now);
        if lapsed {
            *f = Failures { since: now, count: 0, locked_until: None };
        }
        f.count += 1;
        if f.count >= self.max {
            f.locked_until = now.saturating_add(window).ok();
        }
    }

    fn clear(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// Makes room: drops keys whose window and lock have passed, and if none has, the oldest.
    fn forget(&mut self, now: Timestamp) {
        let window = self.window;
        self.entries.retain(|_, f| {
            f.locked_until.is_some_and(|u| u > now) || f.since.saturating_add(window).is_ok_and(|end| end > now)
        });
        if self.entries.len() >= Self::CAP
            && let Some(oldest) = self.entries.iter().min_by_key(|(_, f)| f.since).map(|(k, _)| k.clone())
        {
            self.entries.remove(&oldest);
        }
    }
}

/// The sign-in guard a runtime holds: failure counts and hash permits.
#[derive(Debug)]
pub struct SignInGuard {
    policy: SignInPolicy,
    accounts: Mutex<Throttle>,
    addresses: Mutex<Throttle>,
    permits: Arc<Semaphore>,
    /// Hashes running now, and the most ever at once (what tests and operators read).
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Default for SignInGuard {
    fn default() -> SignInGuard {
        SignInGuard::new(SignInPolicy::default())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SignInGuard {
    pub fn new(policy: SignInPolicy) -> SignInGuard {
        SignInGuard {
            accounts: Mutex::new(Throttle::new(policy.account_failures.max(1), policy.window)),
            addresses: Mutex::new(Throttle::new(policy.address_failures.max(1), policy.window)),
            permits: Arc::new(Semaphore::new(policy.hash_permits.max(1))),
            running: Arc::default(),
            peak: Arc::default(),
            policy,
        }
    }

    pub fn policy(&self) -> &SignInPolicy {
        &self.policy
    }

    /// The most password hashes that ever ran at once.
    pub fn peak_hashes(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Seconds until neither the account nor the address is locked, if either is.
    fn locked(&self, name: &str, address: Option<IpAddr>, now: Timestamp) -> Option<u64> {
        let account = lock(&self.accounts).locked(name, now);
        let address = address.and_then(|a| lock(&self.addresses).locked(&a.to_string(), now));
        let until = account.max(address)?;
        let secs = until.duration_since(now).as_secs_f64().ceil();
        Some((secs as u64).max(1))
    }

    fn fail(&self, name: &str, address: Option<IpAddr>, now: Timestamp) {
        lock(&self.accounts).fail(name, now);
        if let Some(a) = address {
            lock(&self.addresses).fail(&a.to_string(), now);
        }
    }

    /// A hash permit, or `None` when none came free within the wait.
    async fn permit(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(self.policy.hash_wait, self.permits.clone().acquire_owned()).await.ok()?.ok()
    }

    /// Runs a password hash (or verification) on a blocking thread, holding `permit` until it
    /// is done — even if the request is dropped meanwhile.
    async fn hash<T: Send + 'static>(
        &self,
        permit: OwnedSemaphorePermit,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (running, peak) = (self.running.clone(), self.peak.clone());
        tokio::task::spawn_blocking(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let out = f();
            running.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            out
        })
        .await
        .map_err(|e| AppError::Internal(format!("password hash: {e}")))
    }

    /// Hashes a new password, waiting for a permit like a sign-in.
    pub async fn hash_password(&self, password: &str) -> Result<String, AppError> {
        let permit = self.permit().await.ok_or_else(busy)?;
        let p = password.to_string();
        self.hash(permit, move || hash_password(&p)).await?.map_err(AppError::Internal)
    }
}

fn busy() -> AppError {
    AppError::Conflict { code: "busy", message: "the server is busy hashing passwords; try again shortly".into() }
}

/// Checks a user name and password, counting failures per account and per address.
pub async fn sign_in(rt: &Runtime, name: &str, password: &str, address: Option<IpAddr>) -> Result<SignIn, AppError> {
    let guard = &rt.sign_in;
    if let Some(retry_after) = guard.locked(name, address, rt.now()) {
        return Ok(SignIn::Locked { retry_after });
    }
    let found = rt.store.user_by_name(name).await?;
    // Verify even for an unknown user, so timing does not tell which names exist.
    let (user, hash) = match found {
        Some((u, Some(h))) => (Some(u), h),
        _ => (None, DUMMY_HASH.to_string()),
    };
    let Some(permit) = guard.permit().await else { return Ok(SignIn::Busy) };
    // Failures may have locked the account while this attempt waited for its turn.
    if let Some(retry_after) = guard.locked(name, address, rt.now()) {
        return Ok(SignIn::Locked { retry_after });
    }
    let password = password.to_string();
    let ok = guard.hash(permit, move || verify_password(&password, &hash)).await?;
    match user.filter(|_| ok) {
        Some(u) => {
            lock(&guard.accounts).clear(name);
            Ok(SignIn::Accepted(u))
        }
        None => {
            guard.fail(name, address, rt.now());
            Ok(SignIn::Refused)
        }
    }
}

/// An Argon2id hash of a random password, verified against when the user does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0vQ3wXJ3Gk2n3mFq1bQp2a8s8oV6m5tE1K2pQ0rYx4E";

/// Hashes a password with Argon2id and a random salt (PHC string). Blocking and costly: call
/// through [`SignInGuard::hash_password`] where requests can pile up.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&bytes).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches a stored PHC hash.
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        use argon2::password_hash::PasswordHash;
        let h = PasswordHash::new(DUMMY_HASH);
        assert!(
            h.is_ok_and(|h| h.algorithm.as_str() == "argon2id"),
            "an unparsable hash would answer unknown users faster"
        );
        assert!(!verify_password("anything", DUMMY_HASH));
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correcto-caballo").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correcto-caballo", &h));
        assert!(!verify_password("otro", &h));
        assert!(!verify_password("correcto-caballo", "not a hash"));
    }

    #[test]
    fn a_window_of_failures_locks_until_it_has_passed() {
        let mut t = Throttle::new(3, SignedDuration::from_mins(15));
        t.fail("ana", at(0));
        t.fail("ana", at(60));
        assert_eq!(t.locked("ana", at(60)), None);
        t.fail("ana", at(120));
        assert_eq!(t.locked("ana", at(121)), Some(at(120 + 900)));
        assert_eq!(t.locked("ana", at(1020)), None, "the lock ends with its window");
        // Failures spread beyond the window do not add up.
        t.fail("beto", at(0));
        t.fail("beto", at(600));
        t.fail("beto", at(901));
        assert_eq!(t.locked("beto", at(901)), None);
    }

    #[test]
    fn the_throttle_keeps_a_bounded_number_of_keys() {
        let mut t = Throttle::new(5, SignedDuration::from_mins(15));
        for i in 0..Throttle::CAP + 10 {
            t.fail(&format!("k{i}"), at(0));
        }
        assert!(t.entries.len() <= Throttle::CAP);
        // Once their window has passed, old keys make room for new ones.
        t.fail("nuevo", at(3600));
        assert_eq!(t.entries.len(), 1);
    }
}
