//! Sign-in with the institution's accounts through OpenID Connect (`serve --oidc FILE`): the
//! authorization code flow with PKCE, the user's roles mapped from the provider's groups at
//! every sign-in. Local passwords keep working beside it.
//!
//! - [`config`]: the file, checked at start, and how claims become a user;
//! - [`provider`]: discovery, the authorization URL, the code exchange and ID token checks;
//! - [`admit`] (here): the rule for who may come in, applied in one store transaction;
//! - the pages (`/auth/oidc/start`, `/auth/oidc/callback`) are in `web::oidc`.

pub mod config;
pub mod provider;

pub use config::{ClaimProblem, Identity, OidcConfig};
pub use provider::{Authorization, Provider, ProviderError};

use crate::runtime::Runtime;
use crate::store::{OidcStanding, StoreError, UserRow};

/// How long a sign-in may stay at the provider before the way back is refused.
pub const LOGIN_MINUTES: i64 = 10;

/// Whether the user a provider vouches for may come in.
#[derive(Debug)]
pub enum Admission {
    /// Created or updated with the provider's roles: sign them in.
    Admitted(UserRow),
    /// The provider's groups give no Trámite role (an existing user's roles are emptied).
    NoRole,
    /// Disabled here with `tramite user disable`.
    Disabled,
    /// The name is a local user's, or another provider account's.
    Taken,
}

/// Creates or updates the user `id` describes and says whether they may sign in. A user with
/// no role is not created; one who had roles loses them. A local user of the same name is never
/// taken over: only the provider account that created a user signs in as them.
pub async fn admit(rt: &Runtime, issuer: &str, id: &Identity) -> Result<Admission, StoreError> {
    let user = UserRow { name: id.name.clone(), email: id.email.clone(), roles: id.roles.clone(), admin: id.admin };
    let has_role = id.admin || !id.roles.is_empty();
    match rt.store.save_oidc_user(&user, issuer, &id.subject, has_role, rt.now()).await {
        Ok(OidcStanding::Saved) if has_role => Ok(Admission::Admitted(user)),
        Ok(OidcStanding::Saved | OidcStanding::Unknown) => Ok(Admission::NoRole),
        Ok(OidcStanding::Disabled) => Ok(Admission::Disabled),
        // The same provider account under a new name: it keeps the name it came with first.
        Ok(OidcStanding::Taken) | Err(StoreError::Duplicate(_)) => Ok(Admission::Taken),
        Err(e) => Err(e),
    }
}
