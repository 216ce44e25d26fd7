//! The schemas the derives cannot say: the patterns and choices of query parameters (as the
//! server reads them), a file's bytes, and the upload's one part. Named in `#[param(schema_with
//! = …)]` and in the handlers' bodies.

use utoipa::openapi::schema::{AdditionalProperties, AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// A string parameter that takes one of `values` (empty, as a web form sends an unset filter,
/// among them where the server takes it).
fn choice<'a>(values: impl IntoIterator<Item = &'a str>) -> Schema {
    let values: Vec<&str> = values.into_iter().collect();
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).build().into()
}

/// A page's end as the server gives it (`next`), or empty for the first page.
pub(crate) fn cursor() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^(-?[0-9]{1,18}\.[A-Za-z0-9._-]{1,200})?$"))
        .build()
        .into()
}

/// A day the server takes: 1900 to 2199 (`invalid_query` otherwise), or empty.
pub(crate) fn day() -> Schema {
    let date = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .pattern(Some("^(19|2[01])[0-9]{2}-[0-9]{2}-[0-9]{2}$"));
    AnyOfBuilder::new().item(date).item(choice([""])).build().into()
}

/// A period of an indicator (a year, quarter, ISO week, month or day), or empty.
pub(crate) fn period() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^$|^[0-9]{4}(-Q[1-4]|-W[0-9]{2}|-[0-9]{2}(-[0-9]{2})?)?$"))
        .build()
        .into()
}

/// A running SLA clock's standing, or empty for every one.
pub(crate) fn running_sla() -> Schema {
    choice(["", "ok", "warning", "breached"])
}

/// A case's status, or empty.
pub(crate) fn case_status() -> Schema {
    choice(["", "running", "ended", "cancelled"])
}

/// A case's SLA standing, running or stopped, or empty.
pub(crate) fn case_sla() -> Schema {
    choice(std::iter::once("").chain(crate::app::CASE_SLA_STATES.iter().map(|s| s.as_str())))
}

/// A flag as a web form or a client sends it.
pub(crate) fn flag() -> Schema {
    choice(["", "true", "false", "1", "0", "on"])
}

/// How the case list answers.
pub(crate) fn case_format() -> Schema {
    choice(["", "json", "csv"])
}

/// An approval's decision.
pub(crate) fn decision() -> Schema {
    choice(["approve", "reject"])
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
