//! The schemas the derives cannot say: the patterns and choices of query parameters (as the
//! server reads them), a file's bytes, and the upload's one part. Named in `#[param(schema_with
//! = …)]` and in the handlers' bodies.

use utoipa::openapi::schema::{AdditionalProperties, AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

// A field named with `schema_with` shows the schema's description, not its doc comment: each
// schema here says what it takes.

/// A string that is one of `values` (empty, as a web form sends an unset filter, among them
/// where the server takes it).
fn choice<'a>(description: &str, values: impl IntoIterator<Item = &'a str>) -> Schema {
    let values: Vec<&str> = values.into_iter().collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
        .into()
}

/// A page's end as the server gives it (`next`), or empty for the first page.
pub(crate) fn cursor() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^(-?[0-9]{1,18}\.[A-Za-z0-9._-]{1,200})?$"))
        .description(Some("`next` of the previous page; empty: the first page"))
        .build()
        .into()
}

/// A day the server takes: 1900 to 2199 (`invalid_query` otherwise), or empty.
pub(crate) fn day() -> Schema {
    let date = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .pattern(Some("^(19|2[01])[0-9]{2}-[0-9]{2}-[0-9]{2}$"));
    let empty = ObjectBuilder::new().schema_type(Type::String).enum_values(Some([""]));
    let description = "a date from 1900 to 2199, in the process's calendar zone; empty: any";
    AnyOfBuilder::new().item(date).item(empty).description(Some(description)).build().into()
}

/// A period of an indicator (a year, quarter, ISO week, month or day), or empty.
pub(crate) fn period() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^$|^[0-9]{4}(-Q[1-4]|-W[0-9]{2}|-[0-9]{2}(-[0-9]{2})?)?$"))
        .description(Some(
            "a year, quarter, ISO week, month or day (`2026`, `2026-Q1`, `2026-W11`, `2026-03`, `2026-03-02`)",
        ))
        .build()
        .into()
}

/// A running SLA clock's standing, or empty for every one.
pub(crate) fn running_sla() -> Schema {
    choice("a running SLA clock's standing; empty: every standing", ["", "ok", "warning", "breached"])
}

/// A case's status, or empty.
pub(crate) fn case_status() -> Schema {
    choice("the case's status; empty: any", ["", "running", "ended", "cancelled"])
}

/// A case's SLA standing, running or stopped, or empty.
pub(crate) fn case_sla() -> Schema {
    let states = crate::app::CASE_SLA_STATES.iter().map(|s| s.as_str());
    choice(
        "an SLA clock of the case: running (`ok`, `warning`, `breached`) or stopped (`met`, `met-late`); empty: any",
        std::iter::once("").chain(states),
    )
}

/// Whether to keep only the cases the caller started.
pub(crate) fn mine() -> Schema {
    choice("true (`1`, `on`): only cases you started", ["", "true", "false", "1", "0", "on"])
}

/// How the case list answers.
pub(crate) fn case_format() -> Schema {
    choice("`csv`: every match as CSV; JSON pages otherwise", ["", "json", "csv"])
}

/// An approval's decision.
pub(crate) fn decision() -> Schema {
    choice("an approval's decision; `reject` needs a `comment`", ["approve", "reject"])
}

/// A file's bytes, in a download's answer.
#[derive(Debug)]
pub struct FileBytes;

impl PartialSchema for FileBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for FileBytes {}

/// `POST /api/files`'s body: one part, named `file`, and nothing else.
#[derive(Debug)]
pub struct UploadForm;

impl PartialSchema for UploadForm {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property("file", FileBytes::schema())
            .required("file")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for UploadForm {}
