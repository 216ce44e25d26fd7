//! What an expression may cost, checked when it is compiled so that a definition cannot make an
//! evaluation exhaust the stack or run for minutes.
//!
//! - Before parsing: the length ([`MAX_LEN`]) and the bracket nesting ([`MAX_DEPTH`]). The length
//!   also bounds how deep the parser itself recurses.
//! - After parsing, walking the tree with a stack of its own: how deep the tree is
//!   ([`MAX_TREE_DEPTH`]; `1 + 1 + 1 …` nests one level per `+` without a single bracket), since
//!   evaluating and inspecting an expression recurse once per level; and how deep comprehensions
//!   (`all`, `exists`, `exists_one`, `map`, `filter`) nest inside one another
//!   ([`MAX_COMPREHENSION_NESTING`]), since each level multiplies the work by the length of its
//!   list. `cel` has no evaluation step limit of its own: the work of an expression is bounded
//!   by this nesting times the rows a list field may hold (see `definition::form`).
//! - When it runs: how the work grows with the data ([`Growth`], worked out at compile time)
//!   is applied to the longest list in the values the expression reads, and an evaluation that
//!   could take more than [`MAX_STEPS`] is refused before it starts, with the figures. Being
//!   computed from the data alone, the refusal is the same on every replay.

use cel::common::ast::{EntryExpr, Expr as Node};
use cel::{IdedExpr, Program};

use super::ExprError;

/// Longest expression accepted, in characters.
pub const MAX_LEN: usize = 1_000;
/// Deepest bracket nesting accepted.
pub const MAX_DEPTH: usize = 24;
/// Deepest expression tree accepted (operators, member accesses and calls, one level each).
pub const MAX_TREE_DEPTH: usize = 100;
/// Most comprehensions nested one inside another's body.
pub const MAX_COMPREHENSION_NESTING: usize = 2;

/// Most steps (tree nodes evaluated, with a membership test over a list counting once per
/// element) one evaluation may take: about 0.2 s of one core at most (measured in a release
/// build: `data.a.all(x, data.b.exists(y, y.n == x.n))` over two lists of 300 rows, 1,082,703
/// steps, 94 ms). Two nested comprehensions over lists of about 350 rows fit; over 1,000 they do not.
pub const MAX_STEPS: u64 = 2_000_000;

/// How the work of an expression grows with the length of the lists it reads: how many nodes
/// run once per element of `k` nested lists, for each `k`.
#[derive(Debug, Default, Clone)]
pub(super) struct Growth {
    per_level: [u64; MAX_COMPREHENSION_NESTING + 2],
    /// A list worked out by concatenating others (`data.a + data.b`) is as long as all of them:
    /// the longest list read, times this.
    widen: u64,
}

impl Growth {
    pub(super) fn of(program: &Program) -> Growth {
        use cel::common::ast::operators::{ADD, IN};
        let mut g = Growth { widen: 1, ..Growth::default() };
        let mut todo: Vec<(&IdedExpr, usize, bool)> = vec![(program.expression(), 0, false)];
        while let Some((e, level, in_range)) = todo.pop() {
            let level = level.min(g.per_level.len() - 1);
            g.per_level[level] += 1;
            match &e.expr {
                Node::Comprehension(c) => {
                    todo.push((&c.iter_range, level, true));
                    for body in [&c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                        todo.push((body, level + 1, in_range));
                    }
                }
                Node::Call(c) => {
                    if c.func_name == IN {
                        g.per_level[(level + 1).min(g.per_level.len() - 1)] += 1;
                    }
                    if in_range && c.func_name == ADD {
                        g.widen += 1;
                    }
                    todo.extend(children(e).into_iter().map(|x| (x, level, in_range)));
                }
                _ => todo.extend(children(e).into_iter().map(|x| (x, level, in_range))),
            }
        }
        g
    }

    /// Whether the work does not depend on the data (no comprehension, no membership test).
    pub(super) fn is_flat(&self) -> bool {
        self.per_level[1..].iter().all(|n| *n == 0)
    }

    /// The most steps an evaluation takes when no list read is longer than `longest`.
    pub(super) fn steps(&self, longest: u64) -> u64 {
        let n = longest.saturating_mul(self.widen).max(1);
        let mut total = 0u64;
        let mut factor = 1u64;
        for nodes in self.per_level {
            total = total.saturating_add(nodes.saturating_mul(factor));
            factor = factor.saturating_mul(n);
        }
        total
    }
}

