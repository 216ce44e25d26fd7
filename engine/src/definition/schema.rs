//! JSON Schema of the YAML formats, for editor completion and checks
//! (`# yaml-language-server: $schema=...`). A test keeps it in step with the strict loader:
//! every key the loader accepts is in the schema and every key in the schema is accepted.

use serde_json::{Value, json};

use super::form::FieldType;
use super::limits::{
    DEFAULT_LONG_TEXT_LENGTH, DEFAULT_MAX_ITEMS, DEFAULT_TEXT_LENGTH, EMAIL_LENGTH, MAX_ITEMS_CAP, MAX_LENGTH_CAP,
};

fn text() -> Value {
    json!({ "type": "string" })
}

fn texts() -> Value {
    json!({ "type": "array", "items": { "type": "string" } })
}

/// A warning threshold: `1 business day before`, `after 7 business days` or `70%`.
fn warn() -> Value {
    json!({ "type": "string", "pattern": r"^(\d+ .+ before|after \d+ .+|\d{1,2}%)$" })
}

/// A message: a template of the process sent to addresses from the case and to roles.
fn message(with_on: bool) -> Value {
    let mut props = json!({
        "template": { "type": "string", "description": "the template's name: <process folder>/messages/<name>.hbs (first line the subject)" },
        "to": { "type": "string", "description": "CEL expression giving the address or list of addresses, e.g. data.correo" },
        "roles": texts(),
        "attach": { "type": "array", "items": { "type": "string" }, "description": "file fields whose files go with the message" },
        "link": { "type": "string", "description": "a step with `link:` whose open task the message links to (`{{link}}` in the template)" },
        "if": { "type": "string", "description": "CEL condition: the message is sent only when it holds" }
    });
    if with_on {
        props["on"] =
            json!({ "enum": ["completed", "entered"], "description": "when the step sends it (default: completed)" });
    }
    json!({ "type": "object", "additionalProperties": false, "required": ["template"], "properties": props })
}

fn actions() -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": false,
            "properties": { "notify": text(), "reassign": text(), "goto": text(), "send": message(false) }
        }
    })
}

/// A duration, a date field, an offset from one, or an instant computed by an expression
/// (`item.fecha`, `add_days(data.fecha, 2)`), which `tramite check` reads in full.
const DURATION: &str = r"^\d+ (business days?|business hours?|days?|hours?|minutes?|[dD][ií]as? [hH][aá]bil(es)?|[hH]oras? [hH][aá]bil(es)?|[dD][ií]as?|[hH]oras?|[mM]inutos?)( (before|after) (data\.[a-z][a-z0-9_]*|item\..+|.*\(.*))?$|^(data|item)\.[a-z][a-z0-9_]*$|\(";

/// Step keys, each with its schema.
pub fn step_properties() -> serde_json::Map<String, Value> {
    let next = json!({
        "oneOf": [
            { "type": "string", "description": "a step id, `end` or `join`" },
            { "type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["goto"],
                "properties": { "when": { "type": "string", "description": "CEL condition" }, "goto": text() }
            } }
        ]
    });
    let branch = json!({
        "oneOf": [
            text(),
            { "type": "object", "additionalProperties": false, "required": ["start"],
              "properties": { "start": text(), "due": text(), "on_overdue": actions(), "warn": warn(), "on_warning": actions() } }
        ]
    });
    let due = json!({ "type": "string", "pattern": DURATION });
    let mut m = serde_json::Map::new();
    for (k, v) in [
        ("task", json!({ "type": "string", "description": "a person's task; the value is its title" })),
        ("approval", json!({ "type": "string", "description": "approve / reject; the value is its title" })),
        ("decision", json!({ "type": "string", "description": "automatic choice by conditions" })),
        ("parallel", json!({ "type": "string", "description": "branches that run at once" })),
        ("wait", json!({ "type": "string", "description": "waits for a duration or until a date" })),
        ("call", json!({ "type": "string", "description": "id of the process to run as a sub-process" })),
        ("end", json!({ "type": "string", "description": "outcome of the instance" })),
        ("title", text()),
        ("description", text()),
        ("role", text()),
        (
            "scope",
            json!({ "type": "string", "description": "the scope the role is taken within, read from the case (`data.area`): the task goes to holders of `role@<scope>` and of the role in every scope" }),
        ),
        (
            "assignee",
            json!({ "type": "string", "description": "a person named in the case (`data.especialista`, a user name) who gets the task instead of the role's holders" }),
        ),
        ("form", text()),
        ("next", next),
        ("approve", text()),
        ("reject", text()),
        ("due", due.clone()),
        ("on_overdue", actions()),
        ("warn", warn()),
        ("on_warning", actions()),
        ("branches", json!({ "type": "array", "minItems": 2, "items": branch })),
        ("join", json!({ "enum": ["all", "any"] })),
        ("for", due.clone()),
        ("until", due),
        ("input", json!({ "type": "object", "additionalProperties": { "type": "string" } })),
        (
            "for_each",
            json!({ "type": "string", "description": "a list (e.g. `data.acciones`): the one branch runs once per element, read as `item`" }),
        ),
        (
            "report",
            json!({ "type": "string", "description": "a process whose indicators the task shows, computed for the period before it opened (a report task reviews them instead of retyping them)" }),
        ),
        (
            "send",
            json!({ "type": "array", "items": message(true), "description": "messages the step sends when it completes (or is entered)" }),
        ),
        (
            "link",
            json!({ "type": "string", "pattern": DURATION, "description": "the task can be answered through a signed link from a message, valid this long (e.g. 5 business days)" }),
        ),
    ] {
        m.insert(k.to_string(), v);
    }
    m
}

