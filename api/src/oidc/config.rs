//! The `serve --oidc FILE` configuration: which provider, which client, and how the provider's
//! claims become a Trámite user (name, e-mail, roles, admin). Read and checked once at start;
//! what is wrong is said with the key and how to fix it.

use std::collections::BTreeMap;
use std::fmt;

use openidconnect::url::Url;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    issuer: String,
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    client_secret_env: Option<String>,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    redirect_url: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    username_claim: Option<String>,
    #[serde(default)]
    groups_claim: Option<String>,
    #[serde(default)]
    groups: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    admin_groups: Vec<String>,
}

/// A checked configuration.
#[derive(Clone)]
pub struct OidcConfig {
    /// The provider's issuer URL, as its discovery document must name it.
    pub issuer: String,
    pub client_id: String,
    /// `None` for a public client (PKCE only).
    pub client_secret: Option<String>,
    /// Where the provider sends the browser back: `…/auth/oidc/callback` on this server.
    pub redirect_url: String,
    /// Scopes asked for; always holds `openid`.
    pub scopes: Vec<String>,
    /// Shown on the sign-in button: "Entrar con {display_name}".
    pub display_name: String,
    /// The claim that holds the user name (`preferred_username` unless told; `sub` is allowed).
    pub username_claim: String,
    /// The claim that holds the user's groups (a list of strings, or one string).
    pub groups_claim: String,
    /// Group → the Trámite roles it gives (`role` or `role@scope`).
    pub groups: BTreeMap<String, Vec<String>>,
    /// Groups whose members are Trámite admins.
    pub admin_groups: Vec<String>,
}

impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("groups", &self.groups)
            .field("admin_groups", &self.admin_groups)
            .finish_non_exhaustive()
    }
}

/// The path of the callback on this server.
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";

/// `url` if it is an absolute `https` URL, or `http` on a loopback host (a provider or server
/// on the same machine, as in tests); `key` names it in the message.
fn web_url(key: &str, url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("`{key}`: {url:?} is not a URL ({e})"))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(format!("`{key}`: {url:?} must start with https:// (http:// only on 127.0.0.1 or localhost)")),
    }
    if parsed.fragment().is_some() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("`{key}`: {url:?} may not hold a #fragment or user:password@"));
    }
    Ok(parsed)
}

