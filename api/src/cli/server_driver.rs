//! `tramite test --store`: scenario files run through the server — the real router (bearer
//! tokens, JSON, the application layer), the runtime and the store (a fresh SQLite file or
//! PostgreSQL database per scenario), the scheduler and the outbox — on a manual clock. The
//! scenario reads and judges exactly as on the pure engine ([`scenario::run_file_with`]); only
//! how it acts and looks differs: every act is an HTTP request, every look a `GET`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use tower::ServiceExt;
use tramite_engine::machine::Actor;
use tramite_engine::scenario::{self, Act, Action, Driver, Observation, Refusal, Setup, Start, TaskSeen};

use super::scenario_db::Backend;
use crate::clock::ManualClock;
use crate::files::Loaded;
use crate::http::auth::{new_token, token_hash};
use crate::mail::Templates;
use crate::runtime::Runtime;
use crate::store::{Store, UserRow};

/// The user the scenario acts as when a step names nobody (the engine's "system"): an admin,
/// who may do anything a system step may.
const SYSTEM: &str = "tramite-escenario";

/// One scenario against the server.
pub struct ServerDriver {
    tokio: tokio::runtime::Handle,
    rt: Arc<Runtime>,
    clock: Arc<ManualClock>,
    app: Router,
    process: String,
    /// User name → API token (the scenario's users and [`SYSTEM`]).
    tokens: BTreeMap<String, String>,
    /// E-mail address → user name, to read the outbox back as `template -> user`.
    addresses: BTreeMap<String, String>,
    root: Option<String>,
    backend: Backend,
    n: usize,
}

impl std::fmt::Debug for ServerDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerDriver").field("process", &self.process).field("root", &self.root).finish()
    }
}

impl Drop for ServerDriver {
    fn drop(&mut self) {
        let (backend, n, store) = (self.backend.clone(), self.n, self.rt.store.clone());
        self.tokio.block_on(async move {
            store.close().await;
            backend.drop(n).await;
        });
    }
}

/// What a request to the server carries.
enum Payload {
    None,
    Json(Value),
    /// One file, sent as `POST /api/files` takes it.
    File {
        name: String,
        bytes: Vec<u8>,
    },
}

impl From<Option<Value>> for Payload {
    fn from(v: Option<Value>) -> Payload {
        v.map_or(Payload::None, Payload::Json)
    }
}

