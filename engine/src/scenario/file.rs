//! The scenario file as written: strict shapes with spans for located errors.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) test: S<String>,
    #[serde(default)]
    pub(super) users: BTreeMap<String, UserRoles>,
    pub(super) scenarios: Vec<S<RawScenario>>,
}

/// A user's roles, or the word `admin`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum UserRoles {
    Roles(Vec<String>),
    Admin(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) name: String,
    pub(super) start: RawStart,
    #[serde(default)]
    pub(super) steps: Vec<S<RawAct>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStart {
    pub(super) at: S<String>,
    /// Start as this schedule of the process does: `at` must be an instant it fires at, and the
    /// data is the schedule's.
    pub(super) schedule: Option<S<String>>,
    #[serde(rename = "as")]
    pub(super) as_: Option<S<String>>,
    #[serde(default)]
    pub(super) data: Map<String, Value>,
    pub(super) expect_error: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAct {
    pub(super) complete: Option<S<String>>,
    pub(super) approve: Option<S<String>>,
    pub(super) reject: Option<S<String>>,
    pub(super) claim: Option<S<String>>,
    pub(super) unclaim: Option<S<String>>,
    pub(super) end_call: Option<S<String>>,
    pub(super) cancel: Option<S<String>>,
    pub(super) advance: Option<S<String>>,
    pub(super) advance_to: Option<S<String>>,
    pub(super) expect: Option<RawExpect>,
    #[serde(rename = "as")]
    pub(super) as_: Option<S<String>>,
    #[serde(default)]
    pub(super) data: Map<String, Value>,
    pub(super) comment: Option<String>,
    pub(super) outcome: Option<String>,
    /// Which `for_each` element's task, counted from 1.
    pub(super) item: Option<usize>,
    pub(super) expect_error: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExpect {
    pub(super) active: Option<Vec<String>>,
    pub(super) status: Option<String>,
    pub(super) outcome: Option<String>,
    /// The folio the case was given (`start.folio`).
    pub(super) folio: Option<String>,
    #[serde(default)]
    pub(super) sla: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) due: BTreeMap<String, String>,
    /// SLA id → the instant it is due (pauses included).
    #[serde(default)]
    pub(super) sla_due: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) tasks: BTreeMap<String, String>,
    pub(super) alerts: Option<Vec<String>>,
    /// Messages since the previous `emails:` check, as `template -> user`.
    pub(super) emails: Option<Vec<String>>,
    #[serde(default)]
    pub(super) data: Map<String, Value>,
    pub(super) rejection: Option<String>,
}
