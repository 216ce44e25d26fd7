//! Sign-ins through the institution's OpenID provider: the sign-ins under way, and the users
//! the provider vouches for.

use jiff::Timestamp;
use sqlx::Row;

use super::{encode, instant, micros};
use crate::store::{OidcLogin, OidcStanding, StoreError, UserRow};

queries! {
    /// Stores a sign-in under way (by the SHA-256 of its state) and drops expired ones.
    pub async fn insert_oidc_login(&self, state_hash: &str, login: &OidcLogin, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>("DELETE FROM oidc_logins WHERE expires_at <= $1").bind(micros(now)).execute(self.pool()).await?;
        sqlx::query::<DB>("INSERT INTO oidc_logins (state_hash, nonce, pkce_verifier, next, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(state_hash.to_string())
            .bind(login.nonce.clone())
            .bind(login.pkce_verifier.clone())
            .bind(login.next.clone())
            .bind(micros(now))
            .bind(micros(login.expires_at))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Takes (deletes and returns) the sign-in with this state hash, if it has not expired.
    pub async fn take_oidc_login(&self, state_hash: &str, now: Timestamp) -> Result<Option<OidcLogin>, StoreError> {
        let row = sqlx::query::<DB>("DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING nonce, pkce_verifier, next, expires_at")
            .bind(state_hash.to_string())
            .fetch_optional(self.pool())
            .await?;
        let Some(r) = row else { return Ok(None) };
        let login = OidcLogin {
            nonce: r.try_get("nonce")?,
            pkce_verifier: r.try_get("pkce_verifier")?,
            next: r.try_get("next")?,
            expires_at: instant(r.try_get("expires_at")?, "oidc_logins.expires_at")?,
        };
        Ok((login.expires_at > now).then_some(login))
    }

    /// Creates (when `create`) or updates the user a provider vouches for, in one transaction:
    /// roles, admin flag and (when given) address replaced. A name held by a local user or by
    /// another provider account is left alone, and so is a disabled user.
    pub async fn save_oidc_user(
        &self,
        u: &UserRow,
        issuer: &str,
        subject: &str,
        create: bool,
        now: Timestamp,
    ) -> Result<OidcStanding, StoreError> {
        let mut tx = self.pool().begin_with(Self::dialect().begin_write).await?;
        let sql = format!("SELECT disabled, oidc_issuer, oidc_subject FROM users WHERE name = $1{}", Self::dialect().for_update);
        let row = sqlx::query::<DB>(&sql).bind(u.name.clone()).fetch_optional(&mut *tx).await?;
        let standing = match row {
            None if !create => OidcStanding::Unknown,
            None => {
                sqlx::query::<DB>("INSERT INTO users (name, email, roles, admin, created_at, oidc_issuer, oidc_subject) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(u.name.clone())
                    .bind(u.email.clone())
                    .bind(encode(&u.roles, "user roles")?)
                    .bind(u.admin)
                    .bind(micros(now))
                    .bind(issuer.to_string())
                    .bind(subject.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::from_db(e, "provider account"))?;
                OidcStanding::Saved
            }
            Some(r) => {
                let (held_by, as_subject): (Option<String>, Option<String>) = (r.try_get("oidc_issuer")?, r.try_get("oidc_subject")?);
                let disabled: bool = r.try_get("disabled")?;
                if held_by.as_deref() != Some(issuer) || as_subject.as_deref() != Some(subject) {
                    OidcStanding::Taken
                } else if disabled {
                    OidcStanding::Disabled
                } else {
                    sqlx::query::<DB>("UPDATE users SET email = COALESCE($1, email), roles = $2, admin = $3 WHERE name = $4")
                        .bind(u.email.clone())
                        .bind(encode(&u.roles, "user roles")?)
                        .bind(u.admin)
                        .bind(u.name.clone())
                        .execute(&mut *tx)
                        .await?;
                    OidcStanding::Saved
                }
            }
        };
        tx.commit().await?;
        Ok(standing)
    }
}