/// The process file format.
pub fn process_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://tramite.dev/schema/process.json",
        "title": "Trámite process definition",
        "type": "object",
        "additionalProperties": false,
        "required": ["process", "title", "calendar", "steps"],
        "properties": {
            "process": { "type": "string", "pattern": "^[a-z][a-z0-9_.-]*$" },
            "title": text(),
            "description": text(),
            "source": text(),
            "calendar": text(),
            "roles": { "type": "object", "additionalProperties": { "type": "string" } },
            "start": { "type": "object", "additionalProperties": false,
                       "properties": { "form": text(), "roles": texts(),
                                       "folio": { "type": "string", "description": "How the server numbers cases: text with {year}, {yy}, {month}, {day} and one {seq} or {seq:05}, e.g. COR-{year}-{seq:05}" },
                                       "public": { "type": "object", "additionalProperties": false, "description": "the start form is open to the public at /p/<process>",
                                                   "properties": { "received": { "type": "string", "description": "a datetime field the server sets to the moment the form arrives" },
                                                                   "thanks": { "type": "string", "description": "what the page says once the form is sent" } } },
                                       "mailbox": { "type": "object", "additionalProperties": false, "description": "each new message of a mailbox `tramite serve --mailboxes` reads starts a case; each key names the start-form field that part fills",
                                                    "properties": { "from": text(), "name": text(), "subject": text(), "body": text(), "date": text(), "attachment": text() } } } },
            "slas": { "type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": false, "required": ["title", "from", "until"],
                "properties": {
                    "title": text(), "from": text(), "until": text(), "within": text(), "deadline": text(),
                    "warn": warn(),
                    "pause": texts(), "on_warning": actions(), "on_breach": actions(),
                    "when": { "type": "string", "description": "CEL condition: the SLA applies only when it holds as the clock starts" }
                }
            } },
            "schedules": { "type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": false, "required": ["cron"],
                "properties": { "cron": text(), "title": text(), "timezone": text(), "data": { "type": "object" },
                    "non_business_day": { "enum": ["next", "previous", "keep"], "description": "a firing on a non-business day of the calendar moves to the next business day, the one before, or stays (default)" } }
            } },
            "steps": { "type": "object", "minProperties": 1, "additionalProperties": {
                "type": "object", "additionalProperties": false, "properties": step_properties()
            } }
        }
    })
}

/// Field keys, each with its schema.
pub fn field_properties() -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    for (k, v) in [
        ("type", json!({ "enum": FieldType::NAMES })),
        ("label", text()),
        ("help", text()),
        ("required", json!({ "type": "boolean" })),
        ("min", json!({ "type": "number" })),
        ("max", json!({ "type": "number" })),
        ("min_length", json!({ "type": "integer", "minimum": 0 })),
        (
            "max_length",
            json!({ "type": "integer", "minimum": 0, "maximum": MAX_LENGTH_CAP,
                "description": format!("longest value in characters; without it {DEFAULT_TEXT_LENGTH} (`text`, `phone`, `file`), {DEFAULT_LONG_TEXT_LENGTH} (`long_text`), {EMAIL_LENGTH} (`email`, which it may only lower)") }),
        ),
        ("pattern", text()),
        ("options", json!({ "type": "object", "additionalProperties": { "type": "string" } })),
        ("must_be_true", json!({ "type": "boolean" })),
        ("default", json!({})),
        (
            "fields",
            json!({ "type": "object", "description": "the columns of a `list` field", "additionalProperties": {
            "type": "object", "required": ["type", "label"]
        } }),
        ),
        ("min_items", json!({ "type": "integer", "minimum": 0 })),
        (
            "max_items",
            json!({ "type": "integer", "minimum": 0, "maximum": MAX_ITEMS_CAP,
                "description": format!("most rows of a `list`; without it {DEFAULT_MAX_ITEMS}") }),
        ),
        (
            "max_size",
            json!({ "type": ["integer", "string"], "description": "largest file a `file` field takes: bytes, or a size such as `10 MB` (KB, MB, GB are powers of 1024)" }),
        ),
        (
            "accept",
            json!({ "type": "array", "items": { "type": "string" }, "description": "what a `file` field takes, read from the file's content: MIME types (`application/pdf`), families (`image/*`) and extensions (`.xlsx`, which the content must match)" }),
        ),
        (
            "compute",
            json!({ "type": "string", "description": "CEL expression over the form's other fields (`data.x`): the field is read-only and takes this value" }),
        ),
    ] {
        m.insert(k.to_string(), v);
    }
    m
}

