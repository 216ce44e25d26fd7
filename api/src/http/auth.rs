//! API tokens: random, shown once, stored as SHA-256. `Authorization: Bearer <token>`.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use tramite_engine::machine::Actor;

use super::error::ApiError;
use crate::runtime::Runtime;

/// A new API token: 32 random bytes, hex.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

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
        let user = rt.store.user_by_token(&token_hash(token)).await?.ok_or_else(ApiError::unauthorized)?;
        Ok(Caller(Actor { user: user.name, roles: user.roles, admin: user.admin }))
    }
}
