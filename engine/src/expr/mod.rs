//! Conditions: a small, safe, non-Turing-complete expression language (CEL) over `data`,
//! `instance`, `now` and, inside a `for_each` branch, `item`.
//!
//! Expressions are compiled once at load time. Length and nesting are capped before the parser
//! sees them, so a hostile definition cannot exhaust the stack. Besides CEL's standard library,
//! expressions have the date functions of [`DATE_FUNCTIONS`], counted on the process's calendar.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use cel::common::ast::{EntryExpr, Expr as Node};
use cel::objects::Key;
use cel::{Context, ExecutionError, IdedExpr, Program, Value};

use crate::calendar::Calendar;

mod cost;
mod dates;
mod sample;
pub use cost::{MAX_COMPREHENSION_NESTING, MAX_DEPTH, MAX_LEN, MAX_STEPS, MAX_TREE_DEPTH};
use dates::add_date_functions;
pub use dates::local_date;
pub use sample::positions as sample_positions;

/// The variables an expression may read (`item` only inside a `for_each` branch).
pub const VARIABLES: [&str; 4] = ["data", "instance", "now", "item"];
/// Date functions added to CEL. Dates are `YYYY-MM-DD` text; date-times are read in the
/// calendar's zone.
pub const DATE_FUNCTIONS: [&str; 6] =
    ["date", "weekday", "add_days", "add_business_days", "business_days_between", "is_business_day"];

/// A constant written in an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Constant {
    Bool(bool),
    Number(f64),
    Text(String),
    Null,
}

impl fmt::Display for Constant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constant::Bool(b) => write!(f, "{b}"),
            Constant::Number(n) => write!(f, "{n}"),
            Constant::Text(t) => write!(f, "'{t}'"),
            Constant::Null => write!(f, "null"),
        }
    }
}

/// `data.<field>` compared with a constant; `membership` for `'x' in data.<field>`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldComparison {
    pub field: String,
    pub constant: Constant,
    pub membership: bool,
}

