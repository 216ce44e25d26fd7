//! `tramite user add NAME --role ROLE… [--email ADDR] [--admin]`: creates a user and prints a
//! new API token once (only its SHA-256 is stored).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use jiff::Timestamp;

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
    /// A role id as written in the process files (repeat for several).
    #[arg(long = "role")]
    pub roles: Vec<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// Admins see and act on everything.
    #[arg(long)]
    pub admin: bool,
    #[arg(long, env = "TRAMITE_DATABASE", default_value = "sqlite://tramite.db")]
    pub database: String,
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
    let token = new_token();
    let user = UserRow { name: a.name.clone(), email: a.email, roles: a.roles, admin: a.admin };
    match store.add_user(&user, &token_hash(&token), None, Timestamp::now()).await {
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
