//! How units of work reach the database. A unit (a start, a command, a timer, a retry) is
//! first *prepared*: the instances it touches are read and locked, the pure machine decides —
//! for the instance itself and for every parent or sub-process its transition knocks on
//! (`family.rs`) — and the messages are rendered; nothing is written. Then:
//!
//! A group-commit writer takes the units waiting for it (up to [`MAX_BATCH`]), reads every
//! instance they act on in one statement, prepares them one after the other on one
//! transaction, each seeing the state the previous ones left (an in-memory overlay), then
//! writes them all with a fixed number of statements and one commit (one fsync). Nobody hears
//! "done" before that commit. A unit the machine refuses is answered at once, writes nothing
//! and leaves the overlay as it found it; if the database fails the batch, each unit is run
//! again alone, in a transaction of its own, so one bad unit does not sink the others.
//!
//! - SQLite has one writer (the database has one).
//! - PostgreSQL has [`PG_WRITERS`] writers committing in parallel; a unit goes to the writer
//!   its instance's id picks, so the units of one instance queue in one place. The row locks
//!   (`FOR UPDATE`, taken in id order) keep the writers, and other nodes, apart.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use tramite_engine::definition::indicators::contributions;
use tramite_engine::machine::{self, Actor, Command, Instance, Knock, Record, TimerKey};

use super::overlay::{Overlay, StartKey};
use super::rows::{folio, incident_rows, sla_rows, task_id, task_rows_with};
use super::{Deployed, Runtime, RuntimeError};
use crate::store::{Change, Derived, NewMessage, ReportJob, RowKeys, Store, StoredInstance, Tx};

/// Most units sharing one commit.
const MAX_BATCH: usize = 256;

/// Times the writer lets other tasks run between batches (see `write_loop`).
const YIELDS: usize = 3;

/// Group-commit writers on PostgreSQL (each holds one connection while it writes a batch).
const PG_WRITERS: usize = 4;

/// What the group-commit writers did, for `tramite bench`: batches committed,
/// units in them, and the time spent reading, deciding, writing and committing.
#[derive(Debug, Default)]
pub struct WriterStats {
    commits: AtomicU64,
    units: AtomicU64,
    read_us: AtomicU64,
    prepare_us: AtomicU64,
    write_us: AtomicU64,
    commit_us: AtomicU64,
}

/// A reading of [`WriterStats`].
#[derive(Debug, Clone, Copy, Default)]
pub struct WriterFigures {
    pub commits: u64,
    pub units: u64,
    pub read: Duration,
    pub prepare: Duration,
    pub write: Duration,
    pub commit: Duration,
}

impl WriterStats {
    fn add(&self, units: usize, times: [Duration; 4]) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.units.fetch_add(units as u64, Ordering::Relaxed);
        for (slot, t) in [&self.read_us, &self.prepare_us, &self.write_us, &self.commit_us].into_iter().zip(times) {
            slot.fetch_add(t.as_micros() as u64, Ordering::Relaxed);
        }
    }

    pub fn figures(&self) -> WriterFigures {
        let us = |a: &AtomicU64| Duration::from_micros(a.load(Ordering::Relaxed));
        WriterFigures {
            commits: self.commits.load(Ordering::Relaxed),
            units: self.units.load(Ordering::Relaxed),
            read: us(&self.read_us),
            prepare: us(&self.prepare_us),
            write: us(&self.write_us),
            commit: us(&self.commit_us),
        }
    }
}

/// A unit of work.
#[derive(Debug, Clone)]
pub enum Work {
    Start {
        process: String,
        data: Map<String, Value>,
        actor: Actor,
        key: Option<String>,
        /// Started from outside (the public form, a mailbox): the process's start roles do not
        /// apply, and `actor` names the channel.
        outside: bool,
    },
    Act {
        id: String,
        actor: Option<Actor>,
        cmd: Command,
        /// Who acts without an account (a link's holder), recorded as the events' author.
        by: Option<String>,
    },
    /// Fire a timer that fell `due`, at that instant (or the instance's last event, if later).
    Fire { id: String, key: TimerKey, due: Timestamp },
    /// Start again the sub-processes of an instance's incidents.
    Retry { id: String },
}