/// A `multipart/form-data` body with one file in the part `file`: (content type, body).
fn multipart_file(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = format!("tramite-{}", tramite_engine::files::sha256_hex(bytes));
    let quoted: String = name.chars().filter(|c| *c != '"' && !c.is_control()).collect();
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{quoted}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The address a scenario user is given: every user of a scenario can be written to.
fn address(user: &str) -> String {
    format!("{user}@escenario.invalid")
}

impl ServerDriver {
    /// A fresh database with the tree deployed and the scenario's users, on a manual clock.
    pub fn new(
        tokio: tokio::runtime::Handle,
        backend: &Backend,
        n: usize,
        loaded: &Loaded,
        setup: &Setup<'_>,
    ) -> Result<ServerDriver, String> {
        let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
        let (rt, tokens) = tokio.block_on(async {
            let url = backend.create(n).await?;
            let store = Store::open(&url).await.map_err(|e| format!("{url}: {e}"))?;
            let rt = Arc::new(Runtime::new(store, Templates::load(None)?, clock.clone()));
            // Files are stored by content: every scenario may share one folder.
            let files = std::env::temp_dir().join("tramite-scenario-files");
            rt.set_files(crate::blobs::Blobs::local(&files).map_err(|e| format!("{}: {e}", files.display()))?);
            rt.start_writer();
            let d = rt.deploy_tree(loaded).await.map_err(|e| e.to_string())?;
            if let Some(n) = d.not_deployed.first() {
                return Err(format!("{} is not deployed:\n{}", n.file, n.rendered));
            }
            let mut tokens = BTreeMap::new();
            let system = Actor::admin(SYSTEM);
            for a in setup.users.values().chain(std::iter::once(&system)) {
                let token = new_token();
                let email = (a.user != SYSTEM).then(|| address(&a.user));
                let user = UserRow { name: a.user.clone(), email, roles: a.roles.clone(), admin: a.admin };
                // The clock starts at the epoch and jumps to the scenario's dates: tokens must not expire.
                let expires = crate::http::auth::token_expiry(Timestamp::MAX, 0);
                rt.store
                    .add_user(&user, &token_hash(&token), expires, None, rt.now())
                    .await
                    .map_err(|e| e.to_string())?;
                tokens.insert(a.user.clone(), token);
            }
            Ok::<_, String>((rt, tokens))
        })?;
        let addresses = setup.users.keys().map(|u| (address(u), u.clone())).collect();
        Ok(ServerDriver {
            tokio,
            app: crate::http::app(rt.clone()),
            rt,
            clock,
            process: setup.process.id.clone(),
            tokens,
            addresses,
            root: None,
            backend: backend.clone(),
            n,
        })
    }

    /// One request through the router, as `user`; the status and the JSON answer.
    fn call(
        &self,
        user: Option<&Actor>,
        method: Method,
        path: &str,
        body: impl Into<Payload>,
    ) -> Result<(StatusCode, Value), String> {
        let name = user.map(|a| a.user.as_str()).unwrap_or(SYSTEM);
        let token = self.tokens.get(name).ok_or_else(|| format!("no token for `{name}`"))?;
        let mut req =
            Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
        let body = match body.into() {
            Payload::Json(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            Payload::File { name, bytes } => {
                let (content_type, body) = multipart_file(&name, &bytes);
                req = req.header(header::CONTENT_TYPE, content_type);
                Body::from(body)
            }
            Payload::None => Body::empty(),
        };
        let req = req.body(body).map_err(|e| e.to_string())?;
        let app = self.app.clone();
        self.tokio.block_on(async move {
            let res = app.oneshot(req).await.map_err(|e| e.to_string())?;
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024).await.map_err(|e| e.to_string())?;
            let value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).map_err(|e| format!("{path}: not JSON: {e}"))?
            };
            Ok((status, value))
        })
    }

    /// A successful answer, or the refusal it carries (`error.code`).
    fn expect_ok(
        &self,
        user: Option<&Actor>,
        method: Method,
        path: &str,
        body: impl Into<Payload>,
    ) -> Result<Value, Refusal> {
        let (status, value) = self.call(user, method, path, body).map_err(Refusal::Failed)?;
        if status.is_success() {
            return Ok(value);
        }
        let error = &value["error"];
        match error["code"].as_str() {
            Some(code) if status.is_client_error() => {
                let mut message = error["message"].as_str().unwrap_or_default().to_string();
                if let Some(fields) = error["details"]["fields"].as_object() {
                    let list: Vec<String> = fields
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", v["message"].as_str().unwrap_or_default()))
                        .collect();
                    message = format!("{message}: {}", list.join("; "));
                }
                Err(Refusal::Refused { code: code.to_string(), message })
            }
            _ => Err(Refusal::Failed(format!("{path}: {status} {value}"))),
        }
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        self.expect_ok(None, Method::GET, path, None).map_err(|e| match e {
            Refusal::Refused { code, message } => format!("{path}: {code}: {message}"),
            Refusal::Failed(m) => m,
        })
    }

    /// The scheduler's passes at the clock's instant: due timers, then due schedules.
    fn tick(&self) -> Result<Vec<crate::scheduler::ScheduledStart>, String> {
        let rt = self.rt.clone();
        self.tokio.block_on(async move { crate::scheduler::tick(&rt).await.map_err(|e| e.to_string()) })
    }

    fn root(&self) -> Result<&str, String> {
        self.root.as_deref().ok_or_else(|| "the instance has not started".to_string())
    }

    /// The instance and its sub-processes, instance first, as the API shows them.
    fn family(&self) -> Result<Vec<Value>, String> {
        let mut out = vec![self.get(&format!("/api/instances/{}", self.root()?))?];
        let mut i = 0;
        while i < out.len() {
            let children: Vec<String> = out[i]["children"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["id"].as_str().map(str::to_string))
                .collect();
            for c in children {
                out.push(self.get(&format!("/api/instances/{c}"))?);
            }
            i += 1;
        }
        Ok(out)
    }

    /// The open task at `step` (the `item`-th element's when given), instance first.
    fn task_at(&self, step: &str, item: Option<usize>) -> Result<String, Refusal> {
        let family = self.family().map_err(Refusal::Failed)?;
        for inst in &family {
            for t in inst["tasks"].as_array().into_iter().flatten() {
                let index = t["item"]["index"].as_i64().map(|i| i as usize + 1);
                if t["step"] == step && item.is_none_or(|n| index == Some(n)) {
                    return t["id"]
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| Refusal::Failed("a task without an id".into()));
                }
            }
        }
        let active: Vec<&Value> =
            family.iter().flat_map(|i| i["active_steps"].as_array().into_iter().flatten()).collect();
        let which = item.map(|n| format!(" for element {n}")).unwrap_or_default();
        Err(Refusal::Failed(format!("no open task at step `{step}`{which}; active steps: {active:?}")))
    }
}

fn instant(v: &Value) -> Option<Timestamp> {
    v.as_str().and_then(|s| s.parse().ok())
}

impl Driver for ServerDriver {
    fn start(&mut self, at: Timestamp, start: Start<'_>) -> Result<(), Refusal> {
        match start {
            Start::Data { actor, data } => {
                self.clock.set(at);
                let path = format!("/api/processes/{}/instances", self.process);
                let view = self.expect_ok(actor, Method::POST, &path, Some(json!({ "data": data })))?;
                self.root = view["id"].as_str().map(str::to_string);
            }
            Start::Schedule { schedule } => {
                // As the server meets the schedule: seen a moment before, due at `at`.
                self.clock.set(at.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap_or(at));
                self.tick().map_err(Refusal::Failed)?;
                self.clock.set(at);
                let started = self.tick().map_err(Refusal::Failed)?;
                self.root =
                    started.into_iter().find(|(p, s, _)| *p == self.process && *s == schedule.id).map(|(_, _, id)| id);
                if self.root.is_none() {
                    return Err(Refusal::Failed(format!(
                        "the scheduler started no instance of `{}` at {at}",
                        self.process
                    )));
                }
            }
        }
        self.tick().map_err(Refusal::Failed)?;
        Ok(())
    }

