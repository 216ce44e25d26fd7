//! The YAML shapes as written, with spans. Strict: an unknown key is an error, never dropped.
//! [`super::load`] turns these into the validated model in [`super::model`].

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

pub type S<T> = Spanned<T>;

/// Deepest nesting of mappings and sequences a definition file may have. The shapes need about
/// ten levels (the rows of a list in a scenario step's `expect: { data: … }`); every level of a
/// free value (a schedule's `data`) costs the reader's recursion some 20 KiB of stack in a debug
/// build, so a file cannot nest deeply enough to exhaust a worker's stack.
pub const MAX_YAML_NESTING: usize = 16;

/// Reads a definition file (process, form, calendar or scenario) strictly, nesting at most
/// [`MAX_YAML_NESTING`] deep; the error says where it went too deep.
pub fn read_yaml<'de, T: Deserialize<'de>>(text: &'de str) -> Result<T, serde_saphyr::Error> {
    let options = serde_saphyr::options! { budget: serde_saphyr::budget! { max_depth: MAX_YAML_NESTING } };
    serde_saphyr::from_str_with_options(text, options)
}

/// A YAML mapping kept in file order, with the span of every key.
#[derive(Debug, Clone)]
pub struct Entries<V>(pub Vec<(S<String>, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V_<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V_<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of names to entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<S<String>, V>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Entries(Vec::new()))
            }
        }
        d.deserialize_map(V_(PhantomData))
    }
}

/// A process definition file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProcess {
    pub process: S<String>,
    pub title: S<String>,
    pub description: Option<S<String>>,
    pub source: Option<S<String>>,
    pub calendar: S<String>,
    #[serde(default)]
    pub roles: Entries<S<String>>,
    pub start: Option<RawStart>,
    #[serde(default)]
    pub slas: Entries<RawSla>,
    #[serde(default)]
    pub schedules: Entries<RawSchedule>,
    pub steps: Entries<RawStep>,
}

/// How an instance starts: its form and who may start it by hand.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStart {
    pub form: Option<S<String>>,
    #[serde(default)]
    pub roles: Vec<S<String>>,
    /// The folio pattern, e.g. `COR-{year}-{seq:05}`.
    pub folio: Option<S<String>>,
    /// The start form is open to the public (no account) at `/p/<process>`.
    pub public: Option<S<RawPublic>>,
    /// Each new message of a mailbox starts a case: message part → form field.
    pub mailbox: Option<S<RawMailbox>>,
}

/// A start form open to the public.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPublic {
    /// A date-time field the server sets to the moment the form arrives.
    pub received: Option<S<String>>,
    /// What the page says once the form is sent (the folio is added when the process numbers
    /// its cases).
    pub thanks: Option<S<String>>,
}

/// Which form field each part of an incoming e-mail fills.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMailbox {
    /// The sender's address.
    pub from: Option<S<String>>,
    /// The sender's display name.
    pub name: Option<S<String>>,
    pub subject: Option<S<String>>,
    /// The text of the message.
    pub body: Option<S<String>>,
    /// When the message was received (a `datetime` field).
    pub date: Option<S<String>>,
    /// A `file` field for the message's first attachment.
    pub attachment: Option<S<String>>,
}

/// A message a step (when it completes, or when it is entered) or a deadline or SLA action sends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSend {
    /// The template's name: `<process folder>/messages/<name>.hbs`.
    pub template: S<String>,
    /// An expression giving the address or the list of addresses (`data.correo`).
    pub to: Option<S<String>>,
    /// Roles whose holders get the message too.
    #[serde(default)]
    pub roles: Vec<S<String>>,
    /// `file` fields of the case whose files go with it.
    #[serde(default)]
    pub attach: Vec<S<String>>,
    /// A step whose open task the message links to, answerable without an account.
    pub link: Option<S<String>>,
    /// A condition: the message is sent only when it holds.
    #[serde(rename = "if")]
    pub if_: Option<S<String>>,
    /// `completed` (the default) or `entered`.
    pub on: Option<S<String>>,
}

/// One step; exactly one of the kind keys (`task`, `approval`, …) must be present.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub task: Option<S<String>>,
    pub approval: Option<S<String>>,
    pub decision: Option<S<String>>,
    pub parallel: Option<S<String>>,
    pub wait: Option<S<String>>,
    pub call: Option<S<String>>,
    pub end: Option<S<String>>,

    pub title: Option<S<String>>,
    pub description: Option<S<String>>,
    pub role: Option<S<String>>,
    /// The part of the organisation the task's role is taken within (`data.area`).
    pub scope: Option<S<String>>,
    /// A person named in the data who gets the task (`data.especialista`).
    pub assignee: Option<S<String>>,
    pub form: Option<S<String>>,
    pub next: Option<S<RawNext>>,
    pub approve: Option<S<String>>,
    pub reject: Option<S<String>>,
    pub due: Option<S<String>>,
    pub on_overdue: Option<Vec<S<RawAction>>>,
    /// A warning before the step's deadline, like an SLA's.
    pub warn: Option<S<String>>,
    pub on_warning: Option<Vec<S<RawAction>>>,
    pub branches: Option<Vec<S<RawBranch>>>,
    pub join: Option<S<String>>,
    #[serde(rename = "for")]
    pub for_: Option<S<String>>,
    pub until: Option<S<String>>,
    pub input: Option<Entries<S<String>>>,
    pub for_each: Option<S<String>>,
    /// Messages the step sends.
    pub send: Option<Vec<S<RawSend>>>,
    /// A process whose indicators the task shows, computed, for the period before it opened
    /// (a report task reviews them instead of retyping them).
    pub report: Option<S<String>>,
    /// How long a link to this task stays valid (`10 business days`): it can be answered by
    /// whoever holds a link from a message, without an account.
    pub link: Option<S<String>>,
}