/// What a unit produced.
#[derive(Debug, Clone)]
pub enum Done {
    Started(StoredInstance, bool),
    Acted(Instance),
    /// Whether the timer fired (false: another node had it, or it was stale).
    Fired(bool),
    /// How many sub-processes were asked for again.
    Retried(usize),
}

#[derive(Debug)]
pub struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Done, RuntimeError>>,
}

/// A decided transition of one instance, not yet written.
#[derive(Debug)]
pub(super) struct Prepared {
    pub deployed: Arc<Deployed>,
    pub inst: Instance,
    /// The state before, for an existing instance.
    pub prev: Option<Instance>,
    pub before_seq: Option<i64>,
    pub records: Vec<Record>,
    pub outbox: Vec<NewMessage>,
    pub key: Option<String>,
    pub started_by: Option<String>,
    /// A new case's folio number and the scope it counts in.
    pub folio_count: Option<(String, i64)>,
    pub now: Timestamp,
    /// Rewrite the timers, SLA clocks and incidents even where the state did not change them
    /// (the stored rows are stale).
    pub rewrite: bool,
}

/// A unit being prepared: its transaction, the batch's overlay, what it decided so far.
pub(super) struct Unit<'a> {
    pub tx: &'a mut Tx,
    pub overlay: &'a mut Overlay,
    pub prepared: Vec<Prepared>,
    /// The unit's instant: the clock's, or the instant a fired timer fell due.
    pub now: Timestamp,
}