/// The length of the longest list or map anywhere in `values`.
pub(super) fn longest<'a>(values: impl IntoIterator<Item = &'a serde_json::Value>) -> u64 {
    use serde_json::Value;
    let mut todo: Vec<&Value> = values.into_iter().collect();
    let mut most = 0usize;
    while let Some(v) = todo.pop() {
        match v {
            Value::Array(a) => {
                most = most.max(a.len());
                todo.extend(a);
            }
            Value::Object(o) => {
                most = most.max(o.len());
                todo.extend(o.values());
            }
            _ => {}
        }
    }
    most as u64
}

pub(super) fn check_length(source: &str) -> Result<(), ExprError> {
    if source.chars().count() > MAX_LEN {
        return Err(ExprError {
            column: 1,
            message: format!("expression is longer than {MAX_LEN} characters"),
            help: Some("split the condition into simpler steps or form fields".into()),
        });
    }
    Ok(())
}

pub(super) fn check_brackets(source: &str) -> Result<(), ExprError> {
    let mut depth = 0usize;
    for (i, c) in source.chars().enumerate() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ExprError {
                        column: i as u64 + 1,
                        message: format!("expression nests deeper than {MAX_DEPTH} levels"),
                        help: Some("flatten the condition".into()),
                    });
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The children of a node.
fn children(e: &IdedExpr) -> Vec<&IdedExpr> {
    match &e.expr {
        Node::Call(c) => c.target.iter().map(|t| &**t).chain(&c.args).collect(),
        Node::Comprehension(c) => vec![&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result],
        Node::List(l) => l.elements.iter().collect(),
        Node::Map(m) => m.entries.iter().flat_map(|x| entry_children(&x.expr)).collect(),
        Node::Struct(s) => s.entries.iter().flat_map(|x| entry_children(&x.expr)).collect(),
        Node::Select(s) => vec![&*s.operand],
        Node::Ident(_) | Node::Literal(_) | Node::Unspecified => Vec::new(),
    }
}

fn entry_children(e: &EntryExpr) -> Vec<&IdedExpr> {
    match e {
        EntryExpr::StructField(s) => vec![&s.value],
        EntryExpr::MapEntry(m) => vec![&m.key, &m.value],
    }
}

/// The 1-based column, in characters, where node `id` is written (1 when `cel` does not say;
/// `cel` gives a byte offset).
fn column_of(program: &Program, id: u64) -> u64 {
    let source = &program.source_info().source;
    let Some((start, _)) = program.source_info().offset_for(id) else { return 1 };
    let chars = source.get(..start as usize).map_or(start as usize, |before| before.chars().count());
    chars as u64 + 1
}

/// The 1-based column of the name of the macro (`all`, `map`…) a comprehension node was written
/// as: `cel` places the node at its opening bracket.
fn name_column(program: &Program, id: u64) -> u64 {
    let bracket = column_of(program, id) as usize - 1;
    let before: Vec<char> = program.source_info().source.chars().take(bracket).collect();
    let name_end = before.iter().rposition(|c| !c.is_whitespace()).map_or(0, |i| i + 1);
    let name_start = before[..name_end].iter().rposition(|c| !(c.is_alphanumeric() || *c == '_')).map_or(0, |i| i + 1);
    name_start as u64 + 1
}

