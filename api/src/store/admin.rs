//! Creating and dropping whole PostgreSQL databases (a fresh one per scenario of
//! `tramite test --store postgres://…`).

use sqlx::postgres::PgConnectOptions;

use super::{Store, StoreError};

impl Store {
    /// Creates database `name` on the PostgreSQL server `admin` reaches (dropping one left
    /// behind) and returns its URL. `name` must be a plain identifier; it is checked, since a
    /// database name cannot be bound as a value.
    pub async fn create_postgres_database(admin: &str, name: &str) -> Result<String, StoreError> {
        Self::postgres_admin(
            admin,
            &[&format!("DROP DATABASE IF EXISTS {}", ident(name)?), &format!("CREATE DATABASE {}", ident(name)?)],
        )
        .await?;
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
        Ok(format!("{base}/{name}"))
    }

    /// Drops database `name` on the PostgreSQL server `admin` reaches, closing its connections.
    pub async fn drop_postgres_database(admin: &str, name: &str) -> Result<(), StoreError> {
        Self::postgres_admin(admin, &[&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(name)?)]).await
    }

    async fn postgres_admin(admin: &str, statements: &[&str]) -> Result<(), StoreError> {
        use sqlx::{ConnectOptions, Connection};
        // Creating and dropping databases is slow by nature: not worth a warning.
        let opts = admin.parse::<PgConnectOptions>()?.disable_statement_logging();
        let mut c = sqlx::PgConnection::connect_with(&opts).await?;
        for sql in statements {
            sqlx::raw_sql(sql).execute(&mut c).await?;
        }
        c.close().await?;
        Ok(())
    }
}

/// `name` if it is a plain lower-case identifier (letters, digits, `_`), for the few statements
/// that cannot bind it.
fn ident(name: &str) -> Result<&str, StoreError> {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain { Ok(name) } else { Err(StoreError::Encode(format!("`{name}` is not a plain identifier"))) }
}
