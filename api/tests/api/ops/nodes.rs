//! Three `tramite serve` processes on one PostgreSQL database, sending to one SMTP server:
//! cases started on every node, their SLA timers fired once each (by whichever node takes
//! them), every message sent once, and one node killed (`kill -9`) under load: nothing it
//! acknowledged is lost, and the messages it held are sent by the others once its leases
//! expire, with the same Message-ID.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use super::common::*;

/// Cases each node's client starts.
const CASES_PER_NODE: usize = 150;
/// Seconds a node holds the messages it sends (short, so the test sees a dead node's leases
/// expire).
const LEASE_SECS: &str = "3";

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql]).output().unwrap();
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn number(url: &str, sql: &str) -> i64 {
    psql(url, sql).parse().unwrap()
}

/// The Message-ID of each message the sink received, with how many times it came.
fn received(sink: &SmtpSink) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for m in sink.messages() {
        let id = m.lines().find_map(|l| l.strip_prefix("Message-ID: ")).unwrap_or_default().trim().to_string();
        *out.entry(id).or_insert(0) += 1;
    }
    out
}

#[test]
fn three_nodes_fire_each_timer_once_and_send_each_message_once() {
    let dir = scratch("three-nodes");
    let sink = SmtpSink::start(&dir);
    let url = database(&Db::Postgres, &dir).unwrap();
    let ana = add_user(&url, "ana", &["operador"], Some("ana@example.org"), false);
    add_user(&url, "rosa", &["responsable_canales"], Some("rosa@example.org"), false);
    let args: Vec<String> = ["--no-watch", "--outbox-lease", LEASE_SECS].iter().map(|s| s.to_string()).collect();
    let processes = repo().join("processes");
    let mut nodes: Vec<Server> = (0..3)
        .map(|n| {
            Server::start_with(&url, &dir.join(format!("node{n}")), Some(&sink.url()), &processes, "warn", &args, &[])
        })
        .collect();
    let bases: Vec<String> = nodes.iter().map(|s| s.base.clone()).collect();

    // Each node's client starts cases whose reply SLA is already breached (received five
    // business days ago): each case's breach timer is due at once, on whichever node takes it.
    // The third node is killed part-way.
    let acknowledged: Vec<Vec<String>> = std::thread::scope(|s| {
        let clients: Vec<_> = bases
            .iter()
            .map(|base| {
                let (base, ana) = (base.clone(), ana.clone());
                s.spawn(move || {
                    let api = Api::new(&base, &ana);
                    let mut ids = Vec::new();
                    for _ in 0..CASES_PER_NODE {
                        let Some((status, inst)) = api.try_post(
                            "/api/processes/conocer.c45-correos/instances",
                            correo(&five_business_days_ago()),
                        ) else {
                            break;
                        };
                        assert_eq!(status, 201, "{inst}");
                        ids.push(inst["id"].as_str().unwrap().to_string());
                    }
                    ids
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        nodes[2].kill();
        clients.into_iter().map(|c| c.join().unwrap()).collect::<Vec<_>>()
    });
    let counts: Vec<usize> = acknowledged.iter().map(Vec::len).collect();
    assert_eq!(&counts[..2], &[CASES_PER_NODE, CASES_PER_NODE], "the live nodes started every case");
    assert!(counts[2] < CASES_PER_NODE, "the third node died under load: {counts:?}");
    let acknowledged: Vec<String> = acknowledged.into_iter().flatten().collect();

    // Nothing acknowledged is lost: every case is in the database.
    let list = acknowledged.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    assert_eq!(
        number(&url, &format!("SELECT count(*) FROM instances WHERE id IN ({list})")),
        acknowledged.len() as i64
    );

    // Every case's breach fired once, by one node or another.
    let all = number(&url, "SELECT count(*) FROM instances") as usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let fired = number(&url, "SELECT count(DISTINCT instance_id) FROM events WHERE kind = 'sla_breached'") as usize;
        if fired == all {
            break;
        }
        assert!(Instant::now() < deadline, "{fired} of {all} breaches fired");
        std::thread::sleep(Duration::from_millis(200));
    }
    let twice = psql(
        &url,
        "SELECT instance_id FROM events WHERE kind = 'sla_breached' GROUP BY instance_id HAVING count(*) > 1",
    );
    assert_eq!(twice, "", "a timer fired twice");

    // Every message is sent: those the dead node held too, once its leases expired. Each
    // Message-ID arrives; one arrives twice only if the dead node sent it before dying.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let unsent = number(&url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL");
        if unsent == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{unsent} messages never sent");
        std::thread::sleep(Duration::from_millis(200));
    }
    let rows = number(&url, "SELECT count(*) FROM outbox") as usize;
    let got = eventually(20, || {
        let got = received(&sink);
        (got.len() == rows).then_some(got)
    });
    let again: Vec<(&String, &usize)> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(again.len() <= 20, "at most the dead node's leased batch comes twice: {again:?}");
    // Each case told ana of her task and rosa of the breach.
    assert_eq!(number(&url, "SELECT count(*) FROM outbox WHERE kind = 'sla-breach'") as usize, all);
    let (status, _) = Api::new(&bases[0], &ana).get("/api/inbox");
    assert_eq!(status, 200, "the live nodes still serve");
}
