//! The one clock the server reads. Nothing else in `api/` calls `Timestamp::now()`: the runtime,
//! the scheduler, the outbox worker and the web pages ask the [`Clock`] they were given —
//! [`SystemClock`] in `tramite serve`, a [`ManualClock`] in `tramite test --store` and in tests,
//! where deadlines are reached by moving the clock, not by sleeping.

use std::fmt::Debug;
use std::sync::Mutex;

use jiff::Timestamp;

/// Where the current instant comes from.
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> Timestamp;

    /// Whether the clock moves on its own (the scheduler then sleeps until the next timer;
    /// with a manual clock whoever moves it runs the scheduler).
    fn is_real(&self) -> bool {
        true
    }
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Now, to the microsecond: the precision the store keeps instants in. An instant finer
    /// than that would not survive the store: a timer computed from it (a start plus ten
    /// minutes) would be read back a few nanoseconds early, and the machine would refuse to
    /// fire it at that instant, again and again.
    fn now(&self) -> Timestamp {
        let now = Timestamp::now();
        Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
    }
}

/// A clock that stands still until moved.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    pub fn new(at: Timestamp) -> ManualClock {
        ManualClock { now: Mutex::new(at) }
    }

    /// Sets the clock to `at` (earlier or later).
    pub fn set(&self, at: Timestamp) {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn is_real(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The store keeps microseconds; an instant finer than that changes on the way through it
    /// (and a timer derived from it would be read back early and never fire).
    #[test]
    fn the_system_clock_reads_whole_microseconds() {
        for _ in 0..1_000 {
            let now = SystemClock.now();
            assert_eq!(now.subsec_nanosecond() % 1_000, 0, "{now}");
            assert_eq!(Timestamp::from_microsecond(now.as_microsecond()).ok(), Some(now));
        }
    }
}