/// The constant a node is, if it is one (a negative number is `-` applied to one).
fn constant(e: &IdedExpr) -> Option<Constant> {
    use cel::common::ast::LiteralValue as L;
    match &e.expr {
        Node::Literal(L::Boolean(b)) => Some(Constant::Bool(**b)),
        Node::Literal(L::Int(i)) => Some(Constant::Number(**i as f64)),
        Node::Literal(L::UInt(u)) => Some(Constant::Number(**u as f64)),
        Node::Literal(L::Double(d)) => Some(Constant::Number(**d)),
        Node::Literal(L::String(s)) => Some(Constant::Text(s.inner().to_string())),
        Node::Literal(L::Null) => Some(Constant::Null),
        Node::Call(c) if c.func_name == cel::common::ast::operators::NEGATE => match c.args.as_slice() {
            [x] => match constant(x)? {
                Constant::Number(n) => Some(Constant::Number(-n)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// What an expression is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub data: &'a serde_json::Map<String, serde_json::Value>,
    pub instance: &'a serde_json::Value,
    /// The current instant, RFC 3339.
    pub now: &'a str,
    /// The element of the `for_each` list the current branch works on.
    pub item: Option<&'a serde_json::Value>,
    /// The calendar date functions count on; without one, dates are read in UTC and only
    /// Saturdays and Sundays are non-working.
    pub calendar: Option<&'a Calendar>,
    /// The case's seed, for `sample()`; `None` outside a case.
    pub seed: Option<u64>,
}

/// CEL's standard environment, built once: building it costs more than most evaluations.
static STDLIB: std::sync::LazyLock<Arc<cel::Env>> = std::sync::LazyLock::new(|| Arc::new(cel::Env::stdlib()));

/// A compiled condition.
#[derive(Clone)]
pub struct Expr {
    source: Arc<str>,
    program: Arc<Program>,
    needs: Arc<Needs>,
    growth: Arc<cost::Growth>,
}

/// What an evaluation must put in scope, worked out once at compile time: conditions run on
/// every transition, and converting all the data or registering the date functions for an
/// expression that reads one field is most of the cost.
#[derive(Debug, Default)]
struct Needs {
    /// The `data` fields read; `None` when `data` is used whole (e.g. `size(data)`).
    data: Option<Vec<String>>,
    instance: bool,
    now: bool,
    dates: bool,
    sample: bool,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expr({:?})", self.source)
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.source == other.source
    }
}

/// Why an expression was refused, with the 1-based column inside the expression text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub column: u64,
    pub message: String,
    pub help: Option<String>,
}

impl Expr {
    /// Compiles `source`, refusing over-long or over-nested text, comprehensions nested too deep
    /// and unknown variables.
    pub fn compile(source: &str) -> Result<Expr, ExprError> {
        cost::check_length(source)?;
        cost::check_brackets(source)?;
        let program = Program::compile(source).map_err(|errs| {
            let first = errs.errors.first();
            // cel's positions are already 1-based.
            let column = first.map(|e| e.pos.1.max(1) as u64).unwrap_or(1);
            let message = first.map(|e| plain_syntax_error(&e.msg)).unwrap_or_else(|| errs.to_string());
            ExprError {
                column,
                message: format!("invalid expression: {message}"),
                help: Some("conditions are CEL, e.g. `data.tipo == 'queja' && data.edad >= 18`".into()),
            }
        })?;
        cost::check_tree(&program)?;
        let growth = Arc::new(cost::Growth::of(&program));
        let mut expr = Expr { source: source.into(), program: Arc::new(program), needs: Arc::default(), growth };
        expr.needs = Arc::new(expr.work_out_needs());
        for var in expr.program.references().variables() {
            if !VARIABLES.contains(&var) && !expr.is_comprehension_var(var) {
                let help = match crate::diagnostic::did_you_mean(var, VARIABLES) {
                    Some(s) => format!("did you mean `{s}`? form fields are read as `data.<field>`"),
                    None => "expressions may read `data.<field>`, `instance`, `now` and `item`".to_string(),
                };
                return Err(ExprError {
                    column: ident_column(source, var),
                    message: format!("undefined variable `{var}`"),
                    help: Some(help),
                });
            }
        }
        Ok(expr)
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    fn work_out_needs(&self) -> Needs {
        let refs = self.program.references();
        let vars = refs.variables();
        let (mut bare, mut selected) = (0, 0);
        walk(self.program.expression(), &mut |node| match node {
            Node::Ident(name) if name == "data" => bare += 1,
            Node::Select(sel) if matches!(&sel.operand.expr, Node::Ident(r) if r == "data") => selected += 1,
            _ => {}
        });
        let data = (bare == selected).then(|| self.data_fields());
        Needs {
            data,
            instance: vars.contains(&"instance"),
            now: vars.contains(&"now"),
            dates: refs.functions().iter().any(|f| DATE_FUNCTIONS.contains(f)),
            sample: refs.functions().contains(&"sample"),
        }
    }

    /// Each comparison of a field of the data with a constant, as written: `data.x == 'si'`,
    /// `data.n >= 3`, `data.tipo in ['a', 'b']` (one per element), `'a' in data.temas`.
    pub fn field_comparisons(&self) -> Vec<FieldComparison> {
        use cel::common::ast::operators::{EQUALS, GREATER, GREATER_EQUALS, IN, LESS, LESS_EQUALS, NOT_EQUALS};
        let field = |e: &IdedExpr| match &e.expr {
            Node::Select(sel) if !sel.test && matches!(&sel.operand.expr, Node::Ident(r) if r == "data") => {
                Some(sel.field.clone())
            }
            _ => None,
        };
        let mut out = Vec::new();
        walk(self.program.expression(), &mut |node| {
            let Node::Call(c) = node else { return };
            let [a, b] = c.args.as_slice() else { return };
            let f = c.func_name.as_str();
            if [EQUALS, NOT_EQUALS, LESS, LESS_EQUALS, GREATER, GREATER_EQUALS].contains(&f) {
                for (x, y) in [(a, b), (b, a)] {
                    if let (Some(field), Some(constant)) = (field(x), constant(y)) {
                        out.push(FieldComparison { field, constant, membership: false });
                    }
                }
            } else if f == IN {
                match (field(a), &b.expr, constant(a), field(b)) {
                    (Some(name), Node::List(list), _, _) => {
                        for c in list.elements.iter().filter_map(constant) {
                            out.push(FieldComparison { field: name.clone(), constant: c, membership: false });
                        }
                    }
                    (_, _, Some(c), Some(name)) => {
                        out.push(FieldComparison { field: name, constant: c, membership: true })
                    }
                    _ => {}
                }
            }
        });
        out
    }

    /// The `data.<field>` names the expression reads (first segment after `data`).
    pub fn data_fields(&self) -> Vec<String> {
        self.fields_of("data")
    }

    /// The `item.<field>` names the expression reads.
    pub fn item_fields(&self) -> Vec<String> {
        self.fields_of("item")
    }

    /// Whether the expression reads `item` at all.
    pub fn uses_item(&self) -> bool {
        self.program.references().variables().contains(&"item") && !self.is_comprehension_var("item")
    }

    /// When the whole expression is `data.<field>` or `item.<field>`: the root and the field.
    pub fn as_field(&self) -> Option<(&str, &str)> {
        match &self.program.expression().expr {
            Node::Select(sel) if !sel.test => match &sel.operand.expr {
                Node::Ident(root) if root == "data" => Some(("data", sel.field.as_str())),
                Node::Ident(root) if root == "item" => Some(("item", sel.field.as_str())),
                _ => None,
            },
            _ => None,
        }
    }

    fn fields_of(&self, var: &str) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.program.expression(), &mut |node| {
            if let Node::Select(sel) = node
                && let Node::Ident(root) = &sel.operand.expr
                && root == var
                && !out.contains(&sel.field)
            {
                out.push(sel.field.clone());
            }
        });
        out
    }

    fn is_comprehension_var(&self, name: &str) -> bool {
        let mut found = false;
        walk(self.program.expression(), &mut |node| {
            if let Node::Comprehension(c) = node
                && (c.iter_var == name || c.accu_var == name || c.iter_var2.as_deref() == Some(name))
            {
                found = true;
            }
        });
        found
    }

    /// Evaluates against instance data; `now` is an RFC 3339 string. No `item`; date functions
    /// read dates in UTC.
    pub fn eval(
        &self,
        data: &serde_json::Map<String, serde_json::Value>,
        instance: &serde_json::Value,
        now: &str,
    ) -> Result<serde_json::Value, String> {
        self.eval_in(&Scope { data, instance, now, item: None, calendar: None, seed: None })
    }

    /// Whether the work of an evaluation grows with the lists it reads (a comprehension or a
    /// membership test over a list).
    pub fn grows_with_data(&self) -> bool {
        !self.growth.is_flat()
    }

    /// Whether an evaluation in `scope` could take more than [`cost::MAX_STEPS`] steps: the
    /// steps it could take and the longest list it reads, if so.
    pub fn steps_over(&self, scope: &Scope<'_>) -> Option<(u64, u64)> {
        if self.growth.is_flat() {
            return None;
        }
        let data: Vec<&serde_json::Value> = match &self.needs.data {
            None => scope.data.values().collect(),
            Some(fields) => fields.iter().filter_map(|f| scope.data.get(f)).collect(),
        };
        let instance = self.needs.instance.then_some(scope.instance);
        let longest = cost::longest(data.into_iter().chain(instance).chain(scope.item));
        let steps = self.growth.steps(longest);
        (steps > cost::MAX_STEPS).then_some((steps, longest))
    }

    /// Evaluates in a full scope: `item` and the calendar of the date functions. An evaluation
    /// that could take more than [`cost::MAX_STEPS`] steps over this data is refused unrun.
    pub fn eval_in(&self, scope: &Scope<'_>) -> Result<serde_json::Value, String> {
        if let Some((steps, longest)) = self.steps_over(scope) {
            return Err(format!(
                "`{}` could take {steps} steps over lists of up to {longest} items, more than the {} steps one expression may take; \
                 compare fewer rows, or check one level in a computed field",
                self.source,
                cost::MAX_STEPS
            ));
        }
        let mut ctx = Context::with_env(STDLIB.clone());
        match &self.needs.data {
            None => ctx.add_variable_from_value("data", object_to_cel(scope.data)),
            Some(fields) => {
                let mut part = serde_json::Map::new();
                for f in fields {
                    if let Some(v) = scope.data.get(f) {
                        part.insert(f.clone(), v.clone());
                    }
                }
                ctx.add_variable_from_value("data", object_to_cel(&part));
            }
        }
        if self.needs.instance {
            ctx.add_variable_from_value("instance", to_cel(scope.instance));
        }
        if self.needs.now {
            ctx.add_variable_from_value("now", Value::String(Arc::new(scope.now.to_string())));
        }
        if let Some(item) = scope.item {
            ctx.add_variable_from_value("item", to_cel(item));
        }
        if self.needs.dates {
            let calendar = match scope.calendar {
                Some(c) => c.clone(),
                None => Calendar::weekends_only("utc", "UTC").map_err(|e| e.to_string())?,
            };
            add_date_functions(&mut ctx, Arc::new(calendar)).map_err(|e| e.to_string())?;
        }
        if self.needs.sample {
            sample::add_sample(&mut ctx, scope.seed).map_err(|e| e.to_string())?;
        }
        let value = self.program.execute(&ctx).map_err(|e| match e {
            ExecutionError::UndeclaredReference(name) if name.as_str() == "item" => {
                "`item` is only defined inside a `for_each` branch".to_string()
            }
            other => other.to_string(),
        })?;
        Ok(to_json(&value))
    }

    /// Evaluates a condition that must yield a boolean, in a full scope.
    pub fn eval_bool_in(&self, scope: &Scope<'_>) -> Result<bool, String> {
        match self.eval_in(scope)? {
            serde_json::Value::Bool(b) => Ok(b),
            other => Err(format!("condition `{}` gave {other}, not true or false", self.source)),
        }
    }

    /// Evaluates a condition that must yield a boolean.
    pub fn eval_bool(
        &self,
        data: &serde_json::Map<String, serde_json::Value>,
        instance: &serde_json::Value,
        now: &str,
    ) -> Result<bool, String> {
        match self.eval(data, instance, now)? {
            serde_json::Value::Bool(b) => Ok(b),
            other => Err(format!("condition `{}` gave {other}, not true or false", self.source)),
        }
    }
}

/// The 1-based column, in characters, of `name` standing alone as a variable (not a field).
fn ident_column(source: &str, name: &str) -> u64 {
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = source[from..].find(name) {
        let (start, end) = (from + i, from + i + name.len());
        let alone_before = source[..start].chars().next_back().is_none_or(|c| !is_name(c) && c != '.');
        let alone_after = source[end..].chars().next().is_none_or(|c| !is_name(c));
        if alone_before && alone_after {
            return source[..start].chars().count() as u64 + 1;
        }
        from = end;
    }
    1
}

/// ANTLR's `mismatched input '<EOF>' expecting {'[', '{', …}` in a process owner's words.
fn plain_syntax_error(msg: &str) -> String {
    let msg = msg.strip_prefix("Syntax error: ").unwrap_or(msg);
    if msg.contains("Recursion limit of") {
        return "the expression nests too deeply (brackets or `? :` inside one another)".to_string();
    }
    if let Some((missing, _)) = msg.strip_prefix("missing ").and_then(|m| m.split_once(" at ")) {
        return format!("missing {}", missing.replace('\'', "`"));
    }
    if let Some(c) = msg.strip_prefix("token recognition error at: '").and_then(|t| t.chars().next()) {
        return format!("unexpected `{c}`");
    }
    if msg.contains("'<EOF>'") {
        return "the expression ends too early".to_string();
    }
    match msg.split_once(" expecting {") {
        Some((head, _)) => head.to_string(),
        None => msg.to_string(),
    }
}

fn walk(e: &IdedExpr, f: &mut dyn FnMut(&Node)) {
    f(&e.expr);
    match &e.expr {
        Node::Call(c) => {
            if let Some(t) = &c.target {
                walk(t, f);
            }
            c.args.iter().for_each(|a| walk(a, f));
        }
        Node::Comprehension(c) => {
            for x in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                walk(x, f);
            }
        }
        Node::List(l) => l.elements.iter().for_each(|x| walk(x, f)),
        Node::Map(m) => m.entries.iter().for_each(|x| walk_entry(&x.expr, f)),
        Node::Struct(s) => s.entries.iter().for_each(|x| walk_entry(&x.expr, f)),
        Node::Select(s) => walk(&s.operand, f),
        Node::Ident(_) | Node::Literal(_) | Node::Unspecified => {}
    }
}

