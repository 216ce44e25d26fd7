//! Where `tramite test --store` puts each scenario: a fresh SQLite file, or a fresh PostgreSQL
//! database created (and dropped after) through the store.

use std::path::PathBuf;

use crate::store::Store;

/// Where each scenario's database comes from.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A new SQLite file per scenario in this folder.
    Sqlite(PathBuf),
    /// A new database per scenario on the PostgreSQL server this admin URL reaches.
    Postgres(String),
}

impl Backend {
    /// `sqlite` (files under the system's temporary folder), `sqlite://DIR`, or a PostgreSQL URL
    /// whose user may create databases.
    pub fn parse(s: &str) -> Result<Backend, String> {
        if s.starts_with("postgres:") || s.starts_with("postgresql:") {
            return Ok(Backend::Postgres(s.to_string()));
        }
        let dir = match s.strip_prefix("sqlite://") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ if s == "sqlite" || s == "sqlite://" => {
                std::env::temp_dir().join(format!("tramite-scenarios-{}", std::process::id()))
            }
            _ => return Err(format!("--store {s}: use `sqlite`, `sqlite://DIR` or `postgres://…`")),
        };
        Ok(Backend::Sqlite(dir))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// A fresh database for scenario number `n`: its URL.
    pub async fn create(&self, n: usize) -> Result<String, String> {
        match self {
            Backend::Sqlite(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let file = dir.join(format!("scenario-{n}.db"));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
                Ok(format!("sqlite://{}", file.display()))
            }
            Backend::Postgres(admin) => {
                Store::create_postgres_database(admin, &Self::database(n)).await.map_err(|e| format!("{admin}: {e}"))
            }
        }
    }

    /// The PostgreSQL database of scenario number `n`.
    fn database(n: usize) -> String {
        format!("tramite_scenario_{}_{n}", std::process::id())
    }

    /// Drops scenario number `n`'s database.
    pub async fn drop(&self, n: usize) {
        match self {
            Backend::Sqlite(dir) => {
                let file = dir.join(format!("scenario-{n}.db"));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
            }
            Backend::Postgres(admin) => {
                if let Err(e) = Store::drop_postgres_database(admin, &Self::database(n)).await {
                    tracing::warn!(database = %Self::database(n), error = %e, "could not drop a scenario database");
                }
            }
        }
    }
}
