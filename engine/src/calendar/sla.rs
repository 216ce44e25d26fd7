//! The SLA clock: when a promise falls due, when to warn, and how it stands at an instant.
//!
//! Pauses are stored as intervals, never folded into the target: the due instant is the base
//! deadline moved later by the time the clock spent paused (working time for business units,
//! exact time for calendar units). A pause that begins after the due instant does not move it:
//! a breached promise stays breached. States: breached iff `now >= due`; met iff `stopped < due`.

use jiff::{SignedDuration, Timestamp};

use super::{Calendar, Duration, DurationError, Offset, Unit};

/// When the warning fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warn {
    /// A fixed amount before the due instant, e.g. `1 business day before`.
    Before(Duration),
    /// A fixed amount after the clock started, pauses not counted, e.g. `after 7 business days`
    /// for a promise "within 7 to 10 business days".
    After(Duration),
    /// When this share (1–99 %) of the allowed time has elapsed.
    Percent(u8),
}

impl Warn {
    /// Reads `1 business day before`, `after 7 business days` or `80%` (1–99).
    pub fn parse(text: &str) -> Result<Warn, WarnError> {
        let t = text.trim();
        if let Some(d) = t.strip_prefix("after ") {
            return Ok(Warn::After(Duration::parse(d.trim())?));
        }
        if let Some(number) = t.strip_suffix('%') {
            return match number.trim().parse::<u8>() {
                Ok(p @ 1..=99) => Ok(Warn::Percent(p)),
                _ => Err(WarnError::Percent(t.to_string())),
            };
        }
        match Offset::parse(t) {
            Ok(Offset { duration, before: true }) => Ok(Warn::Before(duration)),
            Ok(_) => Err(WarnError::NotBefore(t.to_string())),
            Err(e) => Err(WarnError::Duration(e)),
        }
    }
}

