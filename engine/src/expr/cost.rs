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
    use super::super::Expr;
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

    #[test]
    fn nested_ternaries_are_refused_in_plain_words() {
        let source = format!("{}1", "true?1:".repeat(100));
        let err = Expr::compile(&source).unwrap_err();
        assert!(err.message.contains("nests too deeply"), "{err:?}");
    }
}
