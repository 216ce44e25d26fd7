//! The SLA clock: when a promise falls due, when to warn, and how it stands at an instant.
//!
//! Pauses are stored as intervals, never folded into the target: the due instant is the base
//! deadline moved later by the time the clock spent paused (working time for business units,
//! exact time for calendar units).

use jiff::{SignedDuration, Timestamp};

use super::{Calendar, Duration, Unit};

/// When the warning fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warn {
    /// A fixed amount before the due instant, e.g. `1 business day before`.
    Before(Duration),
    /// When this share (1–99 %) of the allowed time has elapsed.
    Percent(u8),
}

/// How an SLA stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SlaState {
    Ok,
    Warning,
    Breached,
    Met,
    MetLate,
}

impl SlaState {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaState::Ok => "ok",
            SlaState::Warning => "warning",
            SlaState::Breached => "breached",
            SlaState::Met => "met",
            SlaState::MetLate => "met-late",
        }
    }
}

/// A running SLA clock.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlaClock {
    /// When the clock started.
    pub started: Timestamp,
    /// The due instant before any pause.
    pub base_due: Timestamp,
    /// Whether pauses are measured in working time (business units) or exact time.
    pub business_time: bool,
    /// Pause intervals; the last one may still be open.
    pub pauses: Vec<(Timestamp, Option<Timestamp>)>,
    /// When the clock stopped (the promise was kept or broken for good).
    pub stopped: Option<Timestamp>,
}

impl SlaClock {
    /// A clock started at `started` that must stop within `within`.
    pub fn within(cal: &Calendar, started: Timestamp, within: Duration) -> SlaClock {
        SlaClock::until(cal, started, cal.add(started, within), is_business(within.unit))
    }

    /// A clock started at `started` that must stop by `due`.
    pub fn until(_cal: &Calendar, started: Timestamp, due: Timestamp, business_time: bool) -> SlaClock {
        SlaClock { started, base_due: due, business_time, pauses: Vec::new(), stopped: None }
    }

    /// Time spent paused in closed intervals, measured the clock's way.
    fn paused(&self, cal: &Calendar) -> SignedDuration {
        self.pauses
            .iter()
            .filter_map(|(a, b)| b.map(|b| (*a, b)))
            .map(|(a, b)| if self.business_time { cal.working_time_between(a, b) } else { b.duration_since(a) })
            .sum()
    }

    /// The due instant, moved later by closed pauses.
    pub fn due(&self, cal: &Calendar) -> Timestamp {
        let paused = self.paused(cal);
        if paused.is_zero() {
            self.base_due
        } else if self.business_time {
            cal.add_working_time(self.base_due, paused)
        } else {
            self.base_due.saturating_add(paused).unwrap_or(self.base_due)
        }
    }

    /// When the warning falls due.
    pub fn warn_at(&self, cal: &Calendar, warn: Warn) -> Timestamp {
        let due = self.due(cal);
        match warn {
            Warn::Before(d) => cal.sub(due, d),
            Warn::Percent(p) => {
                let p = i32::from(p.min(100));
                if self.business_time {
                    let total = cal.working_time_between(self.started, due);
                    cal.add_working_time(self.started, total * p / 100)
                } else {
                    let total = due.duration_since(self.started);
                    self.started.saturating_add(total * p / 100).unwrap_or(due)
                }
            }
        }
    }

    pub fn is_paused(&self) -> bool {
        matches!(self.pauses.last(), Some((_, None)))
    }

    pub fn pause(&mut self, at: Timestamp) {
        if !self.is_paused() && self.stopped.is_none() {
            self.pauses.push((at, None));
        }
    }

    pub fn resume(&mut self, at: Timestamp) {
        if let Some((_, end @ None)) = self.pauses.last_mut() {
            *end = Some(at);
        }
    }

    pub fn stop(&mut self, at: Timestamp) {
        self.resume(at);
        if self.stopped.is_none() {
            self.stopped = Some(at);
        }
    }

    /// How the SLA stands at `now`.
    pub fn state(&self, cal: &Calendar, warn: Option<Warn>, now: Timestamp) -> SlaState {
        let due = self.due(cal);
        if let Some(stopped) = self.stopped {
            return if stopped < due { SlaState::Met } else { SlaState::MetLate };
        }
        if self.is_paused() {
            // An open pause holds the clock: judge it as of the moment it paused.
            let since = self.pauses.last().map(|(a, _)| *a).unwrap_or(now);
            return self.running_state(cal, warn, due, since.min(now));
        }
        self.running_state(cal, warn, due, now)
    }

    fn running_state(&self, cal: &Calendar, warn: Option<Warn>, due: Timestamp, now: Timestamp) -> SlaState {
        if now >= due {
            SlaState::Breached
        } else if warn.is_some_and(|w| now >= self.warn_at(cal, w)) {
            SlaState::Warning
        } else {
            SlaState::Ok
        }
    }
}

fn is_business(unit: Unit) -> bool {
    matches!(unit, Unit::BusinessDays | Unit::BusinessHours)
}
