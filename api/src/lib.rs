//! Trámite's IO body around the pure engine: reading definition trees, the command line, and
//! (as the runtime grows) storage, scheduling, notifications and HTTP.

pub mod cli;
pub mod files;
