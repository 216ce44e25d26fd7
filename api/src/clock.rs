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
    fn now(&self) -> Timestamp {
        Timestamp::now()
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
