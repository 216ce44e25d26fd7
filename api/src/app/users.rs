//! Users, as admins manage them: list, create (with a password for the web, and an API token
//! shown once), and change their address, roles and admin flag. A role is held in every scope
//! (`area_responsable`) or in one (`area_responsable@Dirección de Promoción`).

use std::collections::BTreeMap;

use tramite_engine::machine::Actor;

use super::{AppError, FieldProblem};
use crate::http::auth::{new_token, token_expiry, token_hash};
use crate::runtime::Runtime;
use crate::store::{StoreError, UserRow};

/// A user as an admin writes it.
#[derive(Debug, Clone, Default)]
pub struct UserForm {
    pub name: String,
    pub email: String,
    /// One role per line (or comma): `role` or `role@scope`.
    pub roles: String,
    pub admin: bool,
    /// For a new user: the web password (at least 8 characters), or empty for none.
    pub password: String,
}

fn admin_only(actor: &Actor) -> Result<(), AppError> {
    if actor.admin {
        Ok(())
    } else {
        Err(AppError::Forbidden { code: "admin_only", message: "users are managed by admins".into() })
    }
}

/// Every user (admins).
pub async fn users(rt: &Runtime, actor: &Actor) -> Result<Vec<UserRow>, AppError> {
    admin_only(actor)?;
    Ok(rt.store.users().await?)
}

/// The roles of a user as written: `role` or `role@scope`, each role one of the processes'.
fn roles_of(rt: &Runtime, text: &str, problems: &mut BTreeMap<String, FieldProblem>) -> Vec<String> {
    let known: Vec<String> =
        rt.registry().all_latest().iter().flat_map(|d| d.process.roles.iter().map(|(r, _)| r.clone())).collect();
    let mut roles = Vec::new();
    for written in text.split(['\n', ',']).map(str::trim).filter(|r| !r.is_empty()) {
        let (role, scope) = match written.split_once('@') {
            Some((r, s)) => (r.trim(), Some(s.trim())),
            None => (written, None),
        };
        let problem = if scope.is_some_and(|s| s.is_empty() || s.chars().count() > 200) {
            Some(format!("«{written}»: escriba el ámbito después de @ (hasta 200 caracteres)."))
        } else if !known.iter().any(|k| k == role) {
            let hint = tramite_engine::diagnostic::did_you_mean(role, known.iter().map(String::as_str))
                .map(|b| format!(" ¿Quiso decir «{b}»?"))
                .unwrap_or_default();
            Some(format!("«{role}» no es un rol de ningún proceso.{hint}"))
        } else {
            None
        };
        match problem {
            Some(message) => {
                problems.insert("roles".into(), FieldProblem { code: "role".into(), message });
            }
            None => roles.push(match scope {
                Some(s) => format!("{role}@{s}"),
                None => role.to_string(),
            }),
        }
    }
    roles.dedup();
    roles
}

/// Checks a user form; the row it describes, or each field's problem.
fn checked(rt: &Runtime, f: &UserForm) -> Result<UserRow, AppError> {
    let mut problems = BTreeMap::new();
    let name = f.name.trim();
    let plain = !name.is_empty()
        && name.chars().count() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !plain {
        let message = "Use de 1 a 64 letras sin acentos, números, punto, guion o guion bajo.".to_string();
        problems.insert("name".into(), FieldProblem { code: "name".into(), message });
    }
    let email = f.email.trim();
    if !email.is_empty() && (email.len() > 254 || !email.contains('@') || email.contains(char::is_whitespace)) {
        let message = "Escriba un correo electrónico válido.".to_string();
        problems.insert("email".into(), FieldProblem { code: "email".into(), message });
    }
    let roles = roles_of(rt, &f.roles, &mut problems);
    if roles.is_empty() && !f.admin && !problems.contains_key("roles") {
        let message = "Dé al usuario al menos un rol, o hágalo administrador.".to_string();
        problems.insert("roles".into(), FieldProblem { code: "required".into(), message });
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid {
            code: "invalid_data",
            message: "the user is not valid".into(),
            fields: problems,
        });
    }
    Ok(UserRow { name: name.to_string(), email: (!email.is_empty()).then(|| email.to_string()), roles, admin: f.admin })
}

/// Creates a user (admins); returns their API token (lasting 90 days), shown once.
pub async fn add_user(rt: &Runtime, actor: &Actor, f: &UserForm) -> Result<String, AppError> {
    admin_only(actor)?;
    let user = checked(rt, f)?;
    let password = if f.password.is_empty() {
        None
    } else if f.password.chars().count() < 8 {
        return Err(AppError::field("password", "password", "La contraseña debe tener al menos 8 caracteres."));
    } else {
        Some(rt.sign_in.hash_password(&f.password).await?)
    };
    let token = new_token();
    let (now, days) = (rt.now(), crate::http::auth::TOKEN_DAYS);
    match rt.store.add_user(&user, &token_hash(&token), token_expiry(now, days), password.as_deref(), now).await {
        Ok(()) => Ok(token),
        Err(StoreError::Duplicate(_)) => {
            Err(AppError::field("duplicate", "name", "Ya existe un usuario con ese nombre."))
        }
        Err(e) => Err(e.into()),
    }
}

/// Changes a user's address, roles and admin flag (admins).
pub async fn update_user(rt: &Runtime, actor: &Actor, f: &UserForm) -> Result<(), AppError> {
    admin_only(actor)?;
    let user = checked(rt, f)?;
    if rt.store.update_user(&user).await? {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("no user `{}`", user.name)))
    }
}
