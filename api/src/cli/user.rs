//! `tramite user add NAME --role ROLE… [--email ADDR] [--admin] [--password-stdin]`: creates a
//! user and prints a new API token once (only its SHA-256 is stored). With `--password-stdin`
//! the first line of standard input becomes the web sign-in password (stored as an Argon2id hash).

use std::process::ExitCode;

use crate::clock::{Clock, SystemClock};
use clap::{Args, Subcommand};

use crate::http::auth::{new_token, token_hash};
use crate::store::{Store, UserRow};

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user and print their API token.
    Add(AddArgs),
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
    #[arg(long, env = "TRAMITE_DATABASE", default_value = "sqlite://tramite.db")]
    pub database: String,
    /// Read a password for the web sign-in from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

pub async fn run(cmd: UserCmd) -> ExitCode {
    let UserCmd::Add(a) = cmd;
    if a.roles.is_empty() && !a.admin {
        eprintln!("error: give the user at least one --role, or --admin");
        return ExitCode::from(2);
    }
    let store = match Store::open(&a.database).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: database {}: {e}", a.database);
            return ExitCode::FAILURE;
        }
    };
    let password_hash = if a.password_stdin {
        let mut line = String::new();
        if let Err(e) = std::io::stdin().read_line(&mut line) {
            eprintln!("error: reading the password from standard input: {e}");
            return ExitCode::FAILURE;
        }
        let password = line.trim_end_matches(['\r', '\n']);
        if password.chars().count() < 8 {
            eprintln!("error: the password must have at least 8 characters");
            return ExitCode::from(2);
        }
        match crate::app::sign_in::hash_password(password) {
            Ok(h) => Some(h),
            Err(e) => {
                eprintln!("error: hashing the password: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let token = new_token();
    let user = UserRow { name: a.name.clone(), email: a.email, roles: a.roles, admin: a.admin };
    match store.add_user(&user, &token_hash(&token), password_hash.as_deref(), SystemClock.now()).await {
        Ok(()) => {
            println!("{token}");
            eprintln!("user `{}` created; keep the token above, it is not shown again", a.name);
            ExitCode::SUCCESS
        }
        Err(crate::store::StoreError::Duplicate(_)) => {
            eprintln!("error: a user named `{}` already exists", a.name);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