fn walk_entry(e: &EntryExpr, f: &mut dyn FnMut(&Node)) {
    match e {
        EntryExpr::StructField(s) => walk(&s.value, f),
        EntryExpr::MapEntry(m) => {
            walk(&m.key, f);
            walk(&m.value, f);
        }
    }
}

/// JSON as CEL. Whole numbers are CEL `int` (JSON has no unsigned type; serde would make them
/// `uint`, which CEL refuses to mix with `int` literals in `5 * data.temas`).
fn to_cel(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::Int(i),
            (None, Some(u), _) => Value::UInt(u),
            (None, None, f) => Value::Float(f.unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::String(Arc::new(s.clone())),
        J::Array(a) => Value::List(Arc::new(a.iter().map(to_cel).collect())),
        J::Object(m) => object_to_cel(m),
    }
}

fn object_to_cel(m: &serde_json::Map<String, serde_json::Value>) -> Value {
    let map: HashMap<Key, Value> = m.iter().map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v))).collect();
    Value::Map(cel::objects::Map { map: Arc::new(map) })
}

fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::UInt(u) => J::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
        Value::String(s) => J::String(s.to_string()),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(m.map.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
        Value::Null => J::Null,
        other => J::String(format!("{other:?}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn matches_reads_a_regular_expression() {
        let scope_data = serde_json::json!({ "dni": "12345678", "otro": "12-34" });
        let data = scope_data.as_object().unwrap();
        let e = Expr::compile("data.dni.matches('^[0-9]{8}$')").unwrap();
        assert_eq!(e.eval(data, &serde_json::Value::Null, "").unwrap(), serde_json::Value::Bool(true));
        let e = Expr::compile("data.otro.matches('^[0-9]{8}$')").unwrap();
        assert_eq!(e.eval(data, &serde_json::Value::Null, "").unwrap(), serde_json::Value::Bool(false));
    }

    #[test]
    fn evaluates_conditions_over_data() {
        let e = Expr::compile("data.tipo == 'queja' && data.edad >= 18").unwrap();
        let d = data(json!({"tipo": "queja", "edad": 30}));
        assert!(e.eval_bool(&d, &json!({}), "2026-01-01T00:00:00Z").unwrap());
        assert_eq!(e.data_fields(), vec!["tipo".to_string(), "edad".to_string()]);
    }

    #[test]
    fn refuses_unknown_variables_with_a_hint() {
        let err = Expr::compile("dato.tipo == 'x'").unwrap_err();
        assert_eq!(err.message, "undefined variable `dato`");
        assert_eq!(err.column, 1);
        assert!(err.help.unwrap().contains("`data`"));
        let err = Expr::compile("data.dato == 'sí' && dato").unwrap_err();
        assert_eq!(err.column, 22, "the variable, not the field of the same name, after a non-ASCII letter");
    }

    #[test]
    fn allows_comprehension_variables() {
        let e = Expr::compile("data.temas.exists(t, t == 'a')").unwrap();
        assert_eq!(e.data_fields(), vec!["temas".to_string()]);
    }

    #[test]
    fn caps_nesting_before_parsing() {
        let deep = format!("{}true{}", "(".repeat(100), ")".repeat(100));
        assert!(Expr::compile(&deep).unwrap_err().message.contains("nests deeper"));
    }

    fn on_co(e: &str, now: &str) -> Result<serde_json::Value, String> {
        let cal = crate::calendar::builtin("co").unwrap();
        let d = data(json!({"fecha": "2026-06-18", "hora": "2026-06-19T03:00:00Z"}));
        let scope = Scope { data: &d, instance: &json!({}), now, item: None, calendar: Some(&cal), seed: None };
        Expr::compile(e).unwrap().eval_in(&scope)
    }

    #[test]
    fn date_functions_count_on_the_calendar() {
        let now = "2026-06-19T03:00:00Z"; // Thursday 18 June, 22:00 in Bogotá
        assert_eq!(on_co("date(now)", now).unwrap(), json!("2026-06-18"));
        assert_eq!(on_co("weekday(data.fecha)", now).unwrap(), json!(4));
        assert_eq!(on_co("weekday(data.hora)", now).unwrap(), json!(4), "a date-time is read in the zone");
        assert_eq!(on_co("add_days(data.fecha, -90)", now).unwrap(), json!("2026-03-20"));
        assert_eq!(on_co("add_days(data.fecha, 8 - weekday(data.fecha))", now).unwrap(), json!("2026-06-22"));
        // 15 and 8 June are holidays in Colombia (Sagrado Corazón, Corpus Christi).
        assert_eq!(on_co("add_business_days(data.fecha, -10)", now).unwrap(), json!("2026-06-02"));
        assert_eq!(on_co("add_business_days('2026-07-10', 16)", now).unwrap(), json!("2026-08-05"));
        assert_eq!(on_co("business_days_between('2026-06-02', data.fecha)", now).unwrap(), json!(10));
        assert_eq!(on_co("business_days_between(data.fecha, '2026-06-02')", now).unwrap(), json!(-10));
        assert_eq!(on_co("is_business_day('2026-06-15')", now).unwrap(), json!(false));
        assert_eq!(on_co("date(now) > add_days(data.fecha, -1)", now).unwrap(), json!(true));
    }

    #[test]
    fn date_functions_refuse_counts_beyond_a_century_at_once() {
        let now = "2026-06-18T12:00:00Z";
        let err = on_co("add_business_days(data.fecha, 2000000000)", now).unwrap_err();
        assert!(err.contains("more than 36600 business days"), "{err}");
        let err = on_co("business_days_between('0001-01-01', '9999-12-31')", now).unwrap_err();
        assert!(err.contains("more than 36600 days apart"), "{err}");
        assert!(on_co("add_days(data.fecha, 9223372036854775807)", now).is_err());
        assert_eq!(on_co("add_business_days(data.fecha, 36600) > data.fecha", now), Ok(json!(true)));
    }

    #[test]
    fn date_functions_refuse_what_is_not_a_date() {
        let err = on_co("weekday('mañana')", "2026-06-18T12:00:00Z").unwrap_err();
        assert!(err.contains("`mañana` is not a date"), "{err}");
        let err = on_co("item.fecha", "2026-06-18T12:00:00Z").unwrap_err();
        assert!(err.contains("only defined inside a `for_each` branch"), "{err}");
    }

    #[test]
    fn whole_numbers_are_ints() {
        let d = data(json!({"temas": 2, "preguntas": 10, "horas": 1.5, "filas": [{"n": 3}]}));
        let e =
            Expr::compile("data.preguntas >= 5 * data.temas && data.horas + 1.5 <= 3.0 && data.filas[0].n - 4 == -1");
        assert_eq!(e.unwrap().eval(&d, &json!({}), ""), Ok(json!(true)));
    }

    #[test]
    fn item_readings_are_known() {
        let e = Expr::compile("item.cumplida && data.x").unwrap();
        assert!(e.uses_item());
        assert_eq!(e.item_fields(), vec!["cumplida".to_string()]);
        assert_eq!(Expr::compile("item.fecha").unwrap().as_field(), Some(("item", "fecha")));
        assert!(!Expr::compile("data.l.exists(x, x > 1)").unwrap().uses_item());
    }

    #[test]
    fn syntax_errors_carry_a_column() {
        let err = Expr::compile("data.a == ").unwrap_err();
        assert_eq!(err.message, "invalid expression: the expression ends too early");
        assert_eq!(err.column, 11);
        let err = Expr::compile("data.a == = 3").unwrap_err();
        assert_eq!((err.column, err.message.as_str()), (11, "invalid expression: unexpected `=`"));
        assert_eq!(Expr::compile("(data.a").unwrap_err().message, "invalid expression: missing `)`");
    }
}
