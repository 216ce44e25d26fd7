//! What people without an account may do: answer the one task a signed link names, and send a
//! process's start form when the process opens it to the public. Neither shows anything of a
//! case but the form being answered and, after a public start, the new case's own folio.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tramite_engine::definition::{Form, StepKind};
use tramite_engine::machine::{Command, Event};

use super::AppError;
use crate::links::LinkError;
use crate::runtime::{Deployed, Runtime};

/// Who answered through a link, as the case's history shows it.
pub const LINK_AUTHOR: &str = "enlace";
/// Who sent a public start form, as the case's history shows it.
pub const PUBLIC_AUTHOR: &str = "formulario público";

/// Why a link opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Not a link of this server (altered, cut).
    Invalid,
    Expired,
    /// Its task was answered already.
    Used,
    /// Its task is no longer open (the case moved on or closed).
    Closed,
}

impl From<LinkError> for LinkRefusal {
    fn from(e: LinkError) -> LinkRefusal {
        match e {
            LinkError::Altered => LinkRefusal::Invalid,
            LinkError::Expired => LinkRefusal::Expired,
        }
    }
}

/// The task a valid link names, open.
#[derive(Debug, Clone)]
pub struct LinkedTask {
    pub deployed: Arc<Deployed>,
    pub instance: String,
    pub token: u64,
    pub title: String,
    pub form: Option<Form>,
}

/// The open task `link` names, if the link is this server's, unexpired, and its task still open
/// and answerable by link.
pub async fn linked_task(rt: &Runtime, link: &str) -> Result<LinkedTask, LinkRefusal> {
    let target = rt.links().verify(link, rt.now())?;
    let Ok(stored) = rt.instance(&target.instance).await else { return Err(LinkRefusal::Invalid) };
    let d = rt.version_of(&stored).map_err(|_| LinkRefusal::Closed)?;
    let open = stored.state.tokens.get(&target.task).filter(|t| t.task.is_some() && stored.state.is_running());
    let Some(token) = open else {
        let history = rt.store.history(&target.instance).await.map_err(|_| LinkRefusal::Closed)?;
        let answered = history.iter().any(|r| match &r.event {
            Event::Completed { token, .. } | Event::Approved { token, .. } | Event::Rejected { token, .. } => {
                *token == target.task
            }
            _ => false,
        });
        return Err(if answered { LinkRefusal::Used } else { LinkRefusal::Closed });
    };
    let step = d.process.step(&token.step).filter(|s| s.link.is_some()).ok_or(LinkRefusal::Closed)?;
    let form = step.kind.work().and_then(|w| w.form.as_ref()).and_then(|f| d.forms.get(f)).cloned();
    if !matches!(step.kind, StepKind::Task { .. }) {
        return Err(LinkRefusal::Closed);
    }
    let title = step.title.clone();
    Ok(LinkedTask { deployed: d, instance: target.instance, token: target.task, title, form })
}

/// Answers the task of `link` with `data` (validated by its form: a 422 names each field).
/// Two answers racing: one completes the task, the other finds it answered.
pub async fn answer_link(rt: &Runtime, task: &LinkedTask, data: Map<String, Value>) -> Result<(), AppError> {
    let cmd = Command::Complete { task: task.token, data };
    rt.act_outside(&task.instance, LINK_AUTHOR, cmd).await?;
    Ok(())
}

/// The latest version of `process` when its start form is open to the public.
pub fn public_process(rt: &Runtime, process: &str) -> Option<Arc<Deployed>> {
    rt.deployed(process, None).filter(|d| d.process.start.public.is_some() && d.process.start.form.is_some())
}

/// Starts a case from the public start form of `d` (once per form `key`); the server sets the
/// reception time. Returns the case's folio, or `None` when the process does not number cases.
pub async fn start_public(
    rt: &Runtime,
    d: &Deployed,
    mut data: Map<String, Value>,
    key: &str,
) -> Result<Option<String>, AppError> {
    let public = d.process.start.public.clone().unwrap_or_default();
    if let Some(field) = &public.received {
        let now = rt.now().to_zoned(d.calendar.zone().clone());
        data.insert(field.clone(), Value::String(now.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()));
    }
    let (inst, _) = rt.start_outside(&d.process.id, data, PUBLIC_AUTHOR, Some(key)).await?;
    Ok(inst.folio.clone())
}

/// How many public forms one address may send per window.
pub const PUBLIC_SENDS: u32 = 10;
/// The window [`PUBLIC_SENDS`] counts over.
pub const PUBLIC_WINDOW: Duration = Duration::from_secs(600);

/// Counts what each address sends to the public forms, so one address cannot flood a process
/// with cases (real, monotonic time: a limit of the server, not of the domain).
#[derive(Debug)]
pub struct Limiter {
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Default for Limiter {
    fn default() -> Limiter {
        Limiter::new(PUBLIC_SENDS, PUBLIC_WINDOW)
    }
}

impl Limiter {
    pub fn new(max: u32, window: Duration) -> Limiter {
        Limiter { max, window, seen: Mutex::new(HashMap::new()) }
    }

    /// Whether `addr` may send one more now (counted when it may). An unknown address counts as
    /// one shared address.
    pub fn allow(&self, addr: Option<IpAddr>) -> bool {
        let key = addr.map(|a| a.to_canonical()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() > 100_000 {
            seen.retain(|_, (since, _)| now.duration_since(*since) < self.window);
        }
        let entry = seen.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            return false;
        }
        entry.1 += 1;
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_held_to_its_sends_per_window() {
        let l = Limiter::new(2, Duration::from_secs(600));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(l.allow(Some(a)) && l.allow(Some(a)));
        assert!(!l.allow(Some(a)), "a third send in the window is refused");
        assert!(l.allow(Some(b)), "another address has its own count");
        let short = Limiter::new(1, Duration::from_millis(0));
        assert!(short.allow(Some(a)) && short.allow(Some(a)), "a past window starts again");
    }
}