impl Runtime {
    /// Starts the group-commit writers (one on SQLite, [`PG_WRITERS`] on PostgreSQL). Call
    /// once, after wrapping the runtime in an `Arc`; without them every unit commits on its own.
    pub fn start_writer(self: &Arc<Self>) {
        let n = match self.store {
            Store::Sqlite(..) => 1,
            Store::Postgres(_) => PG_WRITERS,
        };
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::channel(4 * MAX_BATCH)).unzip();
        if self.writer.set(senders).is_ok() {
            for rx in receivers {
                tokio::spawn(self.clone().write_loop(rx));
            }
        }
    }

    /// Runs a unit of work to its commit.
    pub async fn run(&self, work: Work) -> Result<Done, RuntimeError> {
        if let Some(writers) = self.writer.get() {
            let w = &writers[self.writer_of(&work, writers.len())];
            let (reply, answer) = oneshot::channel();
            w.send(Job { work, reply }).await.map_err(|_| RuntimeError::Internal("the writer stopped".into()))?;
            return answer.await.map_err(|_| RuntimeError::Internal("the writer dropped a job".into()))?;
        }
        self.run_alone(work).await
    }

    /// The writer a unit queues at: its instance's (a hash of the id). A start goes to its
    /// process's writer when the process numbers its cases: the folio counter is locked until
    /// commit, and writers taking turns at it would wait for each other's whole batch. Other
    /// starts go to any writer.
    fn writer_of(&self, work: &Work, writers: usize) -> usize {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = |s: &str| BuildHasherDefault::<DefaultHasher>::default().hash_one(s) as usize % writers;
        match work {
            Work::Act { id, .. } | Work::Fire { id, .. } | Work::Retry { id } => hash(id),
            Work::Start { process, .. } => match self.deployed(process, None) {
                Some(d) if d.process.start.folio.is_some() => hash(process),
                _ => self.next_writer.fetch_add(1, Ordering::Relaxed) % writers,
            },
        }
    }

    /// One unit, one transaction.
    async fn run_alone(&self, work: Work) -> Result<Done, RuntimeError> {
        let mut tx = self.store.begin().await?;
        let mut overlay = Overlay::default();
        let (done, prepared) = self.prepare(&mut tx, work, &mut overlay).await?;
        for p in &prepared {
            tx.save(&self.change(p)).await?;
        }
        tx.commit().await?;
        self.counted(&prepared);
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
            // Let the tasks this batch answered run before gathering the next: a client that
            // acts again at once (the next task of its case) joins the next batch instead of the
            // one after, so batches hold every waiting client rather than alternating halves (64
            // clients on the C.4.5 bench: 64 units a commit instead of 33). With nothing else to
            // run a yield returns at once.
            for _ in 0..YIELDS {
                tokio::task::yield_now().await;
            }
        }
    }

    async fn write_batch(&self, jobs: Vec<Job>) {
        let t0 = Instant::now();
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
        // Every instance the batch acts on, read (and locked) at once.
        let mut ids: Vec<&str> = jobs
            .iter()
            .filter_map(|j| match &j.work {
                Work::Act { id, .. } | Work::Retry { id } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut overlay = Overlay::default();
        if !ids.is_empty() {
            match tx.lock_instances(&ids).await {
                Ok(found) => overlay.fetched = found.into_iter().map(|s| (s.id.clone(), s)).collect::<HashMap<_, _>>(),
                Err(e) => {
                    tracing::warn!(error = %e, units = jobs.len(), "batch read failed; running units one by one");
                    drop(tx);
                    return self.run_each_alone(jobs).await;
                }
            }
        }
        let t1 = Instant::now();
        let mut ready: Vec<(Job, Done, Vec<Prepared>)> = Vec::new();
        let mut alone: Vec<Job> = Vec::new();
        for job in jobs {
            // After a database error the transaction is spoilt (PostgreSQL refuses every later
            // statement): the rest run alone.
            if !alone.is_empty() {
                alone.push(job);
                continue;
            }
            match self.prepare(&mut tx, job.work.clone(), &mut overlay).await {
                Ok((done, prepared)) => ready.push((job, done, prepared)),
                Err(RuntimeError::Store(e)) => {
                    tracing::warn!(error = %e, "a unit failed in the database; running the rest of its batch one by one");
                    alone.push(job);
                }
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                }
            }
        }
        if !alone.is_empty() {
            drop(tx);
            let all = ready.into_iter().map(|(j, _, _)| j).chain(alone);
            return self.run_each_alone(all).await;
        }
        let t2 = Instant::now();
        let changes: Vec<_> = ready.iter().flat_map(|(_, _, p)| p.iter().map(|p| self.change(p))).collect();
        let refs: Vec<_> = changes.iter().collect();
        let saved = tx.save_batch(&refs).await;
        drop(refs);
        drop(changes);
        let t3 = Instant::now();
        let written = match saved {
            Ok(()) => tx.commit().await,
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => {
                let t4 = Instant::now();
                self.writes.add(ready.len(), [t1 - t0, t2 - t1, t3 - t2, t4 - t3]);
                let mut spent = Vec::with_capacity(ready.len());
                for (job, done, prepared) in ready {
                    self.counted(&prepared);
                    let _ = job.reply.send(Ok(done));
                    spent.push(prepared);
                }
                self.wake();
                // What the batch held (states before and after, rows) is freed beside the
                // writer: about a tenth of its time, which the next batch need not wait for.
                tokio::task::spawn_blocking(move || drop((spent, overlay)));
            }
            Err(e) => {
                // The batch could not be written (the transaction is rolled back).
                tracing::warn!(error = %e, units = ready.len(), "batch write failed; running units one by one");
                self.run_each_alone(ready.into_iter().map(|(j, _, _)| j)).await;
            }
        }
    }

    /// Runs jobs one by one, each in a transaction of its own, and answers each.
    async fn run_each_alone(&self, jobs: impl IntoIterator<Item = Job>) {
        for job in jobs {
            let result = self.run_alone(job.work).await;
            let _ = job.reply.send(result);
        }
    }

    /// Reads what a unit needs (through `overlay` for earlier units of a batch) and decides,
    /// for its instance and for every instance its transitions knock on.
    async fn prepare(
        &self,
        tx: &mut Tx,
        work: Work,
        overlay: &mut Overlay,
    ) -> Result<(Done, Vec<Prepared>), RuntimeError> {
        let now = match &work {
            Work::Fire { due, .. } => *due,
            _ => self.now(),
        };
        let mut unit = Unit { tx, overlay, prepared: Vec::new(), now };
        match self.decide(&mut unit, work).await {
            Ok(done) => {
                unit.overlay.keep_unit();
                Ok((done, unit.prepared))
            }
            Err(e) => {
                unit.overlay.undo_unit();
                Err(e)
            }
        }
    }

    async fn decide(&self, unit: &mut Unit<'_>, work: Work) -> Result<Done, RuntimeError> {
        match work {
            Work::Start { process, data, actor, key, outside } => {
                // A key is the caller's own, for this process.
                let key = key.map(|k| StartKey { user: actor.user.clone(), process: process.clone(), key: k });
                if let Some(k) = &key {
                    if let Some(id) = unit.overlay.keys.get(k).cloned() {
                        let stored = self.read(unit, &id).await?.ok_or(RuntimeError::Busy)?;
                        return Ok(Done::Started(stored, false));
                    }
                    if let Some(existing) = unit.tx.instance_by_key(&k.user, &k.process, &k.key).await? {
                        return Ok(Done::Started(existing, false));
                    }
                }
                let d = self
                    .deployed(&process, None)
                    .ok_or_else(|| RuntimeError::NotFound(format!("process `{process}`")))?;
                let id = self.new_id();
                let numbered = self.next_folio(unit, &d).await?;
                let folio = numbered.as_ref().map(|(_, _, f)| f.clone());
                let checked = (!outside).then_some(&actor);
                let (inst, mut records) = machine::start_with_folio(d.env(), &id, data, checked, folio, unit.now)?;
                if outside {
                    signed(&mut records, &actor.user);
                }
                if let Some(k) = &key {
                    unit.overlay.put_key(k, &id);
                }
                let knocks = self.adopt(unit, d, inst, records, Some(actor.user), key.map(|k| k.key)).await?;
                if let Some((scope, n, _)) = numbered {
                    unit.overlay.put_folio(&process, &scope, n);
                    if let Some(p) = unit.prepared.iter_mut().find(|p| p.inst.id == id && p.prev.is_none()) {
                        p.folio_count = Some((scope, n));
                    }
                }
                self.answer(unit, &id, knocks).await?;
                let stored = self.read(unit, &id).await?.ok_or(RuntimeError::Busy)?;
                Ok(Done::Started(stored, true))
            }
            Work::Act { id, actor, cmd, by } => {
                let stored =
                    self.read(unit, &id).await?.ok_or_else(|| RuntimeError::NotFound(format!("instance `{id}`")))?;
                let (_, knocks) = self.apply_by(unit, stored, actor.as_ref(), by.as_deref(), cmd).await?;
                self.answer(unit, &id, knocks).await?;
                let inst = self.read(unit, &id).await?.map(|s| s.state).ok_or(RuntimeError::Busy)?;
                Ok(Done::Acted(inst))
            }
            Work::Fire { id, key, due } => {
                let in_batch = unit.overlay.instances.contains_key(&id);
                if !in_batch && !unit.tx.claim_timer(&id, &key).await? {
                    return Ok(Done::Fired(false));
                }
                let Some(stored) = self.read(unit, &id).await? else { return Ok(Done::Fired(false)) };
                unit.now = due.max(stored.state.updated_at);
                match self.apply(unit, stored.clone(), None, Command::Fire { timer: key.clone() }).await {
                    Ok((_, knocks)) => {
                        self.answer(unit, &id, knocks).await?;
                        Ok(Done::Fired(true))
                    }
                    Err(RuntimeError::Refused(e)) => {
                        // A stale row (the state moved on): rewrite the instance's timers from its state.
                        tracing::debug!(instance = %id, ?key, error = %e, "timer no longer pending");
                        let d = self.version_of(&stored)?;
                        unit.prepared.push(Prepared {
                            deployed: d,
                            inst: stored.state.clone(),
                            prev: Some(stored.state),
                            before_seq: Some(stored.seq),
                            records: Vec::new(),
                            outbox: Vec::new(),
                            key: None,
                            started_by: None,
                            folio_count: None,
                            now: unit.now,
                            rewrite: true,
                        });
                        Ok(Done::Fired(false))
                    }
                    Err(e) => Err(e),
                }
            }
            Work::Retry { id } => {
                let stored =
                    self.read(unit, &id).await?.ok_or_else(|| RuntimeError::NotFound(format!("instance `{id}`")))?;
                let knocks = stored.state.retries();
                let n = knocks.len();
                self.answer(unit, &id, knocks).await?;
                Ok(Done::Retried(n))
            }
        }
    }

    /// The scope, number and folio of a new case of `d`, when its process numbers cases: one
    /// more than the last the store (or an earlier unit of the batch) gave in that scope.
    async fn next_folio(
        &self,
        unit: &mut Unit<'_>,
        d: &Deployed,
    ) -> Result<Option<(String, i64, String)>, RuntimeError> {
        let Some(pattern) = &d.process.start.folio else { return Ok(None) };
        let zone = d.calendar.zone();
        let scope = pattern.scope(unit.now, zone);
        let last = match unit.overlay.folios.get(&(d.process.id.clone(), scope.clone())) {
            Some(n) => *n,
            None => unit.tx.last_folio(&d.process.id, &scope).await?,
        };
        let n = last + 1;
        let folio = pattern.render(unit.now, zone, n as u64);
        Ok(Some((scope, n, folio)))
    }

    /// An instance as this unit sees it (locked for the transaction when read from the store).
    pub(super) async fn read(&self, unit: &mut Unit<'_>, id: &str) -> Result<Option<StoredInstance>, RuntimeError> {
        if let Some(s) = unit.overlay.instances.get(id).or_else(|| unit.overlay.fetched.get(id)) {
            return Ok(Some(s.clone()));
        }
        Ok(unit.tx.lock_instance(id).await?)
    }

    /// Runs `cmd` on a stored instance at the unit's instant (never before its last event) and
    /// remembers the transition; returns the new state and what it asks of other instances.
    pub(super) async fn apply(
        &self,
        unit: &mut Unit<'_>,
        stored: StoredInstance,
        actor: Option<&Actor>,
        cmd: Command,
    ) -> Result<(Instance, Vec<Knock>), RuntimeError> {
        self.apply_by(unit, stored, actor, None, cmd).await
    }

    /// [`Runtime::apply`], the events signed `by` someone without an account when given.
    async fn apply_by(
        &self,
        unit: &mut Unit<'_>,
        stored: StoredInstance,
        actor: Option<&Actor>,
        by: Option<&str>,
        cmd: Command,
    ) -> Result<(Instance, Vec<Knock>), RuntimeError> {
        let d = self.version_of(&stored)?;
        let at = unit.now.max(stored.state.updated_at);
        let (inst, mut records) = machine::execute(d.env(), &stored.state, actor, cmd, at)?;
        if let Some(by) = by {
            signed(&mut records, by);
        }
        let knocks = machine::knocks(Some(&stored.state), &inst, &records);
        let outbox =
            self.messages(unit.tx, &d, Some(&stored.state), &inst, &records, stored.started_by.as_deref()).await?;
        unit.overlay.put(StoredInstance { seq: inst.version as i64, state: inst.clone(), ..stored.clone() });
        unit.prepared.push(Prepared {
            deployed: d,
            inst: inst.clone(),
            prev: Some(stored.state),
            before_seq: Some(stored.seq),
            records,
            outbox,
            key: None,
            started_by: None,
            folio_count: None,
            now: at,
            rewrite: false,
        });
        Ok((inst, knocks))
    }

    /// Remembers a new instance; returns what its start asks of other instances.
    pub(super) async fn adopt(
        &self,
        unit: &mut Unit<'_>,
        d: Arc<Deployed>,
        inst: Instance,
        records: Vec<Record>,
        started_by: Option<String>,
        key: Option<String>,
    ) -> Result<Vec<Knock>, RuntimeError> {
        let knocks = machine::knocks(None, &inst, &records);
        let outbox = self.messages(unit.tx, &d, None, &inst, &records, started_by.as_deref()).await?;
        unit.overlay.put(StoredInstance {
            id: inst.id.clone(),
            process: d.process.id.clone(),
            version: d.version,
            seq: inst.version as i64,
            state: inst.clone(),
            started_by: started_by.clone(),
        });
        unit.prepared.push(Prepared {
            deployed: d,
            inst,
            prev: None,
            before_seq: None,
            records,
            outbox,
            key,
            started_by,
            folio_count: None,
            now: unit.now,
            rewrite: false,
        });
        Ok(knocks)
    }

    /// Counts committed transitions (those that recorded events) for `/metrics`.
    fn counted(&self, prepared: &[Prepared]) {
        for p in prepared.iter().filter(|p| !p.records.is_empty()) {
            self.metrics.committed(&p.records);
        }
    }

    /// The rows a prepared transition writes.
    fn change<'a>(&self, p: &'a Prepared) -> Change<'a> {
        let (d, inst) = (&p.deployed, &p.inst);
        let slas = sla_rows(d, inst);
        let tasks = task_rows_with(d, inst, &slas, |_| true);
        // Tasks open before and gone now; their rows are only built when there are some.
        let prev_slas = p.prev.as_ref().map(|prev| sla_rows(d, prev));
        let closed = match (&p.prev, &prev_slas) {
            (Some(prev), Some(prev_slas)) if prev.tasks().any(|(t, _)| !inst.tokens.contains_key(&t.id)) => {
                task_rows_with(d, prev, prev_slas, |token| !inst.tokens.contains_key(&token))
            }
            _ => Vec::new(),
        };
        let before = match (&p.prev, prev_slas) {
            (Some(prev), Some(slas)) if !p.rewrite => {
                let keys = RowKeys::of(prev, folio(prev), &slas);
                Some(Derived { timers: machine::timers(d.env(), prev), slas, incidents: incident_rows(d, prev), keys })
            }
            _ => None,
        };
        Change {
            id: &inst.id,
            process: &d.process.id,
            version: d.version,
            before_seq: p.before_seq,
            state: inst,
            records: &p.records,
            tasks,
            closed,
            timers: machine::timers(d.env(), inst),
            slas,
            incidents: incident_rows(d, inst),
            before,
            outbox: p.outbox.clone(),
            idempotency_key: p.key.as_deref(),
            started_by: p.started_by.as_deref(),
            folio: folio(inst),
            folio_count: p.folio_count.clone(),
            search_text: crate::store::search::text_of(inst),
            measures: match self.indicators_of(&d.process.id) {
                Some(list) => changed_contributions(&list, d, p),
                None => Vec::new(),
            },
            reports: report_jobs(p),
            reported: p
                .records
                .iter()
                .filter_map(|r| match &r.event {
                    machine::Event::ReportAttached { token, .. } => Some(task_id(&inst.id, *token)),
                    _ => None,
                })
                .collect(),
            now: p.now,
        }
    }
}

