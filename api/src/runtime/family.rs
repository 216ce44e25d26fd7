//! Parents and sub-processes inside one unit of work. What a transition asks of other instances
//! is decided by the engine ([`machine::knocks`]); here the server answers in the same
//! transaction: it starts the sub-process of a call step on the latest deployed version of the
//! called process and links it to the parent, or records an *incident* on the parent when it
//! cannot (the process is not deployed, or refused the input); it sends a child's end to its
//! parent; it cancels the sub-processes of a call that is gone. The scenario runner's
//! `MachineDriver` answers the same knocks the same way on the pure machine.

use std::collections::VecDeque;

use tramite_engine::machine::{self, Command, Knock, ParentLink};

use super::writer::Unit;
use super::{Runtime, RuntimeError};

/// Most knocks one unit may answer: a guard, well above any real chain (calls nest at most
/// `MAX_CALL_DEPTH` deep).
const MAX_KNOCKS: usize = 1_000;

impl Runtime {
    /// Answers the knocks of instance `from`, and those the answers raise, in order.
    pub(super) async fn answer(&self, unit: &mut Unit<'_>, from: &str, knocks: Vec<Knock>) -> Result<(), RuntimeError> {
        let mut queue: VecDeque<(String, Knock)> = knocks.into_iter().map(|k| (from.to_string(), k)).collect();
        let mut answered = 0;
        while let Some((from, knock)) = queue.pop_front() {
            answered += 1;
            if answered > MAX_KNOCKS {
                return Err(RuntimeError::Internal(format!("more than {MAX_KNOCKS} sub-process steps in one unit")));
            }
            match knock {
                Knock::Start { token, process, data } => {
                    let Some(parent) = self.read(unit, &from).await? else { continue };
                    let step = parent.state.tokens.get(&token).map(|t| t.step.clone()).unwrap_or_default();
                    let link = ParentLink { instance: from.clone(), token, process: parent.process.clone(), step };
                    let started = match self.deployed(&process, None) {
                        None => Err(format!("el proceso `{process}` no está desplegado")),
                        Some(d) => {
                            let child = self.new_id();
                            match machine::start_call(d.env(), &child, data, link, unit.now) {
                                Ok((inst, records)) => Ok((d, inst, records)),
                                Err(e) => Err(format!("el proceso `{process}` no pudo iniciar: {e}")),
                            }
                        }
                    };
                    match started {
                        Ok((d, inst, records)) => {
                            let child = inst.id.clone();
                            let link = Command::LinkCall { task: token, child: child.clone(), version: d.version };
                            let starter = parent.started_by.clone();
                            self.apply(unit, parent, None, link).await?;
                            let more = self.adopt(unit, d, inst, records, starter, None).await?;
                            queue.extend(more.into_iter().map(|k| (child.clone(), k)));
                        }
                        Err(message) => {
                            tracing::warn!(instance = %from, token, ?message, "call step stuck: incident");
                            let (_, more) =
                                self.apply(unit, parent, None, Command::FailCall { task: token, message }).await?;
                            queue.extend(more.into_iter().map(|k| (from.clone(), k)));
                        }
                    }
                }
                Knock::Return { ref parent, ref child, ref outcome, .. }
                | Knock::Fail { ref parent, ref child, message: ref outcome } => {
                    let Some(stored) = self.read(unit, &parent.instance).await? else { continue };
                    if !stored.state.awaits(parent.token, child) {
                        continue;
                    }
                    let Some((to, cmd)) = machine::parent_command(&knock) else { continue };
                    let returning = matches!(knock, Knock::Return { .. });
                    match self.apply(unit, stored.clone(), None, cmd).await {
                        Ok((_, more)) => queue.extend(more.into_iter().map(|k| (to.clone(), k))),
                        // The child ended but the parent cannot go on from its call step (a
                        // condition failed): the child's end stands, the call becomes an incident.
                        Err(RuntimeError::Refused(e)) if returning => {
                            let message = format!(
                                "el subproceso {child} terminó ({outcome}) pero la llamada no pudo continuar: {e}"
                            );
                            let fail = Command::FailCall { task: parent.token, message };
                            let (_, more) = self.apply(unit, stored, None, fail).await?;
                            queue.extend(more.into_iter().map(|k| (to.clone(), k)));
                        }
                        Err(e) => return Err(e),
                    }
                }
                Knock::Cancel { child, reason } => {
                    let Some(stored) = self.read(unit, &child).await? else { continue };
                    if !stored.state.is_running() {
                        continue;
                    }
                    let (_, more) = self.apply(unit, stored, None, Command::Cancel { reason }).await?;
                    queue.extend(more.into_iter().map(|k| (child.clone(), k)));
                }
            }
        }
        Ok(())
    }
}
