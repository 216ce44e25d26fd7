//! SQLite's write connection (`store/direct.rs`): a write transaction waits for another
//! connection's write asleep, without holding the thread, and a transaction dropped before its
//! commit is rolled back and leaves the connection free.

use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;
use tramite::store::Store;

use crate::common::{Db, database, scratch};

/// One thread only: had the write transaction waited inside SQLite, the other connection's
/// commit (a task on the same thread) could never run, and the wait would end in an error.
#[tokio::test(flavor = "current_thread")]
async fn a_write_waits_asleep_for_another_connections_write() {
    let url = database(&Db::Sqlite, &scratch("writes-wait")).unwrap();
    let store = Store::open(&url).await.unwrap();
    let mut other = SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap();
    sqlx::query("INSERT INTO folio_counters (process, scope, last) VALUES ('p', 's', 7)")
        .execute(&mut other)
        .await
        .unwrap();
    let commit = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    });
    let mut tx = store.begin().await.unwrap();
    // It began after the other write committed: it reads what that wrote.
    assert_eq!(tx.last_folio("p", "s").await.unwrap(), 7, "it reads what the other connection committed");
    tx.commit().await.unwrap();
    commit.await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_write_is_rolled_back_and_frees_the_connection() {
    let url = database(&Db::Sqlite, &scratch("writes-drop")).unwrap();
    let store = Store::open(&url).await.unwrap();
    let tx = store.begin().await.unwrap();
    drop(tx);
    // The write lock is free for another connection at once…
    let mut other = SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("PRAGMA busy_timeout = 0").execute(&mut other).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap();
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    // …and the write connection begins again (no transaction left open on it).
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.last_folio("p", "s").await.unwrap(), 0);
    tx.commit().await.unwrap();
}

/// The write connection cannot share an in-memory database: refused at open, not split in two.
#[tokio::test(flavor = "current_thread")]
async fn an_in_memory_database_is_refused() {
    let e = Store::open("sqlite::memory:").await.unwrap_err();
    assert!(e.to_string().contains("in-memory SQLite database is not supported"), "{e}");
}

/// The reads on every request's path (its token, the task, the instance, its sub-processes)
/// run on read connections called in place: they see what was committed, by the writer or by
/// another connection.
#[tokio::test(flavor = "current_thread")]
async fn request_reads_see_what_was_committed() {
    use jiff::Timestamp;
    use tramite::store::UserRow;

    let url = database(&Db::Sqlite, &scratch("reads-commits")).unwrap();
    let store = Store::open(&url).await.unwrap();
    let now = Timestamp::now();
    let user = UserRow { name: "ana".into(), email: None, roles: vec!["agente".into()], admin: false };
    let expires = now.checked_add(jiff::SignedDuration::from_hours(24)).unwrap();
    store.add_user(&user, "hash-ana", expires, None, now).await.unwrap();
    let holder = store.token_holder("hash-ana").await.unwrap().expect("the token just committed is read");
    assert_eq!((holder.account.user, holder.account.disabled), (user.clone(), false));
    assert_eq!(holder.token.expires_at, Timestamp::from_microsecond(expires.as_microsecond()).unwrap());
    assert!(store.token_holder("hash-other").await.unwrap().is_none());
    assert!(store.task("i-1.1").await.unwrap().is_none());
    assert!(store.instance("i-1").await.unwrap().is_none());
    assert!(store.children("i-1").await.unwrap().is_empty());

    // A change another connection commits is read at once.
    let mut other = SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE users SET email = 'ana@example.org', disabled = TRUE").execute(&mut other).await.unwrap();
    let holder = store.token_holder("hash-ana").await.unwrap().unwrap();
    assert_eq!(holder.account.user.email.as_deref(), Some("ana@example.org"));
    assert!(holder.account.disabled);
}
