//! `tramite bench --http`: task completions through the real server — a TCP listener on
//! loopback, the router and its middleware, bearer tokens, JSON bodies — driven by concurrent
//! HTTP clients, on the shipped C.4.5 process. Printed beside the throughput: the writers'
//! share of the time (commits, units per commit, each phase), the rest being HTTP, tokens,
//! JSON, the read of the instance each answer shows, and the clients themselves.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::{Value, json};

use super::bench::{Host, PROCESS, answer, print_writes, report, start_data};
use crate::clock::{Clock, SystemClock};
use crate::http::auth::{new_token, token_expiry, token_hash};
use crate::mail::Templates;
use crate::runtime::Runtime;
use crate::store::{Store, UserRow};

pub async fn run(url: &str, processes: &Path, instances: usize, clients: usize) -> Result<(), String> {
    let store = Store::open(url).await.map_err(|e| e.to_string())?;
    let rt = Arc::new(Runtime::new(store, Templates::load(None)?, Arc::new(SystemClock)));
    rt.start_writer();
    rt.deploy_paths(&[processes.to_path_buf()]).await.map_err(|e| e.to_string())?;
    let token = new_token();
    let now = SystemClock.now();
    let user = UserRow { name: "bench".into(), email: None, roles: vec!["operador".into()], admin: false };
    rt.store.add_user(&user, &token_hash(&token), token_expiry(now, 1), None, now).await.map_err(|e| e.to_string())?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = crate::http::app(rt.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let base = format!("http://{addr}");
    let client =
        reqwest_rustls::Client::builder().pool_max_idle_per_host(clients).build().map_err(|e| e.to_string())?;

    let next = Arc::new(AtomicUsize::new(0));
    let host = Host::now();
    let t0 = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (client, base, token, next) = (client.clone(), base.clone(), token.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let post = |path: String, body: Value| {
                client
                    .post(format!("{base}{path}"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= instances {
                    return Ok::<_, String>(lat);
                }
                let started = post(format!("/api/processes/{PROCESS}/instances"), json!({ "data": start_data(i) }));
                let mut view = answered(started.await, 201).await?;
                while let Some((task, step)) = first_task(&view) {
                    let s = Instant::now();
                    let done = post(format!("/api/tasks/{task}/complete"), json!({ "data": answer(&step) }));
                    view = answered(done.await, 200).await?;
                    lat.push(s.elapsed());
                }
            }
        }));
    }
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.await.map_err(|e| e.to_string())??);
    }
    let elapsed = t0.elapsed();
    server.abort();
    let requests = instances + lat.len();
    let label = format!("{} through HTTP", rt.store.backend());
    report(&label, instances, lat.len(), elapsed, lat);
    let w = rt.writes.figures();
    print_writes(&w, elapsed);
    println!(
        "{:<28} {requests} requests ({} starts, the rest completions) in {:.2} s: {:.0} requests/s",
        "",
        instances,
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    println!("{:<28} {}", "", host.line());
    Ok(())
}

/// The body of a response with the expected status, as JSON.
async fn answered(r: Result<reqwest_rustls::Response, reqwest_rustls::Error>, want: u16) -> Result<Value, String> {
    let r = r.map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let body = r.text().await.map_err(|e| e.to_string())?;
    if status != want {
        return Err(format!("HTTP {status} (wanted {want}): {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("not JSON: {e}: {body}"))
}

/// The first open task of an instance as the API shows it: its id and step.
fn first_task(view: &Value) -> Option<(String, String)> {
    let t = view["tasks"].as_array()?.first()?;
    Some((t["id"].as_str()?.to_string(), t["step"].as_str()?.to_string()))
}
