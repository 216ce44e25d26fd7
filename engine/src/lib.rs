//! Trámite's pure engine. Nothing here does IO or reads the clock: definitions are loaded from
//! text handed in, time is an argument, and the transition function returns events.

pub mod calendar;
pub mod definition;
pub mod diagnostic;
pub mod diagram;
pub mod expr;
pub mod files;
pub mod machine;
pub mod scenario;
