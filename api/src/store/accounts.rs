//! Users as the server knows them: their accounts (roles, standing), API tokens, passwords and
//! browser sessions.

use jiff::Timestamp;

use super::{Account, OidcLogin, OidcStanding, SessionRow, Store, StoreError, TokenHolder, TokenRow, UserRow};

impl Store {
    /// Creates a user with a hashed API token expiring at `expires` (and optionally a hashed
    /// password).
    pub async fn add_user(
        &self,
        u: &UserRow,
        token_hash: &str,
        expires: Timestamp,
        password_hash: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, r => r.add_user(u, token_hash, expires, password_hash, now).await)
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        dispatch!(self, r => r.users().await)
    }

    /// Every user with their standing, by name.
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        dispatch!(self, r => r.accounts().await)
    }

    /// Changes a user's address, roles and admin flag; false when there is no such user.
    pub async fn update_user(&self, u: &UserRow) -> Result<bool, StoreError> {
        dispatch!(self, r => r.update_user(u).await)
    }

    /// Disables or enables a user (disabling ends their sessions); false when there is no such
    /// user.
    pub async fn set_disabled(&self, user: &str, disabled: bool) -> Result<bool, StoreError> {
        dispatch!(self, r => r.set_disabled(user, disabled).await)
    }

    /// A user who is not disabled, and their password hash, for sign-in.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<(UserRow, Option<String>)>, StoreError> {
        dispatch!(self, r => r.user_by_name(name).await)
    }

    /// Gives an existing user a new API token; its id, or `None` when there is no such user.
    pub async fn add_token(
        &self,
        user: &str,
        token_hash: &str,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        dispatch!(self, r => r.add_token(user, token_hash, now, expires).await)
    }

    /// The API token with this SHA-256 and its user, whatever their standing.
    pub async fn token_holder(&self, token_hash: &str) -> Result<Option<TokenHolder>, StoreError> {
        match self {
            Store::Sqlite(_, direct) => direct.token_holder(token_hash).await,
            Store::Postgres(r) => r.token_holder(token_hash).await,
        }
    }

    /// Records that a token was used at `now`, unless that was already recorded since `since`.
    pub async fn touch_token(&self, id: i64, now: Timestamp, since: Timestamp) -> Result<(), StoreError> {
        dispatch!(self, r => r.touch_token(id, now, since).await)
    }

    /// Revokes a user's live tokens (only token `id`, when given); how many were revoked.
    pub async fn revoke_tokens(&self, user: &str, id: Option<i64>, now: Timestamp) -> Result<u64, StoreError> {
        dispatch!(self, r => r.revoke_tokens(user, id, now).await)
    }

    /// Every API token, by user and age.
    pub async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        dispatch!(self, r => r.tokens().await)
    }

    /// Stores a new browser session and drops expired ones.
    pub async fn insert_session(
        &self,
        id_hash: &str,
        user: &str,
        csrf: &str,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, r => r.insert_session(id_hash, user, csrf, now, expires).await)
    }

    /// The live session with this token hash, and its user (not disabled).
    pub async fn session(&self, id_hash: &str, now: Timestamp) -> Result<Option<SessionRow>, StoreError> {
        dispatch!(self, r => r.session(id_hash, now).await)
    }

    /// Ends a browser session.
    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        dispatch!(self, r => r.delete_session(id_hash).await)
    }
}

impl Store {
    /// Stores a sign-in under way at the OpenID provider and drops expired ones.
    pub async fn insert_oidc_login(
        &self,
        state_hash: &str,
        login: &OidcLogin,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, r => r.insert_oidc_login(state_hash, login, now).await)
    }

    /// Takes (once) the sign-in under way with this state hash, unless it has expired.
    pub async fn take_oidc_login(&self, state_hash: &str, now: Timestamp) -> Result<Option<OidcLogin>, StoreError> {
        dispatch!(self, r => r.take_oidc_login(state_hash, now).await)
    }

    /// Creates (when `create`) or updates the user the provider `issuer` knows as `subject`,
    /// replacing their roles and admin flag; never a local user's, another account's or a
    /// disabled user's.
    pub async fn save_oidc_user(
        &self,
        u: &UserRow,
        issuer: &str,
        subject: &str,
        create: bool,
        now: Timestamp,
    ) -> Result<OidcStanding, StoreError> {
        dispatch!(self, r => r.save_oidc_user(u, issuer, subject, create, now).await)
    }
}

impl Store {
    /// Records that `user` uploaded the blob `sha256` ([`crate::blobs`]).
    pub async fn record_upload(
        &self,
        sha256: &str,
        user: &str,
        size: u64,
        mime: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        dispatch!(self, r => r.record_upload(sha256, user, size, mime, at).await)
    }

    /// The size and sniffed type of the blob `sha256`, when `user` uploaded it.
    pub async fn upload(&self, sha256: &str, user: &str) -> Result<Option<(u64, Option<String>)>, StoreError> {
        dispatch!(self, r => r.upload(sha256, user).await)
    }
}
