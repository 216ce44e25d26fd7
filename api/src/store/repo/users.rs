//! Users, their passwords, and browser sessions (their API tokens are in `tokens.rs`).

use jiff::Timestamp;
use sqlx::{Row, Transaction};

use super::{Cols, decode, encode, micros};
use crate::store::{SessionRow, StoreError, UserRow};

pub(in crate::store) const USERS: &str = "SELECT name, email, roles, admin FROM users ORDER BY name";

/// A user as a row of `users` gives them.
pub(in crate::store) fn user_row(r: &impl Cols) -> Result<UserRow, StoreError> {
    let roles: String = r.col("roles")?;
    Ok(UserRow {
        name: r.col("name")?,
        email: r.col("email")?,
        roles: decode(&roles, "user roles")?,
        admin: r.col("admin")?,
    })
}

queries! {
    /// Creates a user with a hashed API token expiring at `expires` (and optionally a hashed
    /// password), in one transaction.
    pub async fn add_user(
        &self,
        u: &UserRow,
        token_hash: &str,
        expires: Timestamp,
        password_hash: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query::<DB>("INSERT INTO users (name, email, roles, admin, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(u.name.clone())
            .bind(u.email.clone())
            .bind(encode(&u.roles, "user roles")?)
            .bind(u.admin)
            .bind(password_hash.map(str::to_string))
            .bind(micros(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::from_db(e, "user"))?;
        sqlx::query::<DB>("INSERT INTO api_tokens (user_name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(u.name.clone())
            .bind(token_hash.to_string())
            .bind(micros(now))
            .bind(micros(expires))
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::from_db(e, "token"))?;
        tx.commit().await?;
        Ok(())
    }

    /// A user who is not disabled, and their password hash (PHC string), for sign-in.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<(UserRow, Option<String>)>, StoreError> {
        let row = sqlx::query::<DB>("SELECT name, email, roles, admin, password_hash FROM users WHERE name = $1 AND NOT disabled")
            .bind(name.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((user_row(&r)?, r.try_get("password_hash")?))).transpose()
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query::<DB>(USERS).fetch_all(self.pool()).await?;
        rows.iter().map(user_row).collect()
    }

    /// Changes a user's address, roles and admin flag; false when there is no such user.
    pub async fn update_user(&self, u: &UserRow) -> Result<bool, StoreError> {
        let done = sqlx::query::<DB>("UPDATE users SET email = $1, roles = $2, admin = $3 WHERE name = $4")
            .bind(u.email.clone())
            .bind(encode(&u.roles, "user roles")?)
            .bind(u.admin)
            .bind(u.name.clone())
            .execute(self.pool())
            .await?;
        Ok(super::RowsAffected::rows(&done) == 1)
    }

    /// Every user, read inside a transaction.
    pub async fn users_tx(tx: &mut Transaction<'static, DB>) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query::<DB>(USERS).fetch_all(&mut **tx).await?;
        rows.iter().map(user_row).collect()
    }

    /// Stores a new session (by the SHA-256 of its cookie token) and drops expired ones.
    pub async fn insert_session(
        &self,
        id_hash: &str,
        user: &str,
        csrf: &str,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query::<DB>("DELETE FROM web_sessions WHERE expires_at <= $1").bind(micros(now)).execute(self.pool()).await?;
        sqlx::query::<DB>("INSERT INTO web_sessions (id_hash, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id_hash.to_string())
            .bind(user.to_string())
            .bind(csrf.to_string())
            .bind(micros(now))
            .bind(micros(expires))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The live session with this token hash, and its user (not disabled).
    pub async fn session(&self, id_hash: &str, now: Timestamp) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query::<DB>(
            "SELECT s.csrf, u.name, u.email, u.roles, u.admin FROM web_sessions s JOIN users u ON u.name = s.user_name WHERE s.id_hash = $1 AND s.expires_at > $2 AND NOT u.disabled",
        )
        .bind(id_hash.to_string())
        .bind(micros(now))
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok(SessionRow { user: user_row(&r)?, csrf: r.try_get("csrf")? })).transpose()
    }

    /// Ends a session.
    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query::<DB>("DELETE FROM web_sessions WHERE id_hash = $1").bind(id_hash.to_string()).execute(self.pool()).await?;
        Ok(())
    }
}