/// Why a warning threshold could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarnError {
    #[error("`{0}` is not a percentage from 1% to 99%")]
    Percent(String),
    #[error("a warning is set before the due instant or after the start: write `{0} before` or `after {0}`")]
    NotBefore(String),
    #[error(transparent)]
    Duration(#[from] DurationError),
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

    /// Time between two instants, measured the clock's way (working time or exact time).
    fn measure(&self, cal: &Calendar, from: Timestamp, to: Timestamp) -> SignedDuration {
        if to <= from {
            SignedDuration::ZERO
        } else if self.business_time {
            cal.working_time_between(from, to)
        } else {
            to.duration_since(from)
        }
    }

    /// `t` moved later by `amount`, measured the clock's way.
    fn advance(&self, cal: &Calendar, t: Timestamp, amount: SignedDuration) -> Timestamp {
        if self.business_time {
            cal.add_working_time(t, amount)
        } else {
            t.saturating_add(amount).unwrap_or(Timestamp::MAX)
        }
    }

    /// Closed pauses, clamped to start no earlier than the clock, in order.
    fn closed_pauses(&self) -> Vec<(Timestamp, Timestamp)> {
        let mut out: Vec<(Timestamp, Timestamp)> = self
            .pauses
            .iter()
            .filter_map(|(a, b)| b.map(|b| ((*a).max(self.started), b)))
            .filter(|(a, b)| b > a)
            .collect();
        out.sort();
        out
    }

    /// `target` moved later by each closed pause that began before it (a pause that begins after
    /// the instant has passed cannot postpone it).
    fn postponed(&self, cal: &Calendar, target: Timestamp) -> Timestamp {
        self.closed_pauses()
            .into_iter()
            .fold(target, |t, (a, b)| if a < t { self.advance(cal, t, self.measure(cal, a, b)) } else { t })
    }

    /// The time allowed, measured the clock's way from the start to the unpaused due instant.
    pub fn allowed(&self, cal: &Calendar) -> SignedDuration {
        self.measure(cal, self.started, self.base_due)
    }

    /// The due instant: the base due moved later by closed pauses that began before it.
    pub fn due(&self, cal: &Calendar) -> Timestamp {
        self.postponed(cal, self.base_due)
    }

    /// When the warning falls due. `Before(d)` counts back from the due instant on the calendar;
    /// `After(d)` counts forward from the start and is moved by pauses like the due instant;
    /// `Percent(p)` is when p % of the allowed time has run, not counting pauses.
    pub fn warn_at(&self, cal: &Calendar, warn: Warn) -> Timestamp {
        match warn {
            Warn::Before(d) => cal.sub(self.due(cal), d),
            Warn::After(d) => self.postponed(cal, cal.add(self.started, d)),
            Warn::Percent(p) => {
                let share = self.allowed(cal) * i32::from(p.min(100)) / 100;
                self.postponed(cal, self.advance(cal, self.started, share))
            }
        }
    }

    /// Time the clock has run by `now` (or until it stopped), pauses excluded.
    pub fn elapsed(&self, cal: &Calendar, now: Timestamp) -> SignedDuration {
        let end = self.stopped.map_or(now, |s| s.min(now));
        let paused: SignedDuration = self
            .pauses
            .iter()
            .map(|(a, b)| {
                let a = (*a).max(self.started);
                let b = b.unwrap_or(end).min(end);
                self.measure(cal, a, b)
            })
            .sum();
        self.measure(cal, self.started, end) - paused
    }

    pub fn is_paused(&self) -> bool {
        matches!(self.pauses.last(), Some((_, None)))
    }

    pub fn pause(&mut self, at: Timestamp) {
        if !self.is_paused() && self.stopped.is_none() {
            self.pauses.push((at, None));
        }
    }

    /// Closes the open pause; a resume dated before the pause began closes it empty.
    pub fn resume(&mut self, at: Timestamp) {
        if let Some((start, end @ None)) = self.pauses.last_mut() {
            *end = Some(at.max(*start));
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

    /// When a running clock's state next changes if nothing else happens: the instants it turns
    /// `warning` and `breached`. An open pause freezes the state as of its start, so a paused
    /// clock turns nothing it has not turned already. `None` once the clock stopped (met or
    /// met late for good). [`Standing::at`] then gives the same state as [`SlaClock::state`] at
    /// any instant from the last event on — which is what lets a database filter by standing.
    pub fn standing(&self, cal: &Calendar, warn: Option<Warn>) -> Option<Standing> {
        if self.stopped.is_some() {
            return None;
        }
        let due = self.due(cal);
        let warn_at = warn.map(|w| self.warn_at(cal, w));
        let paused_at = self.pauses.last().filter(|(_, end)| end.is_none()).map(|(a, _)| *a);
        Some(match paused_at {
            None => Standing { warn_at, breach_at: Some(due) },
            Some(p) => match self.running_state(cal, warn, due, p) {
                SlaState::Breached => Standing { warn_at, breach_at: Some(due) },
                SlaState::Warning => Standing { warn_at, breach_at: None },
                _ => Standing { warn_at: None, breach_at: None },
            },
        })
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

/// The instants a running clock turns `warning` and `breached` (see [`SlaClock::standing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Standing {
    pub warn_at: Option<Timestamp>,
    pub breach_at: Option<Timestamp>,
}

impl Standing {
    /// The state at `now`: `ok`, `warning` or `breached`.
    pub fn at(&self, now: Timestamp) -> SlaState {
        if self.breach_at.is_some_and(|b| b <= now) {
            SlaState::Breached
        } else if self.warn_at.is_some_and(|w| w <= now) {
            SlaState::Warning
        } else {
            SlaState::Ok
        }
    }
}

fn is_business(unit: Unit) -> bool {
    matches!(unit, Unit::BusinessDays | Unit::BusinessHours)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::DateTime;

    fn mx() -> Calendar {
        super::super::builtin("mx").unwrap()
    }

    fn at(cal: &Calendar, text: &str) -> Timestamp {
        text.parse::<DateTime>().unwrap().to_zoned(cal.zone().clone()).unwrap().timestamp()
    }

    /// 2 business days from Friday 2026-03-13 16:00: due Wednesday 18:00 (Monday is a holiday).
    fn clock(cal: &Calendar) -> SlaClock {
        SlaClock::within(cal, at(cal, "2026-03-13T16:00"), Duration::new(2, Unit::BusinessDays))
    }

    #[test]
    fn open_pause_freezes_the_state_at_the_moment_it_paused() {
        let cal = mx();
        let mut sla = clock(&cal);
        sla.pause(at(&cal, "2026-03-18T17:00"));
        assert!(sla.is_paused());
        // Long after the unpaused due, an open pause still reads as of Wednesday 17:00.
        assert_eq!(sla.state(&cal, None, at(&cal, "2026-03-20T12:00")), SlaState::Ok);
        let warn = Some(Warn::Before(Duration::new(1, Unit::BusinessDays)));
        assert_eq!(sla.state(&cal, warn, at(&cal, "2026-03-20T12:00")), SlaState::Warning);
        // Resumed Friday 12:00: one working hour was left, so due Friday 13:00.
        sla.resume(at(&cal, "2026-03-20T12:00"));
        assert_eq!(sla.due(&cal), at(&cal, "2026-03-20T13:00"));
        assert_eq!(sla.state(&cal, None, at(&cal, "2026-03-20T12:30")), SlaState::Ok);
        assert_eq!(sla.state(&cal, None, at(&cal, "2026-03-20T13:00")), SlaState::Breached);
    }

    #[test]
    fn pause_over_a_weekend_costs_no_business_time() {
        let cal = mx();
        let mut sla = clock(&cal);
        sla.pause(at(&cal, "2026-03-13T18:30"));
        sla.resume(at(&cal, "2026-03-16T20:00")); // Saturday, Sunday and the Monday holiday
        assert_eq!(sla.due(&cal), sla.base_due);
    }

    #[test]
    fn calendar_time_clock_pauses_in_exact_time() {
        let cal = mx();
        let start = at(&cal, "2026-03-13T16:00");
        let mut sla = SlaClock::within(&cal, start, Duration::new(90, Unit::Days));
        assert!(!sla.business_time);
        sla.pause(at(&cal, "2026-03-14T00:00"));
        sla.resume(at(&cal, "2026-03-15T12:00"));
        assert_eq!(sla.due(&cal), at(&cal, "2026-06-13T04:00"));
        assert_eq!(sla.elapsed(&cal, at(&cal, "2026-03-16T16:00")), SignedDuration::from_hours(72 - 36));
    }

    #[test]
    fn stop_closes_an_open_pause_and_later_commands_change_nothing() {
        let cal = mx();
        let mut sla = clock(&cal);
        sla.pause(at(&cal, "2026-03-17T10:00"));
        sla.stop(at(&cal, "2026-03-17T11:00"));
        assert!(!sla.is_paused());
        let before = sla.clone();
        sla.pause(at(&cal, "2026-03-17T12:00"));
        sla.stop(at(&cal, "2026-03-30T12:00"));
        assert_eq!(sla, before);
        assert_eq!(sla.state(&cal, None, at(&cal, "2026-04-30T12:00")), SlaState::Met);
    }

    #[test]
    fn elapsed_excludes_pauses_and_stops_at_the_stop() {
        let cal = mx();
        let mut sla = clock(&cal);
        assert_eq!(sla.elapsed(&cal, at(&cal, "2026-03-17T10:00")), SignedDuration::from_hours(3));
        sla.pause(at(&cal, "2026-03-17T10:00"));
        assert_eq!(sla.elapsed(&cal, at(&cal, "2026-03-17T15:00")), SignedDuration::from_hours(3));
        sla.resume(at(&cal, "2026-03-17T12:00"));
        sla.stop(at(&cal, "2026-03-17T13:00"));
        assert_eq!(sla.elapsed(&cal, at(&cal, "2026-03-25T00:00")), SignedDuration::from_hours(4));
    }

    #[test]
    fn a_resume_dated_before_its_pause_closes_it_empty() {
        let cal = mx();
        let mut sla = clock(&cal);
        sla.pause(at(&cal, "2026-03-17T10:00"));
        sla.resume(at(&cal, "2026-03-17T09:00"));
        assert_eq!(sla.due(&cal), sla.base_due);
    }

    #[test]
    fn percentage_warning_skips_pauses_before_it() {
        let cal = mx();
        let mut sla = clock(&cal);
        // 20 h allowed, 50 % = 10 h: Friday 2 h, then Tuesday 09:00–17:00 without pauses.
        sla.pause(at(&cal, "2026-03-17T10:00"));
        sla.resume(at(&cal, "2026-03-17T12:00"));
        assert_eq!(sla.warn_at(&cal, Warn::Percent(50)), at(&cal, "2026-03-18T10:00"));
        assert_eq!(sla.warn_at(&cal, Warn::Percent(100)), sla.due(&cal));
    }

    #[test]
    fn reads_warning_thresholds() {
        let one_day = Warn::Before(Duration::new(1, Unit::BusinessDays));
        assert_eq!(Warn::parse("1 business day before"), Ok(one_day));
        assert_eq!(Warn::parse("80%"), Ok(Warn::Percent(80)));
        assert_eq!(Warn::parse("100%"), Err(WarnError::Percent("100%".into())));
        assert_eq!(Warn::parse("1 business day"), Err(WarnError::NotBefore("1 business day".into())));
        assert!(matches!(Warn::parse("1 fortnight before"), Err(WarnError::Duration(_))));
        let seven = Warn::After(Duration::new(7, Unit::BusinessDays));
        assert_eq!(Warn::parse("after 7 business days"), Ok(seven));
        assert!(matches!(Warn::parse("after 7 fortnights"), Err(WarnError::Duration(_))));
    }

    /// "a más tardar de 7 a 10 días hábiles": from Monday 2026-03-02 10:00, the 7th business day
    /// closes on Wednesday 11 March and the 10th on Tuesday 17 March (Monday 16 is a holiday).
    #[test]
    fn a_warning_after_the_start_is_the_target_of_a_range() {
        let cal = mx();
        let mut sla = SlaClock::within(&cal, at(&cal, "2026-03-02T10:00"), Duration::new(10, Unit::BusinessDays));
        let after = Warn::After(Duration::new(7, Unit::BusinessDays));
        assert_eq!(sla.due(&cal), at(&cal, "2026-03-17T18:00"));
        assert_eq!(sla.warn_at(&cal, after), at(&cal, "2026-03-11T18:00"));
        assert_eq!(sla.warn_at(&cal, after), sla.warn_at(&cal, Warn::Before(Duration::new(3, Unit::BusinessDays))));
        assert_eq!(sla.state(&cal, Some(after), at(&cal, "2026-03-11T17:59")), SlaState::Ok);
        assert_eq!(sla.state(&cal, Some(after), at(&cal, "2026-03-11T18:00")), SlaState::Warning);
        // A pause of two working hours before the warning moves it, as it moves the due instant.
        sla.pause(at(&cal, "2026-03-04T10:00"));
        sla.resume(at(&cal, "2026-03-04T12:00"));
        assert_eq!(sla.warn_at(&cal, after), at(&cal, "2026-03-12T11:00"));
        assert_eq!(sla.due(&cal), at(&cal, "2026-03-18T11:00"));
        // A pause after the warning instant does not move it.
        let mut late = SlaClock::within(&cal, at(&cal, "2026-03-02T10:00"), Duration::new(10, Unit::BusinessDays));
        late.pause(at(&cal, "2026-03-12T10:00"));
        late.resume(at(&cal, "2026-03-12T12:00"));
        assert_eq!(late.warn_at(&cal, after), at(&cal, "2026-03-11T18:00"));
    }

    /// The standing instants give the clock's own state at every instant after its last
    /// event, running or paused, with every kind of warning.
    #[test]
    fn standing_agrees_with_the_clock_after_the_last_event() {
        let cal = mx();
        let warns = [
            None,
            Some(Warn::Before(Duration::new(1, Unit::BusinessDays))),
            Some(Warn::After(Duration::new(1, Unit::BusinessDays))),
            Some(Warn::Percent(80)),
        ];
        let pauses =
            ["2026-03-13T17:00", "2026-03-17T12:00", "2026-03-18T12:00", "2026-03-18T17:30", "2026-03-19T10:00"];
        let probes = [
            "2026-03-13T16:30",
            "2026-03-16T12:00",
            "2026-03-17T17:00",
            "2026-03-18T17:59",
            "2026-03-18T18:00",
            "2026-03-25T09:00",
        ];
        for warn in warns {
            let mut clocks = vec![clock(&cal)];
            for p in pauses {
                let mut paused = clock(&cal);
                paused.pause(at(&cal, p));
                clocks.push(paused.clone());
                let mut resumed = clock(&cal);
                resumed.pause(at(&cal, "2026-03-13T16:30"));
                resumed.resume(at(&cal, p));
                clocks.push(resumed);
            }
            for c in &clocks {
                let last = c.pauses.last().map(|(a, b)| b.unwrap_or(*a)).unwrap_or(c.started);
                let standing = c.standing(&cal, warn).unwrap();
                for probe in probes.iter().map(|p| at(&cal, p)).filter(|t| *t >= last) {
                    assert_eq!(standing.at(probe), c.state(&cal, warn, probe), "{c:?} {warn:?} at {probe}");
                }
            }
        }
        let mut stopped = clock(&cal);
        stopped.stop(at(&cal, "2026-03-17T10:00"));
        assert_eq!(stopped.standing(&cal, None), None);
    }

    #[test]
    fn states_serialize_in_kebab_case() {
        assert_eq!(serde_json::to_string(&SlaState::MetLate).unwrap(), "\"met-late\"");
        assert_eq!(SlaState::MetLate.as_str(), "met-late");
    }
}
