//! The outbox on several nodes: each node leases the messages it sends, so three nodes sending
//! at once send every message once; a node that dies holding leases leaves its messages to the
//! others once the leases expire, and a message sent again keeps its Message-ID. An SMTP relay
//! down for ten minutes loses no message and gets none twice.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use axum::http::StatusCode;
use jiff::SignedDuration;
use serde_json::json;
use tramite::clock::Clock;
use tramite::mail::{self, Transport};
use tramite::metrics::Metrics;
use tramite::store::Store;

use super::common::{Db, SmtpSink, add_user, free_port};
use super::in_process::App;
use super::process;

const LEASE: Duration = Duration::from_secs(60);

/// Every `.eml` written under `dirs`: outbox id → (node, Message-ID).
fn sent(dirs: &[std::path::PathBuf]) -> Vec<(i64, usize, String)> {
    let mut out = Vec::new();
    for (node, dir) in dirs.iter().enumerate() {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for e in entries.flatten() {
            let id: i64 = e.path().file_stem().unwrap().to_string_lossy().parse().unwrap();
            let text = std::fs::read_to_string(e.path()).unwrap();
            let mid = text.lines().find_map(|l| l.strip_prefix("Message-ID: ")).unwrap_or_default().to_string();
            out.push((id, node, mid));
        }
    }
    out
}

/// Sends passes on `store` as node `name` until a pass finds nothing.
async fn drain(store: Store, clock: &dyn Clock, dir: &Path, name: &str) -> usize {
    let transport = Transport::Files(dir.to_path_buf());
    let metrics = Metrics::new();
    let mut total = 0;
    loop {
        let n = mail::send_pending(
            &store,
            clock,
            &mail::Mailer::new(transport.clone(), "tramite@example.org"),
            &metrics,
            name,
            LEASE,
        )
        .await
        .unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
}

pub(crate) async fn three_nodes_send_each_message_once(db: Db) {
    let app = App::new(&db, "outbox-nodes", &[("processes/uno.yaml", &process("prueba.uno", "Uno", "mx", None))]).await;
    for i in 0..3 {
        add_user(&app.url, &format!("op{i}"), &["operador"], Some(&format!("op{i}@example.org")), false);
    }
    let ana = app.user("ana", &["operador"], false, None).await;
    for _ in 0..40 {
        let a = app.post("/api/processes/prueba.uno/instances", &ana, json!({ "data": {} })).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    let queued = app.rt.store.outbox_backlog().await.unwrap();
    assert!(queued >= 120, "each start tells the three operators: {queued} messages");

    // A node takes ten messages and dies before sending them.
    let now = app.clock.now();
    let until = now.saturating_add(SignedDuration::try_from(LEASE).unwrap()).unwrap();
    let held = app.rt.store.lease_messages("muerto", now, until, 10).await.unwrap();
    assert_eq!(held.len(), 10);

    // Three nodes, each with its own connections, send at once.
    let dirs: Vec<_> = (0..3).map(|i| app.dir.join(format!("node{i}"))).collect();
    let mut nodes = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let (store, clock, dir) = (Store::open(&app.url).await.unwrap(), app.clock.clone(), dir.clone());
        nodes.push(tokio::spawn(async move { drain(store, clock.as_ref(), &dir, &format!("nodo{i}")).await }));
    }
    let mut tried = 0;
    for n in nodes {
        tried += n.await.unwrap();
    }
    assert_eq!(tried as i64, queued - 10, "the dead node's leased messages wait for its lease");
    assert_eq!(app.rt.store.outbox_backlog().await.unwrap(), 10);

    // Nobody takes them before the lease expires; after it, one node sends them.
    let store = Store::open(&app.url).await.unwrap();
    assert_eq!(drain(store.clone(), app.clock.as_ref(), &dirs[0], "nodo0").await, 0);
    app.clock.set(until.saturating_add(SignedDuration::from_secs(1)).unwrap());
    assert_eq!(drain(store, app.clock.as_ref(), &dirs[1], "nodo1").await, 10);
    assert_eq!(app.rt.store.outbox_backlog().await.unwrap(), 0);

    // Every message was sent once, by one node, with its own Message-ID.
    let all = sent(&dirs);
    let mut by_id: BTreeMap<i64, Vec<(usize, String)>> = BTreeMap::new();
    for (id, node, mid) in all {
        by_id.entry(id).or_default().push((node, mid));
    }
    assert_eq!(by_id.len() as i64, queued);
    for (id, copies) in &by_id {
        assert_eq!(copies.len(), 1, "message {id} sent {} times", copies.len());
        assert_eq!(copies[0].1, format!("<outbox-{id}@example.org>"));
    }
    let busy: std::collections::BTreeSet<usize> = by_id.values().map(|c| c[0].0).collect();
    assert!(busy.len() >= 2, "the nodes shared the work: {busy:?}");
}

/// One pass of the outbox worker of `app` through `transport`.
async fn send_once(app: &App, transport: &Transport, metrics: &Metrics) -> usize {
    let clock = app.clock.as_ref();
    mail::send_pending(
        &app.rt.store,
        clock,
        &mail::Mailer::new(transport.clone(), "tramite@example.org"),
        metrics,
        "nodo",
        LEASE,
    )
    .await
    .unwrap()
}

pub(crate) async fn smtp_down_ten_minutes_loses_and_repeats_nothing(db: Db) {
    let app =
        App::new(&db, "outbox-smtp-caido", &[("processes/uno.yaml", &process("prueba.uno", "Uno", "mx", None))]).await;
    add_user(&app.url, "op0", &["operador"], Some("op0@example.org"), false);
    let ana = app.user("ana", &["operador"], false, None).await;
    for _ in 0..5 {
        let a = app.post("/api/processes/prueba.uno/instances", &ana, json!({ "data": {} })).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    assert_eq!(app.rt.store.outbox_backlog().await.unwrap(), 5, "each start tells op0");

    // The relay is down for ten minutes: every attempt fails and the message waits its back-off.
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let transport = Transport::from_url(Some(&url), tramite::mail::SmtpAccess::default(), &app.dir).unwrap();
    let metrics = Metrics::new();
    let mut tried = 0;
    for _ in 0..20 {
        tried += send_once(&app, &transport, &metrics).await;
        app.advance(30);
    }
    assert!(tried > 5, "tried again while down: {tried}");
    assert_eq!(app.rt.store.outbox_backlog().await.unwrap(), 5, "nothing lost");
    assert!(metrics.render(0).contains(&format!("tramite_outbox_delivery_failures_total {tried}")));

    // It comes back where it was: each message is sent once, at its next attempt.
    std::fs::create_dir_all(app.dir.join("smtp")).unwrap();
    let sink = SmtpSink::start_on(&app.dir.join("smtp"), port);
    for _ in 0..30 {
        send_once(&app, &transport, &metrics).await;
        app.advance(60);
    }
    assert_eq!(app.rt.store.outbox_backlog().await.unwrap(), 0);
    let received = sink.messages();
    let ids: std::collections::BTreeSet<String> = received
        .iter()
        .filter_map(|m| m.lines().find_map(|l| l.strip_prefix("Message-ID: ")).map(str::to_string))
        .collect();
    assert_eq!((received.len(), ids.len()), (5, 5), "each message once: {received:?}");
}