impl OidcConfig {
    /// Reads and checks a configuration file's text; `env` reads `client_secret_env`.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<OidcConfig, String> {
        let raw: RawConfig = serde_saphyr::from_str(text).map_err(|e| e.without_snippet().to_string())?;
        let issuer = web_url("issuer", raw.issuer.trim())?;
        if issuer.query().is_some() {
            return Err(format!("`issuer`: {:?} may not hold a query", raw.issuer));
        }
        let client_id = raw.client_id.trim().to_string();
        if client_id.is_empty() {
            return Err("`client_id`: write the client id the provider gave Trámite".into());
        }
        let client_secret = match (raw.client_secret, raw.client_secret_env) {
            (Some(_), Some(_)) => return Err("give `client_secret` or `client_secret_env`, not both".into()),
            (Some(s), None) if s.is_empty() => return Err("`client_secret` is empty".into()),
            (Some(s), None) => Some(s),
            (None, Some(var)) => match env(&var) {
                Some(s) if !s.is_empty() => Some(s),
                _ => return Err(format!("`client_secret_env`: the environment variable {var} is not set")),
            },
            (None, None) => None,
        };
        let redirect_url = match (raw.base_url, raw.redirect_url) {
            (Some(_), Some(_)) => return Err("give `base_url` or `redirect_url`, not both".into()),
            (None, None) => {
                return Err(format!(
                    "`base_url`: write this server's public address (https://tramite.example.org); the provider sends users back to it at {CALLBACK_PATH}"
                ));
            }
            (Some(base), None) => {
                let base = web_url("base_url", base.trim())?;
                if base.query().is_some() {
                    return Err("`base_url` may not hold a query".into());
                }
                format!("{}{CALLBACK_PATH}", base.as_str().trim_end_matches('/'))
            }
            (None, Some(url)) => {
                let parsed = web_url("redirect_url", url.trim())?;
                if !parsed.path().ends_with(CALLBACK_PATH) || parsed.query().is_some() {
                    return Err(format!("`redirect_url`: {url:?} must end with {CALLBACK_PATH}"));
                }
                parsed.to_string()
            }
        };
        let mut scopes = raw.scopes.unwrap_or_else(|| vec!["openid".into(), "profile".into(), "email".into()]);
        if let Some(bad) = scopes.iter().find(|s| s.is_empty() || s.contains(char::is_whitespace)) {
            return Err(format!("`scopes`: {bad:?} is not a scope (one word each)"));
        }
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        scopes.dedup();
        let claim = |key: &str, v: Option<String>, default: &str| -> Result<String, String> {
            let v = v.unwrap_or_else(|| default.to_string());
            if v.trim().is_empty() { Err(format!("`{key}` is empty")) } else { Ok(v.trim().to_string()) }
        };
        let username_claim = claim("username_claim", raw.username_claim, "preferred_username")?;
        let groups_claim = claim("groups_claim", raw.groups_claim, "groups")?;
        for (group, roles) in &raw.groups {
            if let Some(bad) = roles.iter().find(|r| !plain_role(r)) {
                return Err(format!(
                    "`groups`: {group:?} gives {bad:?}, which is not a role (write `role` or `role@scope`, as `tramite user add --role` takes)"
                ));
            }
        }
        if raw.groups.values().all(Vec::is_empty) && raw.admin_groups.is_empty() {
            return Err(
                "`groups`: map at least one group to Trámite roles (or name `admin_groups`), or nobody can sign in"
                    .into(),
            );
        }
        let display_name = raw.display_name.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
        let display_name = display_name.unwrap_or_else(|| issuer.host_str().unwrap_or("OpenID Connect").to_string());
        Ok(OidcConfig {
            issuer: raw.issuer.trim().to_string(),
            client_id,
            client_secret,
            redirect_url,
            scopes,
            display_name,
            username_claim,
            groups_claim,
            groups: raw.groups,
            admin_groups: raw.admin_groups,
        })
    }

    /// Every role the configuration gives, for checking against the processes.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.groups.values().flatten().map(String::as_str)
    }

    /// The Trámite user the provider vouches for: `subject` is the verified `sub`, `claims` the
    /// ID token's claims (completed with the userinfo endpoint's).
    pub fn identity(&self, subject: &str, claims: &Map<String, Value>) -> Result<Identity, ClaimProblem> {
        let name = if self.username_claim == "sub" {
            Some(subject.to_string())
        } else {
            claims.get(&self.username_claim).and_then(Value::as_str).map(str::to_string)
        };
        let name = name.ok_or_else(|| ClaimProblem::NoName(self.username_claim.clone()))?;
        if !usable_name(&name) {
            return Err(ClaimProblem::BadName(name));
        }
        let groups: Vec<String> = match claims.get(&self.groups_claim) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        let mut roles: Vec<String> =
            groups.iter().filter_map(|g| self.groups.get(g)).flatten().cloned().collect::<Vec<_>>();
        roles.sort();
        roles.dedup();
        let admin = groups.iter().any(|g| self.admin_groups.contains(g));
        let email = claims.get("email").and_then(Value::as_str).filter(|e| e.contains('@') && e.len() <= 254);
        Ok(Identity { subject: subject.to_string(), name, email: email.map(str::to_string), groups, roles, admin })
    }

    /// Whether the claims lack what [`OidcConfig::identity`] reads (then the userinfo endpoint
    /// is asked).
    pub fn lacks_claims(&self, claims: &Map<String, Value>) -> bool {
        (self.username_claim != "sub" && !claims.contains_key(&self.username_claim))
            || !claims.contains_key(&self.groups_claim)
    }
}

/// `role` or `role@scope`, as users hold them.
fn plain_role(r: &str) -> bool {
    let (role, scope) = match r.split_once('@') {
        Some((role, scope)) => (role, Some(scope)),
        None => (r, None),
    };
    !role.is_empty()
        && role.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && scope.is_none_or(|s| !s.trim().is_empty() && s.chars().count() <= 200)
}

/// A user name from a provider: 1 to 128 letters without accents, digits, `.`, `_`, `-` or `@`
/// (an e-mail address as a name is fine).
fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// Who signed in, as the provider says and the configuration maps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    /// The groups the provider listed (for the log).
    pub groups: Vec<String>,
    /// The Trámite roles those groups give.
    pub roles: Vec<String>,
    pub admin: bool,
}