/// The report tasks a transition opened (`report:` on their step), each with its report to make.
fn report_jobs(p: &Prepared) -> Vec<ReportJob> {
    let (d, inst) = (&p.deployed, &p.inst);
    inst.tasks()
        .filter(|(tok, _)| p.prev.as_ref().is_none_or(|prev| !prev.tokens.contains_key(&tok.id)))
        .filter_map(|(tok, _)| {
            let report = d.process.step(&tok.step)?.kind.work()?.report.as_ref()?;
            Some(ReportJob {
                task_id: task_id(&inst.id, tok.id),
                instance_id: inst.id.clone(),
                token: tok.id,
                process: report.clone(),
                opened_at: tok.entered_at,
                attempts: 0,
            })
        })
        .collect()
}

/// What a transition changes in the case's indicator values: its contributions, less those the
/// state before gave already (a count written at the start is not written again at every step).
fn changed_contributions(
    list: &[tramite_engine::definition::indicators::Indicator],
    d: &Deployed,
    p: &Prepared,
) -> Vec<tramite_engine::definition::indicators::Contribution> {
    let now = contributions(list, &d.calendar, p.prev.as_ref(), &p.inst, &p.records);
    // A new case writes only what counts already (a value that does not count is no row).
    let Some(prev) = &p.prev else { return now.into_iter().filter(|c| c.value.is_some()).collect() };
    let before = contributions(list, &d.calendar, None, prev, &[]);
    now.into_iter().filter(|c| !before.contains(c)).collect()
}

/// Signs a transition's events with the name of who caused it from outside (no account).
fn signed(records: &mut [machine::Record], by: &str) {
    for r in records {
        r.by = Some(by.to_string());
    }
}
