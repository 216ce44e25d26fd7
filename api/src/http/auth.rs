//! API tokens: random, shown once, stored as SHA-256, each expiring ([`TOKEN_DAYS`] unless its
//! creator says otherwise) and revocable. `Authorization: Bearer <token>`; an unknown, revoked
//! or expired token, or one of a disabled user, is 401 with a code that says which.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use tramite_engine::machine::Actor;

use super::error::ApiError;
use crate::runtime::Runtime;

/// A new API token: 32 random bytes, hex.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How many days a new API token lasts unless its creator says otherwise.
pub const TOKEN_DAYS: i64 = 90;

/// When a token created at `now` to last `days` days expires; at the latest a day before the
/// end of time (whose sub-microsecond instant would not read back from the store).
pub fn token_expiry(now: Timestamp, days: i64) -> Timestamp {
    let latest = Timestamp::MAX.saturating_sub(SignedDuration::from_hours(24)).unwrap_or(Timestamp::MAX);
    now.saturating_add(SignedDuration::from_hours(24 * days.clamp(0, 3_000_000))).map_or(latest, |t| t.min(latest))
}

/// A token's last use is written again only when older than this: one write per token per
/// hour at most, not one per request.
const LAST_USE_EVERY: SignedDuration = SignedDuration::from_hours(1);

pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The signed-in caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl FromRequestParts<Arc<Runtime>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, rt: &Arc<Runtime>) -> Result<Caller, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        let token = header.strip_prefix("Bearer ").ok_or_else(ApiError::unauthorized)?.trim();
        let holder = rt.store.token_holder(&token_hash(token)).await?.ok_or_else(ApiError::unauthorized)?;
        let (t, now) = (&holder.token, rt.now());
        let refused = |code, message: String| ApiError::new(StatusCode::UNAUTHORIZED, code, message);
        if t.revoked_at.is_some() {
            return Err(refused("token_revoked", "this API token was revoked; ask an admin for a new one".into()));
        }
        if t.expires_at <= now {
            let message = format!(
                "this API token expired at {}; ask an admin for a new one (`tramite user token {}`)",
                t.expires_at, t.user
            );
            return Err(refused("token_expired", message));
        }
        if holder.account.disabled {
            return Err(refused("user_disabled", format!("user `{}` is disabled", t.user)));
        }
        let since = now.saturating_sub(LAST_USE_EVERY).unwrap_or(now);
        if t.last_used_at.is_none_or(|at| at < since)
            && let Err(e) = rt.store.touch_token(t.id, now, since).await
        {
            tracing::warn!(token = t.id, error = ?e.to_string(), "could not record a token's use");
        }
        let user = holder.account.user;
        Ok(Caller(Actor { user: user.name, roles: user.roles, admin: user.admin }))
    }
}

/// An admin calling the API: others are refused (403) before the request's body is read.
#[derive(Debug)]
pub struct AdminCaller(pub Actor);

impl FromRequestParts<Arc<Runtime>> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, rt: &Arc<Runtime>) -> Result<AdminCaller, ApiError> {
        let Caller(actor) = Caller::from_request_parts(parts, rt).await?;
        if !actor.admin {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "admin_only", "only an admin may deploy processes"));
        }
        Ok(AdminCaller(actor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_last_their_days_and_never_past_what_the_store_reads_back() {
        let t0: Timestamp = "2026-03-02T15:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(token_expiry(t0, TOKEN_DAYS).duration_since(t0), SignedDuration::from_hours(24 * 90));
        for latest in [token_expiry(Timestamp::MAX, 0), token_expiry(t0, i64::MAX)] {
            assert!(Timestamp::from_microsecond(latest.as_microsecond()).is_ok(), "{latest}");
        }
    }
}