/// Why the provider's claims make no Trámite user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimProblem {
    /// The user-name claim is missing (its name).
    NoName(String),
    /// The user name has characters Trámite does not take.
    BadName(String),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = "issuer: https://login.example.edu/realms/udg\nclient_id: tramite\nclient_secret_env: SECRETO\nbase_url: https://tramite.example.edu/\ndisplay_name: Cuenta UDG\ngroups:\n  cc-operadores: [operador]\n  cc-responsables: [operador, responsable_canales@Dirección de Promoción]\nadmin_groups: [ti-admins]\n";

    fn env(var: &str) -> Option<String> {
        (var == "SECRETO").then(|| "s3cr3t".to_string())
    }

    #[test]
    fn a_file_is_read_with_its_defaults() {
        let c = OidcConfig::parse(FILE, env).unwrap();
        assert_eq!(c.redirect_url, "https://tramite.example.edu/auth/oidc/callback");
        assert_eq!(c.client_secret.as_deref(), Some("s3cr3t"));
        assert_eq!(c.scopes, ["openid", "profile", "email"]);
        assert_eq!((c.username_claim.as_str(), c.groups_claim.as_str()), ("preferred_username", "groups"));
        assert_eq!(c.display_name, "Cuenta UDG");
        assert!(!format!("{c:?}").contains("s3cr3t"), "the secret is never printed");
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (FILE.replace("https://login", "http://login"), "`issuer`"),
            (FILE.replace("SECRETO", "OTRO"), "OTRO is not set"),
            (FILE.replace("base_url: https://tramite.example.edu/\n", ""), "`base_url`"),
            (format!("{FILE}redirect_url: https://tramite.example.edu/otra\n"), "not both"),
            (FILE.replace("[operador]", "[\"operador ventas\"]"), "is not a role"),
            (format!("{FILE}grupos: []\n"), "grupos"),
            (FILE.replace("client_id: tramite", "client_id: ''"), "`client_id`"),
        ];
        for (text, expected) in cases {
            let e = OidcConfig::parse(&text, env).unwrap_err();
            assert!(e.contains(expected), "{expected:?} not in {e:?}");
        }
        let none = "issuer: http://127.0.0.1:4010\nclient_id: t\nbase_url: http://127.0.0.1:8080\n";
        assert!(OidcConfig::parse(none, env).unwrap_err().contains("nobody can sign in"));
    }

    #[test]
    fn groups_become_roles_and_admin() {
        let c = OidcConfig::parse(FILE, env).unwrap();
        let claims = json!({"preferred_username": "ana", "groups": ["cc-responsables", "cc-operadores", "otro"], "email": "ana@udg.mx"});
        let id = c.identity("s-1", claims.as_object().unwrap()).unwrap();
        assert_eq!(id.roles, ["operador", "responsable_canales@Dirección de Promoción"]);
        assert!(!id.admin);
        assert_eq!((id.name.as_str(), id.email.as_deref()), ("ana", Some("ana@udg.mx")));
        let admin = json!({"preferred_username": "root", "groups": "ti-admins"});
        let id = c.identity("s-2", admin.as_object().unwrap()).unwrap();
        assert!(id.admin && id.roles.is_empty());
        let none = json!({"preferred_username": "nadie"});
        let id = c.identity("s-3", none.as_object().unwrap()).unwrap();
        assert!(!id.admin && id.roles.is_empty());
    }

    #[test]
    fn the_name_comes_from_the_claim_and_must_be_plain() {
        let c = OidcConfig::parse(FILE, env).unwrap();
        let missing = json!({"groups": []});
        assert_eq!(
            c.identity("s", missing.as_object().unwrap()),
            Err(ClaimProblem::NoName("preferred_username".into()))
        );
        assert!(c.lacks_claims(missing.as_object().unwrap()));
        let odd = json!({"preferred_username": "ana\nroot", "groups": []});
        assert!(matches!(c.identity("s", odd.as_object().unwrap()), Err(ClaimProblem::BadName(_))));
        let by_sub = OidcConfig { username_claim: "sub".into(), ..c };
        let id = by_sub.identity("248289761001", missing.as_object().unwrap()).unwrap();
        assert_eq!(id.name, "248289761001");
    }
}