/// The form file format.
pub fn form_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://tramite.dev/schema/form.json",
        "title": "Trámite form",
        "type": "object",
        "additionalProperties": false,
        "required": ["form", "title", "fields"],
        "properties": {
            "form": text(),
            "title": text(),
            "description": text(),
            "fields": { "type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": false, "required": ["type", "label"],
                "properties": field_properties()
            } },
            "rules": { "type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["check", "message"],
                "properties": { "check": text(), "message": text(), "field": text() }
            } }
        }
    })
}

/// The indicators file format (`indicators: <process>`).
pub fn indicators_schema() -> Value {
    json!({
        "type": "object", "additionalProperties": false, "required": ["indicators", "items"],
        "properties": {
            "indicators": { "type": "string", "description": "the process whose cases they measure" },
            "title": text(),
            "items": { "type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": false, "required": ["title", "measure"],
                "properties": {
                    "title": text(), "source": text(), "description": text(),
                    "measure": { "type": "string", "pattern": "^(count|sum|average|median|ratio|sla|percentile [1-9][0-9]?)$" },
                    "of": { "enum": ["cases", "tasks"] },
                    "step": { "type": "string", "description": "of: tasks — the step whose tasks count" },
                    "value": { "type": "string", "description": "data.<number field>; `business days from <moment> to <moment>` (started, completed, <step>.completed, data.<date field>); for tasks a unit (business hours, …)" },
                    "sla": text(),
                    "numerator": { "type": "string", "description": "measure: ratio — a CEL condition" },
                    "where": { "type": "string", "description": "a CEL condition: which cases count" },
                    "group": { "type": "string", "description": "data.<field>, outcome, status, user or role" },
                    "by": { "enum": ["day", "week", "month", "quarter", "year"] },
                    "target": { "type": ["string", "number"], "description": "a number, or a percentage (95%) for ratio and sla" },
                    "better": { "enum": ["higher", "lower"] },
                    "unit": text()
                }
            } }
        }
    })
}

/// One schema for every Trámite YAML file: process or form, told apart by their first key.
pub fn schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://tramite.dev/schema/tramite.json",
        "title": "Trámite definition file",
        "oneOf": [ process_schema(), form_schema(), indicators_schema(),
                   { "type": "object", "required": ["calendar", "timezone"] },
                   { "type": "object", "required": ["test", "scenarios"] } ]
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::definition::raw::{RawField, RawStep};

    /// `tramite schema` prints this; the repository keeps a copy for editors
    /// (`tramite schema > tramite.schema.json` writes it).
    #[test]
    fn the_committed_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tramite.schema.json");
        let committed = std::fs::read_to_string(path).unwrap();
        let printed = serde_json::to_string_pretty(&schema()).unwrap();
        assert!(committed.trim() == printed, "run `tramite schema > tramite.schema.json`");
    }

    /// The keys serde lists in its "unknown field ..., expected one of ..." error.
    fn accepted_keys<T: for<'de> serde::Deserialize<'de>>() -> Vec<String> {
        let err = serde_saphyr::from_str::<T>("zzz_not_a_key: 1\n").err().unwrap().without_snippet().to_string();
        let list = err.split("expected one of ").nth(1).unwrap();
        let list = list.split(" at line").next().unwrap();
        let mut keys: Vec<String> = list.split(", ").map(|k| k.trim_matches('`').to_string()).collect();
        keys.sort();
        keys
    }

    #[test]
    fn step_keys_match_the_loader() {
        let mut schema: Vec<String> = step_properties().keys().cloned().collect();
        schema.sort();
        assert_eq!(schema, accepted_keys::<RawStep>());
    }

    #[test]
    fn field_keys_match_the_loader() {
        let mut schema: Vec<String> = field_properties().keys().cloned().collect();
        schema.sort();
        assert_eq!(schema, accepted_keys::<RawField>());
    }
}
