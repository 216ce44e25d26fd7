//! `tramite user`: create users and manage their API tokens and standing.
//!
//! - `add NAME --role ROLE… [--email ADDR] [--admin] [--password-stdin] [--token-days N]`:
//!   creates a user and prints a new API token once (only its SHA-256 is stored; it expires
//!   after N days, 90 by default). With `--password-stdin` the first line of standard input
//!   becomes the web sign-in password (stored as an Argon2id hash).
//! - `token NAME [--days N]`: prints a new API token for the user.
//! - `list`: users, their roles and standing, and their tokens (created, expires, last used,
//!   revoked).
//! - `revoke NAME [--token ID]`: revokes every token of the user, or one.
//! - `disable NAME` / `enable NAME`: a disabled user cannot sign in, their sessions end and
//!   their tokens stop working (until enabled again, unless revoked or expired).
//!
//! Each command is a function over a [`Store`] and an instant, so tests run them directly.

use std::fmt::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use jiff::Timestamp;

use crate::clock::{Clock, SystemClock};
use crate::http::auth::{TOKEN_DAYS, new_token, token_expiry, token_hash};
use crate::store::{Account, Store, StoreError, TokenRow, UserRow};

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user and print their API token.
    Add(AddArgs),
    /// Print a new API token for a user.
    Token(TokenArgs),
    /// List users, their roles and standing, and their API tokens.
    List(Database),
    /// Revoke every API token of a user, or one (`--token ID`, as `list` shows it).
    Revoke(RevokeArgs),
    /// Disable a user: no sign-in, sessions ended, tokens refused.
    Disable(NameArgs),
    /// Enable a disabled user again.
    Enable(NameArgs),
}

#[derive(Debug, Args)]
pub struct Database {
    #[arg(long, env = "TRAMITE_DATABASE", default_value = "sqlite://tramite.db")]
    pub database: String,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    pub name: String,
    /// A role id as written in the process files (repeat for several); `role@scope` holds it in
    /// one scope only (`area_responsable@"Dirección de Promoción"`), a plain role in every scope.
    #[arg(long = "role")]
    pub roles: Vec<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// Admins see and act on everything.
    #[arg(long)]
    pub admin: bool,
    #[command(flatten)]
    pub db: Database,
    /// Read a password for the web sign-in from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Days the API token lasts.
    #[arg(long, default_value_t = TOKEN_DAYS, value_parser = clap::value_parser!(i64).range(1..=3650))]
    pub token_days: i64,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    pub name: String,
    /// Days the token lasts.
    #[arg(long, default_value_t = TOKEN_DAYS, value_parser = clap::value_parser!(i64).range(1..=3650))]
    pub days: i64,
    #[command(flatten)]
    pub db: Database,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    pub name: String,
    /// Only this token.
    #[arg(long)]
    pub token: Option<i64>,
    #[command(flatten)]
    pub db: Database,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    pub name: String,
    #[command(flatten)]
    pub db: Database,
}

/// A user with their standing and tokens, as `list` shows them.
#[derive(Debug, Clone)]
pub struct Listing {
    pub account: Account,
    pub tokens: Vec<TokenRow>,
}

/// Gives an existing user a new token lasting `days`; the token (shown once) and its id.
pub async fn issue_token(store: &Store, name: &str, days: i64, now: Timestamp) -> Result<(String, i64), String> {
    let token = new_token();
    match store.add_token(name, &token_hash(&token), now, token_expiry(now, days)).await {
        Ok(Some(id)) => Ok((token, id)),
        Ok(None) => Err(format!("no user named `{name}`")),
        Err(e) => Err(e.to_string()),
    }
}

/// Every user with their standing and tokens.
pub async fn listing(store: &Store) -> Result<Vec<Listing>, StoreError> {
    let tokens = store.tokens().await?;
    Ok(store
        .accounts()
        .await?
        .into_iter()
        .map(|account| {
            let mine = tokens.iter().filter(|t| t.user == account.user.name).cloned().collect();
            Listing { account, tokens: mine }
        })
        .collect())
}

fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// The listing as text: a line per user, then a line per token.
pub fn render(list: &[Listing], now: Timestamp) -> String {
    let mut out = String::new();
    for l in list {
        let u = &l.account.user;
        let roles = if u.roles.is_empty() { "-".to_string() } else { u.roles.join(", ") };
        let mut flags = Vec::new();
        if u.admin {
            flags.push("admin");
        }
        if l.account.disabled {
            flags.push("DISABLED");
        }
        let flags = if flags.is_empty() { String::new() } else { format!("  [{}]", flags.join(", ")) };
        let _ = writeln!(out, "{}  roles: {roles}{flags}", u.name);
        for t in &l.tokens {
            let standing = match (t.revoked_at, t.expires_at <= now) {
                (Some(at), _) => format!("revoked {}", when(at)),
                (None, true) => format!("expired {}", when(t.expires_at)),
                (None, false) => format!("expires {}", when(t.expires_at)),
            };
            let used = t.last_used_at.map(when).unwrap_or_else(|| "never".into());
            let _ = writeln!(out, "  token {}  created {}  {standing}  last used {used}", t.id, when(t.created_at));
        }
    }
    out
}

