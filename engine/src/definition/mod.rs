//! Process definitions and forms: YAML as written ([`raw`]), the validated model ([`model`]),
//! and the loader that turns one into the other with file:line:column diagnostics ([`load`]).

mod build;
pub mod calls;
mod folio;
pub mod form;
pub mod indicators;
mod items;
pub mod limits;
pub mod load;
pub mod model;
mod problems;
pub mod raw;
pub mod schema;
pub mod template;
mod types;
pub mod validate;

pub use calls::{Known, MAX_CALL_DEPTH};
pub use folio::Folio;
pub use form::{Field, FieldError, FieldType, Form};
pub use load::{
    Catalog, FileKind, SourceFile, is_template, load, load_calendars, load_deployed, load_with, template_path,
};
pub use model::*;