/// One branch of a parallel step: `- step_id`, or `- {start: step_id, due: …, on_overdue: […]}`
/// when the branch carries a deadline of its own.
#[derive(Debug)]
pub enum RawBranch {
    Short(String),
    Long(Box<RawBranchLong>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBranchLong {
    pub start: S<String>,
    pub due: Option<S<String>>,
    pub on_overdue: Option<Vec<S<RawAction>>>,
    pub warn: Option<S<String>>,
    pub on_warning: Option<Vec<S<RawAction>>>,
}

impl<'de> Deserialize<'de> for RawBranch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V_;
        impl<'de> Visitor<'de> for V_ {
            type Value = RawBranch;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a step name, or a mapping with `start` and `due`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawBranch, E> {
                Ok(RawBranch::Short(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawBranch, A::Error> {
                RawBranchLong::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|l| RawBranch::Long(Box::new(l)))
            }
        }
        d.deserialize_any(V_)
    }
}

/// Where to go next: a step name, or ordered `when`/`goto` arms ending in a default.
#[derive(Debug)]
pub enum RawNext {
    One(String),
    Arms(Vec<S<RawArm>>),
}

impl<'de> Deserialize<'de> for RawNext {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V_;
        impl<'de> Visitor<'de> for V_ {
            type Value = RawNext;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a step name, or a list of `- when: … goto: …` entries")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawNext, E> {
                Ok(RawNext::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNext, A::Error> {
                let mut arms = Vec::new();
                while let Some(arm) = seq.next_element::<S<RawArm>>()? {
                    arms.push(arm);
                }
                Ok(RawNext::Arms(arms))
            }
        }
        d.deserialize_any(V_)
    }
}

/// `- when: <condition>` / `goto: <step>`; the arm without `when` is the default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArm {
    pub when: Option<S<String>>,
    pub goto: S<String>,
}

/// An action run when a deadline or SLA threshold passes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawAction {
    /// E-mail the users of a role.
    Notify(S<String>),
    /// Move the open task(s) to another role.
    Reassign(S<String>),
    /// Leave the overdue step and continue at another.
    Goto(S<String>),
    /// Send a message from a template of the process.
    Send(Box<RawSend>),
}

/// A service-level agreement on the instance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSla {
    pub title: S<String>,
    pub from: S<String>,
    pub until: S<String>,
    pub within: Option<S<String>>,
    pub deadline: Option<S<String>>,
    pub warn: Option<S<String>>,
    #[serde(default)]
    pub pause: Vec<S<String>>,
    #[serde(default)]
    pub on_warning: Vec<S<RawAction>>,
    #[serde(default)]
    pub on_breach: Vec<S<RawAction>>,
    pub when: Option<S<String>>,
}

/// A cron trigger that starts an instance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub cron: S<String>,
    pub title: Option<S<String>>,
    pub timezone: Option<S<String>>,
    /// What a firing that falls on a non-business day does: `next`, `previous` or `keep`.
    pub non_business_day: Option<S<String>>,
    #[serde(default)]
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// A form file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawForm {
    pub form: S<String>,
    pub title: S<String>,
    pub description: Option<S<String>>,
    pub fields: Entries<RawField>,
    #[serde(default)]
    pub rules: Vec<S<RawRule>>,
}

/// One form field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawField {
    #[serde(rename = "type")]
    pub kind: S<String>,
    pub label: S<String>,
    pub help: Option<S<String>>,
    #[serde(default)]
    pub required: bool,
    pub min: Option<S<f64>>,
    pub max: Option<S<f64>>,
    pub min_length: Option<S<u32>>,
    pub max_length: Option<S<u32>>,
    pub pattern: Option<S<String>>,
    pub options: Option<Entries<S<String>>>,
    pub must_be_true: Option<S<bool>>,
    pub default: Option<serde_json::Value>,
    /// The columns of a `list` field.
    pub fields: Option<Entries<RawField>>,
    pub min_items: Option<S<u32>>,
    pub max_items: Option<S<u32>>,
    /// A read-only field computed from the others (a CEL expression over `data`).
    pub compute: Option<S<String>>,
    /// The largest file a `file` field takes: bytes, or `10 MB`.
    pub max_size: Option<S<SizeText>>,
    /// What a `file` field takes: MIME types, `image/*`, extensions (`.xlsx`).
    pub accept: Option<S<Vec<String>>>,
}

/// A size as written: a number of bytes or a text such as `10 MB`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SizeText {
    Bytes(u64),
    Text(String),
}

/// A cross-field rule: `check` must hold, else `message` is shown on `field`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub check: S<String>,
    pub message: S<String>,
    pub field: Option<S<String>>,
}
