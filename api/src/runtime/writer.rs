//! How transitions reach the database. A unit of work (start, command, timer) is first
//! *prepared*: the instance is read and locked, the pure machine decides, the messages are
//! rendered — nothing is written. Then:
//!
//! - PostgreSQL: each unit writes and commits in a transaction of its own (many connections
//!   commit in parallel; the row lock and the `seq` check keep them apart).
//! - SQLite (one writer): the group-commit writer prepares many units one after the other on one
//!   transaction, each seeing the state the previous ones left (an in-memory overlay), then
//!   writes them all with a fixed number of statements and one fsync. Nobody hears "done"
//!   before that commit. A unit the machine refuses is answered at once and writes nothing; if
//!   the batch write itself fails, each unit is retried alone.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use tramite_engine::machine::{self, Actor, Command, Instance, Record, TimerKey};

use super::{Deployed, Runtime, RuntimeError};
use crate::store::{NewMessage, Store, StoreError, StoredInstance, Tx};

/// Most units sharing one commit.
const MAX_BATCH: usize = 256;

/// A unit of work.
#[derive(Debug, Clone)]
pub enum Work {
    Start { process: String, data: Map<String, Value>, actor: Actor, key: Option<String> },
    Act { id: String, actor: Option<Actor>, cmd: Command },
    Fire { id: String, key: TimerKey },
}

/// What a unit produced.
#[derive(Debug, Clone)]
pub enum Done {
    Started(Instance, bool),
    Acted(Instance),
    /// Whether the timer fired (false: another node had it, or it was stale).
    Fired(bool),
}

#[derive(Debug)]
pub struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Done, RuntimeError>>,
}

/// A decided transition, not yet written.
#[derive(Debug)]
pub struct Prepared {
    pub deployed: Arc<Deployed>,
    pub inst: Instance,
    /// The state before, for an existing instance.
    pub prev: Option<Instance>,
    pub before_seq: Option<i64>,
    pub records: Vec<Record>,
    pub outbox: Vec<NewMessage>,
    pub key: Option<String>,
    pub started_by: Option<String>,
    pub now: Timestamp,
}

/// What earlier units of the same batch did, as later units must see it.
#[derive(Debug, Default)]
struct Overlay {
    instances: HashMap<String, StoredInstance>,
    keys: HashMap<String, Instance>,
}

impl Runtime {
    /// Starts the group-commit writer when the store is SQLite. Call once, after wrapping the
    /// runtime in an `Arc`; without it every unit commits on its own.
    pub fn start_writer(self: &Arc<Self>) {
        if !matches!(self.store, Store::Sqlite(_)) {
            return;
        }
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        if self.writer.set(tx).is_ok() {
            tokio::spawn(self.clone().write_loop(rx));
        }
    }

    /// Runs a unit of work to its commit.
    pub async fn run(&self, work: Work) -> Result<Done, RuntimeError> {
        if let Some(w) = self.writer.get() {
            let (reply, answer) = oneshot::channel();
            w.send(Job { work, reply }).await.map_err(|_| RuntimeError::Internal("the writer stopped".into()))?;
            return answer.await.map_err(|_| RuntimeError::Internal("the writer dropped a job".into()))?;
        }
        self.run_alone(work).await
    }

    /// One unit, one transaction.
    async fn run_alone(&self, work: Work) -> Result<Done, RuntimeError> {
        let mut tx = self.store.begin().await?;
        let (done, prepared) = self.prepare(&mut tx, work, None).await?;
        if let Some(p) = &prepared {
            let change = self.change(p);
            tx.save(&change).await.map_err(|e| self.save_error(e, p))?;
        }
        tx.commit().await?;
        self.wake();
        Ok(done)
    }

    fn save_error(&self, e: StoreError, p: &Prepared) -> RuntimeError {
        match e {
            StoreError::Duplicate(_) if p.key.is_some() => {
                RuntimeError::Conflict("an instance with this Idempotency-Key is being created; retry".into())
            }
            other => other.into(),
        }
    }