/// Refuses a tree deeper than [`MAX_TREE_DEPTH`] or comprehensions nested deeper than
/// [`MAX_COMPREHENSION_NESTING`], pointing at the first node past the limit.
pub(super) fn check_tree(program: &Program) -> Result<(), ExprError> {
    // (node, its depth, how many comprehension bodies it is inside)
    let mut todo: Vec<(&IdedExpr, usize, usize)> = vec![(program.expression(), 1, 0)];
    while let Some((e, depth, nesting)) = todo.pop() {
        if depth > MAX_TREE_DEPTH {
            return Err(ExprError {
                column: column_of(program, e.id),
                message: format!("expression nests more than {MAX_TREE_DEPTH} operations deep"),
                help: Some("split it: compute part of it in a decision step or a computed field of its own".into()),
            });
        }
        let Node::Comprehension(c) = &e.expr else {
            todo.extend(children(e).into_iter().map(|x| (x, depth + 1, nesting)));
            continue;
        };
        let inner = nesting + 1;
        if inner > MAX_COMPREHENSION_NESTING {
            return Err(ExprError {
                column: name_column(program, e.id),
                message: format!(
                    "{inner} comprehensions (`all`, `exists`, `map`, `filter`…) nest one inside another; at most {MAX_COMPREHENSION_NESTING}"
                ),
                help: Some(format!(
                    "each level runs once per element of the level above (500 rows each: 500^{inner} runs); \
                     check one level in a computed field and read it here, or compare fewer lists at once"
                )),
            });
        }
        // The list is worked out once; the body runs once per element.
        todo.push((&c.iter_range, depth + 1, nesting));
        for body in [&c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
            todo.push((body, depth + 1, inner));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{Expr, Scope};
    use super::*;

    /// Runs `f` on a thread with the stack of a server worker.
    fn on_worker_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new().stack_size(2 * 1024 * 1024).spawn(f).unwrap().join().unwrap()
    }

    #[test]
    fn long_chains_without_brackets_are_refused_where_they_get_too_deep() {
        for (chain, unit) in [("+1", 2), ("[0]", 3), ("<1", 2), (".a", 2)] {
            let source = format!("data.x{}", chain.repeat(990 / unit));
            let err = on_worker_stack(move || Expr::compile(&source).unwrap_err());
            assert!(err.message.contains("nests more than 100 operations deep"), "{chain}: {err:?}");
            assert!(err.column > 1, "{chain}: located");
        }
    }

    #[test]
    fn the_deepest_accepted_chain_evaluates_on_a_small_stack() {
        let value = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(|| {
                let source = format!("1{}", "+1".repeat(MAX_TREE_DEPTH - 2));
                let e = Expr::compile(&source).unwrap();
                e.eval(&serde_json::Map::new(), &serde_json::Value::Null, "").unwrap()
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(value, serde_json::json!(MAX_TREE_DEPTH - 1));
    }

    #[test]
    fn comprehensions_nest_two_deep_at_most() {
        let two = "data.a.all(x, data.b.exists(y, y == x))";
        assert!(Expr::compile(two).is_ok());
        let one_after_another = "data.a.filter(x, x > 1).map(y, y * 2).all(z, data.b.exists(w, w == z))";
        assert!(Expr::compile(one_after_another).is_ok(), "a list worked out once is not nesting");
        let three = "data.a.all(x, data.b.all(y, data.c.all(z, x + y + z > 0)))";
        let err = Expr::compile(three).unwrap_err();
        assert!(err.message.starts_with("3 comprehensions"), "{err:?}");
        assert_eq!(&three[err.column as usize - 1..][..6], "all(z,", "{err:?}");
        let after_accents = format!("'señal' != '' && {three}");
        let err = Expr::compile(&after_accents).unwrap_err();
        let at: String = after_accents.chars().skip(err.column as usize - 1).take(6).collect();
        assert_eq!(at, "all(z,", "columns count characters: {err:?}");
    }

    fn rows(n: usize) -> serde_json::Map<String, serde_json::Value> {
        let list: Vec<serde_json::Value> = (0..n).map(|i| serde_json::json!({ "n": i })).collect();
        let mut data = serde_json::Map::new();
        data.insert("a".into(), list.clone().into());
        data.insert("b".into(), list.into());
        data
    }

    #[test]
    fn work_that_grows_past_the_budget_with_the_data_is_refused_before_it_runs() {
        let e = Expr::compile("data.a.all(x, data.b.exists(y, y.n == x.n))").unwrap();
        assert_eq!(e.eval(&rows(300), &serde_json::Value::Null, "").unwrap(), serde_json::json!(true));
        let err = e.eval(&rows(1000), &serde_json::Value::Null, "").unwrap_err();
        assert!(err.contains("up to 1000 items") && err.contains("2000000 steps"), "{err}");
        let steps = e.steps_over(&Scope {
            data: &rows(1000),
            instance: &serde_json::Value::Null,
            now: "",
            item: None,
            calendar: None,
            seed: None,
        });
        assert!(steps.is_some_and(|(s, n)| s > MAX_STEPS && n == 1000), "{steps:?}");
    }

    #[test]
    fn membership_and_concatenation_count_once_per_element() {
        let in_list = Expr::compile("data.a.all(x, x in data.b)").unwrap();
        assert!(in_list.eval(&rows(300), &serde_json::Value::Null, "").is_ok());
        assert!(in_list.eval(&rows(1500), &serde_json::Value::Null, "").is_err(), "1500 × 1500 membership tests");
        let flat = Expr::compile("size(data.a) > 3 && data.a[0].n == 0").unwrap();
        assert!(flat.eval(&rows(1000), &serde_json::Value::Null, "").is_ok(), "no work per element");
        let one = Growth::of(&Expr::compile("data.a.all(x, x.n >= 0)").unwrap().program);
        let joined = Growth::of(&Expr::compile("(data.a + data.b + data.a).all(x, x.n >= 0)").unwrap().program);
        assert!(joined.steps(100) > 2 * one.steps(100), "{one:?} {joined:?}");
    }

    #[test]
    fn nested_ternaries_are_refused_in_plain_words() {
        let source = format!("{}1", "true?1:".repeat(100));
        let err = Expr::compile(&source).unwrap_err();
        assert!(err.message.contains("nests too deeply"), "{err:?}");
    }
}
