//! API tokens (by the SHA-256 of each) and whether their users are disabled.

use jiff::Timestamp;
use sqlx::Row;

use super::users::user_row;
use super::{Cols, instant, maybe_instant, micros};
use crate::store::{Account, StoreError, TokenHolder, TokenRow};

const TOKEN_COLUMNS: &str = "t.id, t.user_name, t.created_at, t.expires_at, t.last_used_at, t.revoked_at";

/// A token as a row of `api_tokens` gives it.
fn token_row(r: &impl Cols) -> Result<TokenRow, StoreError> {
    Ok(TokenRow {
        id: r.col("id")?,
        user: r.col("user_name")?,
        created_at: instant(r.col("created_at")?, "api_tokens.created_at")?,
        expires_at: instant(r.col("expires_at")?, "api_tokens.expires_at")?,
        last_used_at: maybe_instant(r.col("last_used_at")?, "api_tokens.last_used_at")?,
        revoked_at: maybe_instant(r.col("revoked_at")?, "api_tokens.revoked_at")?,
    })
}

/// A token and its user's account, from a row of [`token_holder_sql`].
pub(in crate::store) fn token_holder_row(r: &impl Cols) -> Result<TokenHolder, StoreError> {
    let account = Account { user: user_row(r)?, disabled: r.col("disabled")? };
    Ok(TokenHolder { token: token_row(r)?, account })
}

/// The token with the SHA-256 `$1` and its user.
pub(in crate::store) fn token_holder_sql() -> String {
    format!(
        "SELECT {TOKEN_COLUMNS}, u.name, u.email, u.roles, u.admin, u.disabled FROM api_tokens t JOIN users u ON u.name = t.user_name WHERE t.token_hash = $1"
    )
}

queries! {
    /// Gives an existing user a new token; its id, or `None` when there is no such user.
    pub async fn add_token(
        &self,
        user: &str,
        token_hash: &str,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query::<DB>(
            "INSERT INTO api_tokens (user_name, token_hash, created_at, expires_at) SELECT name, $2, $3, $4 FROM users WHERE name = $1 RETURNING id",
        )
        .bind(user.to_string())
        .bind(token_hash.to_string())
        .bind(micros(now))
        .bind(micros(expires))
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::from_db(e, "token"))?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// The token with this SHA-256 and its user, whatever their standing.
    pub async fn token_holder(&self, token_hash: &str) -> Result<Option<TokenHolder>, StoreError> {
        let row = sqlx::query::<DB>(&token_holder_sql()).bind(token_hash.to_string()).fetch_optional(self.pool()).await?;
        row.as_ref().map(token_holder_row).transpose()
    }

    /// Records that a token was used at `now`, unless that was already recorded since `since`.
    pub async fn touch_token(&self, id: i64, now: Timestamp, since: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
            .bind(micros(now))
            .bind(id)
            .bind(micros(since))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Revokes a user's live tokens (only token `id`, when given); how many were revoked.
    pub async fn revoke_tokens(&self, user: &str, id: Option<i64>, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query::<DB>(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_name = $2 AND revoked_at IS NULL AND ($3 IS NULL OR id = $3)",
        )
        .bind(micros(now))
        .bind(user.to_string())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(super::RowsAffected::rows(&done))
    }

    /// Every token, by user and age.
    pub async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t ORDER BY t.user_name, t.id");
        let rows = sqlx::query::<DB>(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(token_row).collect()
    }

    /// Every user with their standing, by name.
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows = sqlx::query::<DB>("SELECT name, email, roles, admin, disabled FROM users ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(Account { user: user_row(r)?, disabled: r.try_get("disabled")? })).collect()
    }

    /// Disables or enables a user (disabling ends their sessions); false when there is no such
    /// user.
    pub async fn set_disabled(&self, user: &str, disabled: bool) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query::<DB>("UPDATE users SET disabled = $1 WHERE name = $2")
            .bind(disabled)
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        if disabled {
            sqlx::query::<DB>("DELETE FROM web_sessions WHERE user_name = $1").bind(user.to_string()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(super::RowsAffected::rows(&done) == 1)
    }
}
