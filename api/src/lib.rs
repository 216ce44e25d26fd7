//! Trámite's IO body around the pure engine: reading definition trees, storage, the runtime
//! (transitions in transactions, timers, outbox), notifications and the command line.

pub mod app;
pub mod blobs;
pub mod cli;
pub mod clock;
pub mod files;
pub mod http;
pub mod links;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod runtime;
pub mod scheduler;
pub mod store;
pub mod web;
