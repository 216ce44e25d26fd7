//! SLA clocks as control moves: started, stopped, paused and resumed when a step is entered or
//! left, and stopped all at once when the instance ends or is cancelled.

use serde_json::Value;

use super::command::CommandError;
use super::event::Event;
use super::run::Run;
use crate::calendar::SlaClock;
use crate::definition::{Anchor, SlaTarget, StepIx, When};

impl Run<'_> {
    pub(super) fn stop_all_slas(&mut self) {
        let running: Vec<String> =
            self.inst.slas.iter().filter(|(_, s)| s.clock.stopped.is_none()).map(|(k, _)| k.clone()).collect();
        for sla in running {
            self.emit(Event::SlaStopped { sla });
        }
    }

    pub(super) fn entered(&mut self, ix: StepIx) -> Result<(), CommandError> {
        self.start_slas_on(|a| *a == Anchor::Entered(ix))?;
        self.stop_slas_on(&Anchor::Entered(ix));
        self.update_pauses();
        Ok(())
    }

    pub(super) fn left(&mut self, ix: StepIx) -> Result<(), CommandError> {
        self.stop_slas_on(&Anchor::Left(ix));
        self.start_slas_on(|a| *a == Anchor::Left(ix))?;
        // A data field an SLA counts from may have just been filled in.
        self.start_slas_on(|a| matches!(a, Anchor::Data(_)))?;
        self.update_pauses();
        Ok(())
    }

    pub(super) fn start_slas_on(&mut self, matches: impl Fn(&Anchor) -> bool) -> Result<(), CommandError> {
        let cal = self.env.calendar;
        for sla in &self.env.process.slas {
            // A step event that happens again (a loop) starts a new round of the SLA.
            let step_event = matches!(sla.from, Anchor::Entered(_) | Anchor::Left(_));
            if !matches(&sla.from) || (self.inst.slas.contains_key(&sla.id) && !step_event) {
                continue;
            }
            if let Some(cond) = &sla.when {
                let applies = match self.eval(cond, None) {
                    Ok(Value::Bool(b)) => b,
                    Ok(other) => {
                        let message = format!("condition `{}` gave {other}, not true or false", cond.source());
                        return Err(CommandError::Expression { step: sla.id.clone(), message });
                    }
                    Err(message) => return Err(CommandError::Expression { step: sla.id.clone(), message }),
                };
                if !applies {
                    continue;
                }
            }
            let from = match &sla.from {
                Anchor::Data(f) => match self.data_instant(f, false) {
                    Some(t) => t,
                    None => continue,
                },
                _ => self.now,
            };
            let clock = match &sla.target {
                SlaTarget::Within(d) => SlaClock::within(cal, from, *d),
                SlaTarget::Deadline(w) => {
                    let due = match w {
                        When::After(d) => Some(cal.add(from, *d)),
                        other => self.instant(&sla.id, other, None, false)?,
                    };
                    let Some(due) = due else { continue };
                    SlaClock::until(cal, from, due, w.is_business())
                }
            };
            self.emit(Event::SlaStarted { sla: sla.id.clone(), clock });
        }
        Ok(())
    }

    fn stop_slas_on(&mut self, anchor: &Anchor) {
        for sla in &self.env.process.slas {
            let running = self.inst.slas.get(&sla.id).is_some_and(|s| s.clock.stopped.is_none());
            if running && sla.until == *anchor {
                self.emit(Event::SlaStopped { sla: sla.id.clone() });
            }
        }
    }

    fn update_pauses(&mut self) {
        for sla in &self.env.process.slas {
            let Some(run) = self.inst.slas.get(&sla.id) else { continue };
            if sla.pause.is_empty() || run.clock.stopped.is_some() {
                continue;
            }
            let held = self.inst.tokens.values().any(|t| self.step(&t.step).is_some_and(|i| sla.pause.contains(&i)));
            match (held, run.clock.is_paused()) {
                (true, false) => self.emit(Event::SlaPaused { sla: sla.id.clone() }),
                (false, true) => self.emit(Event::SlaResumed { sla: sla.id.clone() }),
                _ => {}
            }
        }
    }
}