    async fn write_loop(self: Arc<Self>, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            self.write_batch(jobs).await;
        }
    }

    async fn write_batch(&self, jobs: Vec<Job>) {
        let mut tx = match self.store.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                let msg = e.to_string();
                for j in jobs {
                    let _ = j.reply.send(Err(RuntimeError::Internal(msg.clone())));
                }
                return;
            }
        };
        let mut overlay = Overlay::default();
        let mut ready: Vec<(Job, Done, Option<Prepared>)> = Vec::new();
        for job in jobs {
            match self.prepare(&mut tx, job.work.clone(), Some(&mut overlay)).await {
                Ok((done, prepared)) => ready.push((job, done, prepared)),
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                }
            }
        }
        let changes: Vec<_> = ready.iter().filter_map(|(_, _, p)| p.as_ref().map(|p| self.change(p))).collect();
        let refs: Vec<_> = changes.iter().collect();
        let written = match tx.save_batch(&refs).await {
            Ok(()) => tx.commit().await,
            Err(e) => Err(e),
        };
        drop(refs);
        drop(changes);
        match written {
            Ok(()) => {
                for (job, done, _) in ready {
                    let _ = job.reply.send(Ok(done));
                }
                self.wake();
            }
            Err(e) => {
                // The batch could not be written (the transaction is rolled back): try each unit
                // on its own so one bad unit does not sink the others.
                tracing::warn!(error = %e, units = ready.len(), "batch write failed; retrying units one by one");
                for (job, _, _) in ready {
                    let result = self.run_alone(job.work).await;
                    let _ = job.reply.send(result);
                }
            }
        }
    }

    /// Reads what a unit needs (through `overlay` for earlier units of a batch) and decides.
    async fn prepare(
        &self,
        tx: &mut Tx,
        work: Work,
        mut overlay: Option<&mut Overlay>,
    ) -> Result<(Done, Option<Prepared>), RuntimeError> {
        let now = Timestamp::now();
        match work {
            Work::Start { process, data, actor, key } => {
                if let Some(k) = &key {
                    if let Some(inst) = overlay.as_ref().and_then(|o| o.keys.get(k)) {
                        return Ok((Done::Started(inst.clone(), false), None));
                    }
                    if let Some(existing) = tx.instance_by_key(k).await? {
                        return Ok((Done::Started(existing.state, false), None));
                    }
                }
                let d = self
                    .deployed(&process, None)
                    .ok_or_else(|| RuntimeError::NotFound(format!("unknown process `{process}`")))?;
                let id = super::new_id();
                let (inst, records) =
                    machine::start(d.env(), &id, data, Some(&actor), now).map_err(RuntimeError::from_command)?;
                let outbox = self.messages(tx, &d, &inst, &records).await?;
                if let Some(o) = overlay.as_mut() {
                    let stored = StoredInstance {
                        id: id.clone(),
                        process: process.clone(),
                        version: d.version,
                        seq: inst.version as i64,
                        state: inst.clone(),
                        started_by: Some(actor.user.clone()),
                    };
                    o.instances.insert(id.clone(), stored);
                    if let Some(k) = &key {
                        o.keys.insert(k.clone(), inst.clone());
                    }
                }
                let done = Done::Started(inst.clone(), true);
                let p = Prepared {
                    deployed: d,
                    inst,
                    prev: None,
                    before_seq: None,
                    records,
                    outbox,
                    key,
                    started_by: Some(actor.user),
                    now,
                };
                Ok((done, Some(p)))
            }
            Work::Act { id, actor, cmd } => {
                let stored = self
                    .read(tx, &id, overlay.as_deref())
                    .await?
                    .ok_or_else(|| RuntimeError::NotFound(format!("no instance `{id}`")))?;
                let d = self.version_of(&stored)?;
                let (inst, records) = machine::execute(d.env(), &stored.state, actor.as_ref(), cmd, now)
                    .map_err(RuntimeError::from_command)?;
                let done = Done::Acted(inst.clone());
                Ok((done, Some(self.transition(tx, d, stored, inst, records, now, overlay).await?)))
            }
            Work::Fire { id, key } => {
                let in_batch = overlay.as_ref().is_some_and(|o| o.instances.contains_key(&id));
                if !in_batch && !tx.claim_timer(&id, &key).await? {
                    return Ok((Done::Fired(false), None));
                }
                let Some(stored) = self.read(tx, &id, overlay.as_deref()).await? else {
                    return Ok((Done::Fired(false), None));
                };
                let d = self.version_of(&stored)?;
                match machine::execute(d.env(), &stored.state, None, Command::Fire { timer: key.clone() }, now) {
                    Ok((inst, records)) => {
                        let p = self.transition(tx, d, stored, inst, records, now, overlay).await?;
                        Ok((Done::Fired(true), Some(p)))
                    }
                    Err(e) => {
                        // A stale row (the state moved on): rewrite the instance's timers from its state.
                        tracing::debug!(instance = %id, ?key, error = %e, "timer no longer pending");
                        let state = stored.state.clone();
                        let p = self.transition(tx, d, stored, state, Vec::new(), now, overlay).await?;
                        Ok((Done::Fired(false), Some(p)))
                    }
                }
            }
        }
    }

    async fn read(
        &self,
        tx: &mut Tx,
        id: &str,
        overlay: Option<&Overlay>,
    ) -> Result<Option<StoredInstance>, RuntimeError> {
        if let Some(s) = overlay.and_then(|o| o.instances.get(id)) {
            return Ok(Some(s.clone()));
        }
        Ok(tx.lock_instance(id).await?)
    }

    fn version_of(&self, stored: &StoredInstance) -> Result<Arc<Deployed>, RuntimeError> {
        self.deployed(&stored.process, Some(stored.version)).ok_or_else(|| {
            RuntimeError::Internal(format!("version {} of {} is not loaded", stored.version, stored.process))
        })
    }

    /// A transition of an existing instance, remembered in the overlay for later units.
    #[allow(clippy::too_many_arguments)]
    async fn transition(
        &self,
        tx: &mut Tx,
        d: Arc<Deployed>,
        stored: StoredInstance,
        inst: Instance,
        records: Vec<Record>,
        now: Timestamp,
        overlay: Option<&mut Overlay>,
    ) -> Result<Prepared, RuntimeError> {
        let mut outbox = self.messages(tx, &d, &inst, &records).await?;
        outbox.extend(self.approval_messages(tx, &d, &stored, &inst, &records).await?);
        let before_seq = Some(stored.seq);
        if let Some(o) = overlay {
            o.instances.insert(
                stored.id.clone(),
                StoredInstance { seq: inst.version as i64, state: inst.clone(), ..stored.clone() },
            );
        }
        Ok(Prepared {
            deployed: d,
            inst,
            prev: Some(stored.state),
            before_seq,
            records,
            outbox,
            key: None,
            started_by: None,
            now,
        })
    }
}
