//! The engine's integration tests, built as one test binary (one link instead of one per
//! file): the language, the calendars, the machine, diagrams and the shipped scenarios. Run one
//! part with `cargo test -p tramite-engine --test engine machine::` (a module path filters).
#![allow(clippy::unwrap_used)]

mod drawing;

mod calendar_examples;
mod calendar_holidays;
mod calendar_load;
mod calendar_props;
mod calls;
mod computed_fields;
mod corpus;
mod deadline_warnings;
mod diagram_svg;
mod diagram_svg_sizes;
mod for_each;
mod form_bounds;
mod fuzz_findings;
mod huge_definitions;
mod machine;
mod messages;
mod parallel_anchor;
mod reports;
mod sample;
mod scenario_schedule;
mod scoped_tasks;
mod shipped_scenarios;