    fn act(&mut self, act: Act<'_>) -> Result<(), Refusal> {
        let (method, path, body) = match act.action {
            Action::Cancel { reason } => (
                Method::POST,
                format!("/api/instances/{}/cancel", self.root().map_err(Refusal::Failed)?),
                Some(json!({ "reason": reason })),
            ),
            Action::Complete { step, item, data } => (
                Method::POST,
                format!("/api/tasks/{}/complete", self.task_at(step, item)?),
                Some(json!({ "data": data })),
            ),
            Action::Approve { step, item, comment, data } => (
                Method::POST,
                format!("/api/tasks/{}/complete", self.task_at(step, item)?),
                Some(json!({ "decision": "approve", "comment": comment, "data": data })),
            ),
            Action::Reject { step, item, comment } => (
                Method::POST,
                format!("/api/tasks/{}/complete", self.task_at(step, item)?),
                Some(json!({ "decision": "reject", "comment": comment })),
            ),
            Action::Claim { step, item } => {
                (Method::POST, format!("/api/tasks/{}/claim", self.task_at(step, item)?), None)
            }
            Action::Unclaim { step, item } => {
                (Method::POST, format!("/api/tasks/{}/unclaim", self.task_at(step, item)?), None)
            }
            Action::EndCall { step, .. } => {
                return Err(Refusal::Failed(format!(
                    "`end_call: {step}` ends a call by hand on the engine; the server runs the called process: work its tasks"
                )));
            }
        };
        self.expect_ok(act.actor, method, &path, body)?;
        self.tick().map_err(Refusal::Failed)?;
        Ok(())
    }

    fn advance_to(&mut self, until: Timestamp) -> Result<(), String> {
        self.clock.set(until);
        self.tick().map(|_| ())
    }

    /// Uploads the file through `POST /api/files` as `actor` (the system without one).
    fn attach(&mut self, actor: Option<&Actor>, name: &str, bytes: &[u8]) -> Result<Value, Refusal> {
        let file = Payload::File { name: name.to_string(), bytes: bytes.to_vec() };
        self.expect_ok(actor, Method::POST, "/api/files", file)
    }

    fn observe(&mut self) -> Result<Observation, String> {
        let family = self.family()?;
        let root = &family[0];
        let slas = root["slas"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let id = s["id"].as_str()?.to_string();
                Some((id, (s["state"].as_str()?.to_string(), instant(&s["due_at"])?)))
            })
            .collect();
        let tasks = family
            .iter()
            .flat_map(|i| i["tasks"].as_array().cloned().unwrap_or_default())
            .map(|t| TaskSeen {
                step: t["step"].as_str().unwrap_or_default().to_string(),
                item: t["item"]["index"].as_i64().map(|i| i as usize + 1),
                role: scenario::holder_line(
                    t["role"].as_str().unwrap_or_default(),
                    t["role_scope"].as_str(),
                    t["assignee"].as_str(),
                ),
                due: instant(&t["due_at"]),
            })
            .collect();
        let history = self.get(&format!("/api/instances/{}/history", self.root()?))?;
        let records: Vec<tramite_engine::machine::Record> =
            serde_json::from_value(history["events"].clone()).map_err(|e| format!("history: {e}"))?;
        let mut emails = Vec::new();
        for inst in &family {
            let id = inst["id"].as_str().unwrap_or_default();
            let sent = self.get(&format!("/api/instances/{id}/messages"))?;
            for m in sent["messages"].as_array().into_iter().flatten() {
                let to = m["recipient"].as_str().unwrap_or_default();
                let user = self.addresses.get(to).cloned().unwrap_or_else(|| to.to_string());
                emails.push(format!("{} -> {user}", m["kind"].as_str().unwrap_or_default()));
            }
        }
        let strings = |v: &Value| -> Vec<String> {
            v.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_string)).collect()
        };
        let mut active = strings(&root["active_steps"]);
        active.sort();
        Ok(Observation {
            active,
            status: root["status"].as_str().unwrap_or_default().to_string(),
            outcome: root["outcome"].as_str().map(str::to_string),
            slas,
            tasks,
            alerts: records.iter().filter_map(scenario::alert_line).collect(),
            data: root["data"].as_object().cloned().unwrap_or_else(Map::new),
            folio: root["folio"].as_str().map(str::to_string),
            rejection: root["last_rejection"]["comment"].as_str().map(str::to_string),
            emails,
        })
    }
}
