//! How transitions reach the database. Each unit of work (start, command, timer) runs inside a
//! transaction without committing; [`Runtime::run`] either gives it a transaction of its own
//! (PostgreSQL: many connections commit in parallel), or hands it to the group-commit writer
//! (SQLite: one writer; many units share one transaction and one fsync, each inside a
//! savepoint so a failing unit rolls back alone, and nobody hears "done" before the commit).

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use tramite_engine::machine::{self, Actor, Command, Instance, TimerKey};

use super::{Runtime, RuntimeError};
use crate::store::{Store, StoreError, Tx};

/// Most units sharing one commit.
const MAX_BATCH: usize = 256;

/// A unit of work.
#[derive(Debug)]
pub enum Work {
    Start { process: String, data: Map<String, Value>, actor: Actor, key: Option<String> },
    Act { id: String, actor: Option<Actor>, cmd: Command },
    Fire { id: String, key: TimerKey },
}

/// What a unit produced.
#[derive(Debug)]
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
        let mut tx = self.store.begin().await?;
        let done = self.unit(&mut tx, work).await?;
        tx.commit().await?;
        self.wake();
        Ok(done)
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
        let mut waiting = Vec::new();
        for job in jobs {
            let result = match tx.savepoint().await {
                Ok(()) => self.unit(&mut tx, job.work).await,
                Err(e) => Err(e.into()),
            };
            let undo = if result.is_ok() { tx.release().await } else { tx.rollback_to().await };
            match (result, undo) {
                (Ok(done), Ok(())) => waiting.push((job.reply, done)),
                (Err(e), _) => {
                    let _ = job.reply.send(Err(e));
                }
                (Ok(_), Err(e)) => {
                    let _ = job.reply.send(Err(e.into()));
                }
            }
        }
        match tx.commit().await {
            Ok(()) => {
                for (reply, done) in waiting {
                    let _ = reply.send(Ok(done));
                }
                self.wake();
            }
            Err(e) => {
                let msg = e.to_string();
                for (reply, _) in waiting {
                    let _ = reply.send(Err(RuntimeError::Internal(msg.clone())));
                }
            }
        }
    }

    /// One unit inside an open transaction; the caller commits.
    async fn unit(&self, tx: &mut Tx, work: Work) -> Result<Done, RuntimeError> {
        let now = Timestamp::now();
        match work {
            Work::Start { process, data, actor, key } => {
                if let Some(k) = &key
                    && let Some(existing) = tx.instance_by_key(k).await?
                {
                    return Ok(Done::Started(existing.state, false));
                }
                let d = self
                    .deployed(&process, None)
                    .ok_or_else(|| RuntimeError::NotFound(format!("unknown process `{process}`")))?;
                let id = super::new_id();
                let (inst, records) =
                    machine::start(d.env(), &id, data, Some(&actor), now).map_err(RuntimeError::from_command)?;
                let outbox = self.messages(tx, &d, &inst, &records).await?;
                let change = self.change(&d, &inst, &records, None, outbox, now, key.as_deref(), Some(&actor.user));
                tx.save(&change).await.map_err(|e| match e {
                    StoreError::Duplicate(_) if key.is_some() => {
                        RuntimeError::Conflict("an instance with this Idempotency-Key is being created; retry".into())
                    }
                    other => other.into(),
                })?;
                Ok(Done::Started(inst, true))
            }
            Work::Act { id, actor, cmd } => {
                let stored = tx
                    .lock_instance(&id)
                    .await?
                    .ok_or_else(|| RuntimeError::NotFound(format!("no instance `{id}`")))?;
                let d = self.deployed(&stored.process, Some(stored.version)).ok_or_else(|| {
                    RuntimeError::Internal(format!("version {} of {} is not loaded", stored.version, stored.process))
                })?;
                let (inst, records) = machine::execute(d.env(), &stored.state, actor.as_ref(), cmd, now)
                    .map_err(RuntimeError::from_command)?;
                let outbox = self.messages(tx, &d, &inst, &records).await?;
                tx.save(&self.change(&d, &inst, &records, Some(stored.seq), outbox, now, None, None)).await?;
                Ok(Done::Acted(inst))
            }
            Work::Fire { id, key } => {
                if !tx.claim_timer(&id, &key).await? {
                    return Ok(Done::Fired(false));
                }
                let Some(stored) = tx.lock_instance(&id).await? else { return Ok(Done::Fired(false)) };
                let Some(d) = self.deployed(&stored.process, Some(stored.version)) else {
                    return Ok(Done::Fired(false));
                };
                match machine::execute(d.env(), &stored.state, None, Command::Fire { timer: key.clone() }, now) {
                    Ok((inst, records)) => {
                        let outbox = self.messages(tx, &d, &inst, &records).await?;
                        tx.save(&self.change(&d, &inst, &records, Some(stored.seq), outbox, now, None, None)).await?;
                        Ok(Done::Fired(true))
                    }
                    Err(e) => {
                        // A stale row (the state moved on): rewrite the instance's timers from its state.
                        tracing::debug!(instance = %id, ?key, error = %e, "timer no longer pending");
                        tx.save(&self.change(&d, &stored.state, &[], Some(stored.seq), Vec::new(), now, None, None))
                            .await?;
                        Ok(Done::Fired(false))
                    }
                }
            }
        }
    }
}
