//! `GET /api/openapi.json`: the OpenAPI 3 description of the REST API, written by hand next to
//! the routers (`instances.rs`, `tasks.rs`); the e2e tests exercise the paths it names.

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::runtime::Runtime;

pub fn router() -> Router<Arc<Runtime>> {
    Router::new().route("/api/openapi.json", get(|| async { Json(document()) }))
}

fn op(summary: &str, ok: &str, body: Option<Value>, errors: &[&str]) -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert(
        ok.to_string(),
        json!({ "description": "success", "content": { "application/json": { "schema": { "type": "object" } } } }),
    );
    for e in errors {
        responses.insert(e.to_string(), json!({ "$ref": format!("#/components/responses/E{e}") }));
    }
    let mut o = json!({ "summary": summary, "responses": responses, "security": [{ "bearer": [] }] });
    if let Some(b) = body {
        o["requestBody"] = b;
    }
    o
}

fn json_body(schema: Value) -> Option<Value> {
    Some(json!({ "required": true, "content": { "application/json": { "schema": schema } } }))
}

fn path_param(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })
}

/// Paths (in axum's `{param}` syntax, which is also OpenAPI's) and their operations.
pub fn document() -> Value {
    let data = json!({ "type": "object", "properties": { "data": { "type": "object" } } });
    // A page's end as the server gives it (`next`), or empty for the first page.
    let cursor = json!({ "type": "string", "pattern": "^(-?[0-9]{1,18}\\.[A-Za-z0-9._-]{1,200})?$" });
    // A day the server takes: 1900 to 2199 (`invalid_query` otherwise), or empty (as a web
    // form sends an unset filter).
    let period = json!({ "type": "string", "pattern": "^$|^[0-9]{4}(-Q[1-4]|-W[0-9]{2}|-[0-9]{2}(-[0-9]{2})?)?$" });
    let day = json!({ "anyOf": [
        { "type": "string", "format": "date", "pattern": "^(19|2[01])[0-9]{2}-[0-9]{2}-[0-9]{2}$" },
        { "type": "string", "enum": [""] }
    ] });
    let decision = json!({
        "type": "object",
        "properties": {
            "data": { "type": "object" },
            "decision": { "enum": ["approve", "reject"] },
            "comment": { "type": "string", "description": "required when rejecting" }
        }
    });
    let error = json!({
        "type": "object", "required": ["error"],
        "properties": { "error": { "type": "object", "required": ["code", "message"],
            "properties": { "code": { "type": "string" }, "message": { "type": "string" }, "details": {} } } }
    });
    let mut responses = serde_json::Map::new();
    for (code, text) in [
        ("400", "bad request: a body that is not JSON (`malformed_json`), a path that does not read (`invalid_path`)"),
        (
            "401",
            "no, unknown, revoked or expired token, or a disabled user (`unauthorized`, `token_revoked`, `token_expired`, `user_disabled`)",
        ),
        ("403", "not allowed for your roles"),
        ("404", "not found"),
        ("409", "conflict: the task or instance changed"),
        (
            "413",
            "the body or the uploaded file is larger than the server takes (`payload_too_large`, `file_too_large`)",
        ),
        ("415", "the body is not of a type this operation reads (`unsupported_media_type`)"),
        ("422", "invalid data, body, query or definition; `details` names each field or file:line:column"),
    ] {
        responses.insert(format!("E{code}"), json!({ "description": text, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }));
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Trámite API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Processes, instances, task inboxes and SLA health. Authenticate with `Authorization: Bearer <token>` (`tramite user add`)." },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": { "Error": error },
            "responses": responses
        },
        "paths": {
            "/api/processes": {
                "get": op("Served processes you hold a role in (admins: all), latest versions; for admins also `not_deployed`: files that do not load, with file:line:column diagnostics", "200", None, &["401"]),
                "post": op("Deploy a process file (YAML body, at most 8 MiB) as a new version (admin)", "201",
                    Some(json!({ "required": true, "content": { "application/yaml": { "schema": { "type": "string" } } } })), &["401", "403", "413", "422"])
            },
            "/api/processes/{process}": {
                "parameters": [path_param("process")],
                "get": op("A process you hold a role in (admins: any): versions, roles, steps, SLAs, schedules", "200", None, &["401", "403", "404"])
            },
            "/api/processes/{process}/instances": {
                "parameters": [path_param("process"),
                    { "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "minLength": 1, "maxLength": 200 },
                      "description": "a retry by the same user with the same key to the same process returns the first instance (200) instead of starting another; keys are per user and process" }],
                "post": op("Start an instance with its start form data", "201", json_body(data.clone()), &["400", "401", "403", "404", "415", "422"])
            },
            "/api/processes/{process}/indicators": {
                "parameters": [path_param("process")],
                "get": {
                    "summary": "The process's indicators (you hold a role in it; admins: any) with their value per period and group, worked out by the database: count, sum, mean, percentile, or a share from 0 to 1; each value's `n` and whether it meets the target",
                    "parameters": [
                        { "name": "from", "in": "query", "schema": period.clone(), "description": "first period (inclusive); empty: from the first" },
                        { "name": "to", "in": "query", "schema": period.clone(), "description": "last period (inclusive: `2026-03` takes every day and week key of March); empty: to the last" }
                    ],
                    "security": [{ "bearer": [] }],
                    "responses": { "200": { "description": "`indicators`, each with `points`" }, "401": { "$ref": "#/components/responses/E401" }, "403": { "$ref": "#/components/responses/E403" }, "404": { "$ref": "#/components/responses/E404" }, "422": { "$ref": "#/components/responses/E422" } }
                }
            },
            "/api/processes/{process}/indicators/{indicator}/cases": {
                "parameters": [path_param("process"), path_param("indicator")],
                "get": {
                    "summary": "The cases behind one value of an indicator (its period and group), newest first, at most 200",
                    "parameters": [
                        { "name": "period", "in": "query", "schema": period.clone() },
                        { "name": "group", "in": "query", "schema": { "type": "string", "maxLength": 500 } }
                    ],
                    "security": [{ "bearer": [] }],
                    "responses": { "200": { "description": "`cases`: instance id, folio and value" }, "401": { "$ref": "#/components/responses/E401" }, "403": { "$ref": "#/components/responses/E403" }, "404": { "$ref": "#/components/responses/E404" }, "422": { "$ref": "#/components/responses/E422" } }
                }
            },
            "/api/instances": {
                "get": {
                    "summary": "Cases you may read, newest first, one page at a time (an empty parameter, as a web form sends it, filters nothing): by folio or words (`q`; a trailing `*` is a prefix), process, status, outcome, start dates, SLA standing, the role holding a task, or started by you; `format=csv` for CSV",
                    "parameters": [
                        { "name": "q", "in": "query", "schema": { "type": "string" } },
                        { "name": "process", "in": "query", "schema": { "type": "string" } },
                        { "name": "status", "in": "query", "schema": { "enum": ["", "running", "ended", "cancelled"] } },
                        { "name": "outcome", "in": "query", "schema": { "type": "string" } },
                        { "name": "from", "in": "query", "schema": day.clone(), "description": "a date from 1900 to 2199; empty: any" },
                        { "name": "to", "in": "query", "schema": day, "description": "a date from 1900 to 2199; empty: any" },
                        { "name": "sla", "in": "query", "schema": { "enum": ["", "ok", "warning", "breached", "met", "met-late"] } },
                        { "name": "role", "in": "query", "schema": { "type": "string" } },
                        { "name": "mine", "in": "query", "schema": { "enum": ["", "true", "false", "1", "0", "on"] }, "description": "true (`1`, `on`): only cases you started" },
                        { "name": "cursor", "in": "query", "schema": cursor.clone(), "description": "`next` of the previous page" },
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500 } },
                        { "name": "format", "in": "query", "schema": { "enum": ["", "json", "csv"] } }
                    ],
                    "security": [{ "bearer": [] }],
                    "responses": { "200": { "description": "`instances` and `next` (absent on the last page), or CSV" }, "401": { "$ref": "#/components/responses/E401" }, "422": { "$ref": "#/components/responses/E422" } }
                }
            },
            "/api/files": {
                "post": op("Upload a file for a `file` field (multipart, the part named `file`): answers the value to put in the form, `{name, sha256, size, type}`, typed from its content", "201",
                    Some(json!({ "required": true, "content": { "multipart/form-data": { "schema": { "type": "object", "required": ["file"], "additionalProperties": false, "properties": { "file": { "type": "string", "format": "binary" } } } } } })),
                    &["400", "401", "413", "415", "422"])
            },
            "/api/instances/{id}/files/{sha256}": {
                "parameters": [path_param("id"), path_param("sha256")],
                "get": {
                    "summary": "A file attached to the instance, as an attachment, for those who may read it",
                    "security": [{ "bearer": [] }],
                    "responses": { "200": { "description": "the file's bytes", "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
                        "401": { "$ref": "#/components/responses/E401" }, "403": { "$ref": "#/components/responses/E403" }, "404": { "$ref": "#/components/responses/E404" } }
                }
            },
            "/api/instances/{id}": {
                "parameters": [path_param("id")],
                "get": op("An instance: status, active steps, data, tasks (with the `for_each` item they work on), SLA states, its parent call, its calls and sub-processes", "200", None, &["401", "403", "404"])
            },
            "/api/instances/{id}/history": {
                "parameters": [path_param("id")],
                "get": op("The instance's events (who, when, what)", "200", None, &["401", "403", "404"])
            },
            "/api/instances/{id}/messages": {
                "parameters": [path_param("id")],
                "get": op("The messages the instance produced (outbox: kind, recipient, subject, sent)", "200", None, &["401", "403", "404"])
            },
            "/api/instances/{id}/cancel": {
                "parameters": [path_param("id")],
                "post": op("Cancel an instance and its running sub-processes (admin)", "200", json_body(json!({ "type": "object", "properties": { "reason": { "type": "string" } } })), &["400", "401", "403", "404", "409", "415", "422"])
            },
            "/api/instances/{id}/retry": {
                "parameters": [path_param("id")],
                "post": op("Start again the sub-processes of the instance's incidents (admin)", "200", None, &["401", "403", "404", "409"])
            },
            "/api/incidents": {
                "get": op("Call steps stuck on an incident: the sub-process could not start or was cancelled (admin)", "200", None, &["401", "403"])
            },
            "/api/inbox": {
                "get": {
                    "summary": "Open tasks of the caller's roles, soonest due first",
                    "parameters": [
                        { "name": "process", "in": "query", "schema": { "type": "string" } },
                        { "name": "due_before", "in": "query", "schema": { "type": "string", "format": "date-time" } },
                        { "name": "sla", "in": "query", "schema": { "enum": ["", "ok", "warning", "breached"] }, "description": "empty: every standing" },
                        { "name": "cursor", "in": "query", "schema": cursor, "description": "`next` of the previous page" },
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } }
                    ],
                    "security": [{ "bearer": [] }],
                    "responses": { "200": { "description": "tasks" }, "401": { "$ref": "#/components/responses/E401" }, "422": { "$ref": "#/components/responses/E422" } }
                }
            },
            "/api/tasks/{id}": {
                "parameters": [path_param("id")],
                "get": op("A task", "200", None, &["401", "403", "404"])
            },
            "/api/tasks/{id}/claim": {
                "parameters": [path_param("id")],
                "post": op("Take a task for yourself", "200", None, &["401", "403", "404", "409"])
            },
            "/api/tasks/{id}/unclaim": {
                "parameters": [path_param("id")],
                "post": op("Give a claimed task back to its role", "200", None, &["401", "403", "404", "409"])
            },
            "/api/tasks/{id}/complete": {
                "parameters": [path_param("id")],
                "post": op("Complete a task with its form data, or decide an approval", "200", json_body(decision), &["400", "401", "403", "404", "409", "415", "422"])
            },
            "/api/sla": {
                "get": {
                    "summary": "Running SLA clocks by standing (admin)",
                    "parameters": [{ "name": "state", "in": "query", "schema": { "enum": ["", "ok", "warning", "breached"] }, "description": "empty: every standing" }],
                    "security": [{ "bearer": [] }],
                    "responses": { "200": { "description": "SLA rows" }, "401": { "$ref": "#/components/responses/E401" }, "403": { "$ref": "#/components/responses/E403" }, "422": { "$ref": "#/components/responses/E422" } }
                }
            },
            "/api/openapi.json": { "get": { "summary": "This document", "security": [], "responses": { "200": { "description": "OpenAPI 3" } } } }
        }
    })
}
