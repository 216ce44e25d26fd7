//! What the server counts, for Prometheus: `GET /metrics` in the OpenMetrics text format
//! (`prometheus-client`, one registry per runtime, so tests read their own). Measured durations
//! (HTTP latency) are monotonic time, not domain time; timer lag is the runtime's clock at the
//! firing minus the instant the timer fell due.

use std::time::Duration;

use jiff::SignedDuration;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tramite_engine::machine::{Event, Record};

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// HTTP latency buckets, in seconds.
const HTTP_BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Timer lag buckets, in seconds: from a scheduler on time (well under its 0.5 s pass) to a
/// server that was down for a day.
const LAG_BUCKETS: [f64; 12] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0, 3_600.0, 86_400.0];

/// An HTTP request's labels: the route *template* axum matched (`/api/tasks/{id}`, never the
/// path itself, which would make a series per task), its method and the answer's status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

/// A running form check ([`Metrics::form_check`]).
#[derive(Debug)]
pub struct FormCheck(Gauge);

impl Drop for FormCheck {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The server's counters, gauges and histograms.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    transitions: Counter,
    timer_lag: Histogram,
    outbox_backlog: Gauge,
    form_checks: Gauge,
    delivery_failures: Counter,
    mailbox_cases: Counter,
    mailbox_refusals: Counter,
    mailbox_poll_failures: Counter,
    sla_warnings: Counter,
    sla_breaches: Counter,
    http: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Every timer lag, once a benchmark asks for them.
    lags: std::sync::Mutex<Option<Vec<SignedDuration>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tramite");
        let m = Metrics {
            transitions: Counter::default(),
            timer_lag: Histogram::new(LAG_BUCKETS),
            outbox_backlog: Gauge::default(),
            form_checks: Gauge::default(),
            delivery_failures: Counter::default(),
            mailbox_cases: Counter::default(),
            mailbox_refusals: Counter::default(),
            mailbox_poll_failures: Counter::default(),
            sla_warnings: Counter::default(),
            sla_breaches: Counter::default(),
            http: Family::new_with_constructor(|| Histogram::new(HTTP_BUCKETS)),
            lags: std::sync::Mutex::new(None),
            registry: Registry::default(),
        };
        registry.register(
            "transitions",
            "Transitions committed (an instance started, a task completed, a timer fired, …)",
            m.transitions.clone(),
        );
        registry.register(
            "timer_lag_seconds",
            "How late timers fired: the firing's instant minus the instant they fell due",
            m.timer_lag.clone(),
        );
        registry.register("outbox_backlog", "Messages in the outbox not sent yet", m.outbox_backlog.clone());
        registry.register(
            "outbox_delivery_failures",
            "Failed attempts to send a message (each is retried)",
            m.delivery_failures.clone(),
        );
        registry.register("mailbox_cases", "Cases started from messages of a mailbox", m.mailbox_cases.clone());
        registry.register(
            "mailbox_refusals",
            "Messages of a mailbox the start form refused (each stays unread and is tried again later)",
            m.mailbox_refusals.clone(),
        );
        registry.register(
            "mailbox_poll_failures",
            "Polls of a mailbox that failed (server unreachable, sign-in refused, …)",
            m.mailbox_poll_failures.clone(),
        );
        registry.register(
            "form_checks_running",
            "Form checks that grow with the data, running on worker threads ahead of the instance writer",
            m.form_checks.clone(),
        );
        registry.register("sla_warnings", "SLA warnings reached", m.sla_warnings.clone());
        registry.register("sla_breaches", "SLAs breached", m.sla_breaches.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method, route template and status",
            m.http.clone(),
        );
        Metrics { registry, ..m }
    }

    /// A transition committed with these records.
    pub fn committed(&self, records: &[Record]) {
        self.transitions.inc();
        for r in records {
            match r.event {
                Event::SlaWarned { .. } => {
                    self.sla_warnings.inc();
                }
                Event::SlaBreached { .. } => {
                    self.sla_breaches.inc();
                }
                _ => {}
            }
        }
    }

    /// A timer fired `lag` after it fell due.
    pub fn timer_fired(&self, lag: SignedDuration) {
        self.timer_lag.observe(lag.as_secs_f64().max(0.0));
        if let Some(kept) = self.lags.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_mut() {
            kept.push(lag);
        }
    }

    /// From now on keep every timer's lag as well (`tramite bench --alerts`, for exact
    /// percentiles); [`Metrics::kept_lags`] takes them.
    pub fn keep_lags(&self) {
        *self.lags.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Vec::new());
    }

    /// The lags kept since [`Metrics::keep_lags`].
    pub fn kept_lags(&self) -> Vec<SignedDuration> {
        self.lags.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone().unwrap_or_default()
    }

    /// A form check ahead of the writer, counted as running until the guard is dropped.
    pub fn form_check(&self) -> FormCheck {
        self.form_checks.inc();
        FormCheck(self.form_checks.clone())
    }

    /// How many form checks run ahead of the writer now.
    pub fn form_checks_running(&self) -> i64 {
        self.form_checks.get()
    }

    /// A message could not be sent.
    pub fn delivery_failed(&self) {
        self.delivery_failures.inc();
    }

    /// A message of a mailbox started a case.
    pub fn mailbox_case_started(&self) {
        self.mailbox_cases.inc();
    }

    /// The start form refused a message of a mailbox.
    pub fn mailbox_refused(&self) {
        self.mailbox_refusals.inc();
    }

    /// A poll of a mailbox failed.
    pub fn mailbox_poll_failed(&self) {
        self.mailbox_poll_failures.inc();
    }

    /// An HTTP request answered with `status` after `elapsed`.
    pub fn http_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let labels = RouteLabels { method: method.to_string(), route: route.to_string(), status };
        self.http.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    /// Everything, with the outbox backlog as just counted, in the OpenMetrics text format.
    pub fn render(&self, outbox_backlog: i64) -> String {
        self.outbox_backlog.set(outbox_backlog);
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_their_prefix_and_routes_as_templates() {
        let m = Metrics::new();
        m.delivery_failed();
        m.http_request("GET", "/api/tasks/{id}", 200, Duration::from_millis(3));
        let text = m.render(4);
        assert!(text.contains("tramite_outbox_delivery_failures_total 1"), "{text}");
        assert!(text.contains("tramite_outbox_backlog 4"), "{text}");
        assert!(
            text.contains(
                r#"tramite_http_request_duration_seconds_count{method="GET",route="/api/tasks/{id}",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
