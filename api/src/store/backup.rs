//! Online backups of a SQLite database: `VACUUM INTO` a new file. The copy is one read
//! transaction's snapshot, so it is consistent (every transition wholly in or wholly out)
//! while the server goes on writing beside it (WAL lets a reader and the writer run at once).

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};

use super::{Store, StoreError};

impl Store {
    /// Copies the SQLite database at `url` into `target`, a file that must not exist (SQLite
    /// refuses one that is not empty), then checks the copy (`PRAGMA quick_check`). The
    /// database is opened as it is: neither created nor migrated.
    pub async fn sqlite_backup(url: &str, target: &Path) -> Result<(), StoreError> {
        let target = target.to_str().ok_or_else(|| StoreError::Encode(format!("{} is not UTF-8", target.display())))?;
        let source = url.parse::<SqliteConnectOptions>()?.busy_timeout(Duration::from_secs(30));
        let mut conn = source.connect().await?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(&mut conn).await?;
        conn.close().await?;
        let mut copy = SqliteConnectOptions::new().filename(target).read_only(true).connect().await?;
        let verdict: String = sqlx::query("PRAGMA quick_check").fetch_one(&mut copy).await?.try_get(0)?;
        copy.close().await?;
        if verdict != "ok" {
            return Err(StoreError::Corrupt(format!("the copy does not check: {verdict}")));
        }
        Ok(())
    }
}