/// Revokes every live token of `name`, or only `token`; how many were revoked.
pub async fn revoke(store: &Store, name: &str, token: Option<i64>, now: Timestamp) -> Result<u64, String> {
    let known = store.accounts().await.map_err(|e| e.to_string())?.iter().any(|a| a.user.name == name);
    if !known {
        return Err(format!("no user named `{name}`"));
    }
    let n = store.revoke_tokens(name, token, now).await.map_err(|e| e.to_string())?;
    match token {
        Some(id) if n == 0 => Err(format!("`{name}` has no live token {id} (see `tramite user list`)")),
        _ => Ok(n),
    }
}

/// Disables (or enables) a user.
pub async fn set_disabled(store: &Store, name: &str, disabled: bool) -> Result<(), String> {
    match store.set_disabled(name, disabled).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("no user named `{name}`")),
        Err(e) => Err(e.to_string()),
    }
}

/// Why a command did not do what it was asked: a usage mistake (exit code 2) or a failure (1).
#[derive(Debug)]
enum Failure {
    Usage(String),
    Failed(String),
}

impl From<String> for Failure {
    fn from(m: String) -> Failure {
        Failure::Failed(m)
    }
}

pub async fn run(cmd: UserCmd) -> ExitCode {
    let now = SystemClock.now();
    let database = match &cmd {
        UserCmd::Add(a) => &a.db.database,
        UserCmd::Token(a) => &a.db.database,
        UserCmd::List(d) => &d.database,
        UserCmd::Revoke(a) => &a.db.database,
        UserCmd::Disable(a) | UserCmd::Enable(a) => &a.db.database,
    };
    if let UserCmd::Add(a) = &cmd
        && a.roles.is_empty()
        && !a.admin
    {
        eprintln!("error: give the user at least one --role, or --admin");
        return ExitCode::from(2);
    }
    let store = match Store::open(database).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: database {database}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: Result<String, Failure> = match cmd {
        UserCmd::Add(a) => add(&store, a, now).await,
        UserCmd::Token(a) => issue_token(&store, &a.name, a.days, now)
            .await
            .map(|(token, id)| {
                println!("{token}");
                format!("token {id} of `{}` created; keep it, it is not shown again", a.name)
            })
            .map_err(Failure::from),
        UserCmd::List(_) => match listing(&store).await {
            Ok(list) => {
                print!("{}", render(&list, now));
                Ok(String::new())
            }
            Err(e) => Err(Failure::Failed(e.to_string())),
        },
        UserCmd::Revoke(a) => revoke(&store, &a.name, a.token, now)
            .await
            .map(|n| format!("{n} token(s) of `{}` revoked", a.name))
            .map_err(Failure::from),
        UserCmd::Disable(a) => set_disabled(&store, &a.name, true)
            .await
            .map(|()| format!("`{}` disabled: no sign-in, sessions ended, tokens refused", a.name))
            .map_err(Failure::from),
        UserCmd::Enable(a) => {
            set_disabled(&store, &a.name, false).await.map(|()| format!("`{}` enabled", a.name)).map_err(Failure::from)
        }
    };
    match result {
        Ok(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Creates a user; prints their token.
async fn add(store: &Store, a: AddArgs, now: Timestamp) -> Result<String, Failure> {
    let password_hash = if a.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| Failure::Failed(format!("reading the password from standard input: {e}")))?;
        let password = line.trim_end_matches(['\r', '\n']);
        if password.chars().count() < 8 {
            return Err(Failure::Usage("the password must have at least 8 characters".into()));
        }
        Some(
            crate::app::sign_in::hash_password(password)
                .map_err(|e| Failure::Failed(format!("hashing the password: {e}")))?,
        )
    } else {
        None
    };
    let token = new_token();
    let user = UserRow { name: a.name.clone(), email: a.email, roles: a.roles, admin: a.admin };
    let expires = token_expiry(now, a.token_days);
    match store.add_user(&user, &token_hash(&token), expires, password_hash.as_deref(), now).await {
        Ok(()) => {
            println!("{token}");
            Ok(format!("user `{}` created; keep the token above, it is not shown again", a.name))
        }
        Err(StoreError::Duplicate(what)) if what == "user" => {
            Err(Failure::Failed(format!("a user named `{}` already exists", a.name)))
        }
        Err(e) => Err(Failure::Failed(e.to_string())),
    }
}
