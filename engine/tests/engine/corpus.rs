//! The corpus of broken definitions in `tests/corpus/`: every file under `broken/` states the
//! diagnostics it must produce in header comments, and every file under `clean/` must load
//! without one.
//!
//! ```yaml
//! # expect: 7:11: unknown step `responde`
//! # help: did you mean `responder`?
//! ```
//!
//! `# expect:` lines list the exact `line:column: message` of every diagnostic (in file order);
//! a `# help:` line right after an `# expect:` line also checks that diagnostic's help text.
//! Every file is loaded together with the helpers in `tests/corpus/forms/` (forms and one
//! sub-process to call) and the shipped calendars.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use tramite_engine::calendar::{BUILTIN, Calendar, builtin};
use tramite_engine::definition::{Catalog, SourceFile, load};
use tramite_engine::diagnostic::Diagnostic;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus");

fn calendars() -> BTreeMap<String, Calendar> {
    BUILTIN
        .iter()
        .map(|name| {
            (name.to_string(), builtin(name).unwrap_or_else(|| panic!("builtin calendar `{name}` does not load")))
        })
        .collect()
}

fn source(path: &Path) -> SourceFile {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let name = path.strip_prefix(CORPUS).unwrap_or(path).display().to_string();
    SourceFile { path: name, text }
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(CORPUS).join(dir);
    let mut out: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.map(|e| e.path()).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    out.sort();
    out
}

/// Loads `files` together with the helper forms.
fn load_with_forms(files: Vec<SourceFile>) -> (Catalog, Vec<Diagnostic>) {
    let mut all: Vec<SourceFile> = yaml_files("forms").iter().map(|p| source(p)).collect();
    all.extend(files);
    load(&all, calendars())
}

/// One expected diagnostic: `line:column: message`, and the help text when the file gives one.
#[derive(Debug, PartialEq)]
struct Expected {
    at_message: String,
    help: Option<String>,
}

fn expectations(text: &str) -> Vec<Expected> {
    let mut out: Vec<Expected> = Vec::new();
    for line in text.lines() {
        if let Some(e) = line.strip_prefix("# expect: ") {
            out.push(Expected { at_message: e.trim_end().to_string(), help: None });
        } else if let Some(h) = line.strip_prefix("# help: ") {
            let last = out.last_mut().unwrap_or_else(|| panic!("`# help:` before any `# expect:` in:\n{text}"));
            last.help = Some(h.trim_end().to_string());
        }
    }
    out
}

fn at_message(d: &Diagnostic) -> String {
    format!("{}:{}: {}", d.loc.line, d.loc.column, d.message)
}

/// What the file should say to pass, for the failure message.
fn as_header(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&format!("# expect: {}\n", at_message(d)));
        if let Some(h) = &d.help {
            out.push_str(&format!("# help: {h}\n"));
        }
    }
    out
}

fn check_broken(name: &str) {
    let file = source(&Path::new(CORPUS).join("broken").join(name));
    let expected = expectations(&file.text);
    assert!(!expected.is_empty(), "{name} has no `# expect:` line");
    let path = file.path.clone();
    let (catalog, diags) = load_with_forms(vec![file]);
    let elsewhere: Vec<&Diagnostic> = diags.iter().filter(|d| d.file != path).collect();
    assert!(elsewhere.is_empty(), "{name}: diagnostics in other files: {elsewhere:#?}");
    let got: Vec<String> = diags.iter().map(at_message).collect();
    let want: Vec<&str> = expected.iter().map(|e| e.at_message.as_str()).collect();
    assert_eq!(got, want, "{name}: the loader said:\n{}", as_header(&diags));
    for (d, e) in diags.iter().zip(&expected) {
        if let Some(help) = &e.help {
            assert_eq!(
                d.help.as_ref(),
                Some(help),
                "{name}: help of `{}`; the loader said:\n{}",
                e.at_message,
                as_header(&diags)
            );
        }
    }
    assert!(
        catalog.processes.keys().all(|id| id.starts_with("corpus.helper")),
        "{name}: a broken process made it into the catalog: {:?}",
        catalog.processes.keys().collect::<Vec<_>>()
    );
}

/// One test per broken file, so a failure names the file; `LISTED` is checked against the
/// directory so that no file goes unchecked.
macro_rules! broken {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_broken($file);
            }
        )*
        const LISTED: &[&str] = &[$($file),*];
    };
}

broken! {
    b01_yaml_syntax_error => "01-yaml-syntax-error.yaml",
    b02_unclosed_quote => "02-unclosed-quote.yaml",
    b03_bad_indentation => "03-bad-indentation.yaml",
    b04_duplicate_step => "04-duplicate-step.yaml",
    b05_unknown_step_key => "05-unknown-step-key.yaml",
    b06_unknown_top_level_key => "06-unknown-top-level-key.yaml",
    b07_unknown_next_step => "07-unknown-next-step.yaml",
    b08_unknown_role => "08-unknown-role.yaml",
    b09_unknown_form => "09-unknown-form.yaml",
    b10_unknown_calendar => "10-unknown-calendar.yaml",
    b11_unreachable_step => "11-unreachable-step.yaml",
    b12_endless_loop => "12-endless-loop.yaml",
    b13_decision_without_default => "13-decision-without-default.yaml",
    b14_arm_after_default => "14-arm-after-default.yaml",
    b15_approval_without_reject => "15-approval-without-reject.yaml",
    b16_approval_without_approve => "16-approval-without-approve.yaml",
    b17_branch_never_joins => "17-branch-never-joins.yaml",
    b18_join_outside_branch => "18-join-outside-branch.yaml",
    b19_parallel_one_branch => "19-parallel-one-branch.yaml",
    b20_two_kinds => "20-two-kinds.yaml",
    b21_no_kind => "21-no-kind.yaml",
    b22_role_on_decision => "22-role-on-decision.yaml",
    b23_bad_duration_unit => "23-bad-duration-unit.yaml",
    b24_bad_duration_amount => "24-bad-duration-amount.yaml",
    b25_bad_warn => "25-bad-warn.yaml",
    b26_sla_without_target => "26-sla-without-target.yaml",
    b27_bad_sla_anchor => "27-bad-sla-anchor.yaml",
    b28_expression_syntax => "28-expression-syntax.yaml",
    b29_expression_undefined_variable => "29-expression-undefined-variable.yaml",
    b30_expression_unknown_field => "30-expression-unknown-field.yaml",
    b31_bad_cron => "31-bad-cron.yaml",
    b32_unknown_time_zone => "32-unknown-time-zone.yaml",
    b33_reserved_step_name => "33-reserved-step-name.yaml",
    b34_goto_in_sla => "34-goto-in-sla.yaml",
    b35_invalid_identifier => "35-invalid-identifier.yaml",
    b36_form_unknown_field_type => "36-form-unknown-field-type.yaml",
    b37_form_choice_without_options => "37-form-choice-without-options.yaml",
    b38_form_min_on_text => "38-form-min-on-text.yaml",
    b39_form_bad_pattern => "39-form-bad-pattern.yaml",
    b40_form_max_below_min => "40-form-max-below-min.yaml",
    b41_form_rule_unknown_field => "41-form-rule-unknown-field.yaml",
    b42_form_must_be_true_non_boolean => "42-form-must-be-true-non-boolean.yaml",
    b43_missing_required_key => "43-missing-required-key.yaml",
    b44_unknown_overdue_action => "44-unknown-overdue-action.yaml",
    b45_wait_for_and_until => "45-wait-for-and-until.yaml",
    b46_call_unknown_process => "46-call-unknown-process.yaml",
    b47_form_rule_unknown_target => "47-form-rule-unknown-target.yaml",
    b48_sla_until_started => "48-sla-until-started.yaml",
    b49_due_field_not_a_date => "49-due-field-not-a-date.yaml",
    b50_unknown_join_mode => "50-unknown-join-mode.yaml",
    b51_overdue_without_due => "51-overdue-without-due.yaml",
    b52_unknown_step_event => "52-unknown-step-event.yaml",
    b53_task_without_role => "53-task-without-role.yaml",
    b54_wrong_value_type => "54-wrong-value-type.yaml",
    b55_branch_ends_process => "55-branch-ends-process.yaml",
    b56_expression_folded => "56-expression-folded.yaml",
    b57_expression_quoted_escapes => "57-expression-quoted-escapes.yaml",
    b58_duplicate_form_id => "58-duplicate-form-id.yaml",
    b59_expression_too_deep => "59-expression-too-deep.yaml",
    b60_call_result_not_a_date => "60-call-result-not-a-date.yaml",
    b61_form_invalid_id => "61-form-invalid-id.yaml",
    b62_call_cycle => "62-call-cycle.yaml",
    b63_call_input_misfit => "63-call-input-misfit.yaml",
    b64_warn_after_due => "64-warn-after-due.yaml",
    b65_sla_warn_after_due => "65-sla-warn-after-due.yaml",
    b66_condition_never_holds => "66-condition-never-holds.yaml",
    b67_expression_chain_too_deep => "67-expression-chain-too-deep.yaml",
    b68_form_rule_nested_comprehensions => "68-form-rule-nested-comprehensions.yaml",
    b69_form_max_items_above_cap => "69-form-max-items-above-cap.yaml",
    b70_form_max_length_above_cap => "70-form-max-length-above-cap.yaml",
    b71_duration_too_long => "71-duration-too-long.yaml",
}

#[test]
fn every_broken_file_has_a_test() {
    let on_disk: Vec<String> =
        yaml_files("broken").iter().filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
    let mut listed: Vec<String> = LISTED.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "tests/corpus/broken and the `broken!` list differ");
}

#[test]
fn corpus_has_at_least_thirty_broken_files() {
    let n = yaml_files("broken").len();
    assert!(n >= 30, "only {n} broken files");
}

#[test]
fn expectation_headers_are_read() {
    let e = expectations("# expect: 7:11: unknown step `responde`\n# help: did you mean `responder`?\nprocess: x\n");
    assert_eq!(
        e,
        vec![Expected {
            at_message: "7:11: unknown step `responde`".into(),
            help: Some("did you mean `responder`?".into())
        }]
    );
}

fn clean_files() -> Vec<SourceFile> {
    yaml_files("clean").iter().map(|p| source(p)).collect()
}

#[test]
fn clean_corpus_loads_without_diagnostics() {
    let (catalog, diags) = load_with_forms(clean_files());
    assert!(diags.is_empty(), "{}", as_header(&diags));
    assert!(catalog.processes.contains_key("corpus.completo"), "{:?}", catalog.processes.keys());
    assert!(catalog.processes.contains_key("corpus.encuesta"));
    assert!(catalog.forms.contains_key("completo"));
}

#[test]
fn clean_corpus_uses_every_step_kind() {
    let (catalog, _) = load_with_forms(clean_files());
    let p = &catalog.processes["corpus.completo"];
    let mut kinds: Vec<&str> = p.steps.iter().map(|s| s.kind.name()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds, ["approval", "call", "decision", "end", "parallel", "task", "wait"]);
    assert_eq!(p.slas.len(), 3);
    assert_eq!(p.schedules.len(), 2);
}

const LANGUAGE_DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/language.md");

/// The fenced blocks of `lang` in a Markdown text, with the line before each fence.
fn fenced_blocks<'a>(markdown: &'a str, lang: &str) -> Vec<(&'a str, String)> {
    let mut out = Vec::new();
    let mut lines = markdown.lines();
    let mut before = "";
    while let Some(line) = lines.next() {
        if line.trim_end() == format!("```{lang}") {
            let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim_end() != "```").collect();
            out.push((before, body.join("\n") + "\n"));
        }
        before = line;
    }
    out
}

/// The first key of a YAML text, after comments.
fn first_key(text: &str) -> &str {
    text.lines().find(|l| !l.trim().is_empty() && !l.starts_with('#')).and_then(|l| l.split(':').next()).unwrap_or("")
}

/// The complete processes and forms in docs/language.md load without a diagnostic.
#[test]
fn language_doc_examples_load() {
    let doc = fs::read_to_string(LANGUAGE_DOC).expect("docs/language.md");
    let files: Vec<SourceFile> = fenced_blocks(&doc, "yaml")
        .into_iter()
        .map(|(_, text)| text)
        .filter(|text| matches!(first_key(text), "process" | "form"))
        .enumerate()
        .map(|(i, text)| SourceFile { path: format!("docs/language.md#example-{}", i + 1), text })
        .collect();
    let processes = files.iter().filter(|f| first_key(&f.text) == "process").count();
    let forms = files.len() - processes;
    assert!(processes >= 3 && forms >= 5, "{processes} processes, {forms} forms in docs/language.md");
    let (catalog, diags) = load(&files, calendars());
    assert!(diags.is_empty(), "{}", diags.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
    assert_eq!((catalog.processes.len(), catalog.forms.len()), (processes, forms));
}

/// The error shown in docs/language.md is what the loader prints for that corpus file.
#[test]
fn language_doc_error_example_is_real() {
    let doc = fs::read_to_string(LANGUAGE_DOC).expect("docs/language.md");
    let examples: Vec<(String, String)> = fenced_blocks(&doc, "text")
        .into_iter()
        .filter_map(|(before, body)| {
            let name = before.trim().strip_prefix("<!-- corpus: ")?.strip_suffix(" -->")?;
            Some((name.to_string(), body))
        })
        .collect();
    assert!(!examples.is_empty(), "no `<!-- corpus: … -->` example in docs/language.md");
    for (name, shown) in examples {
        let file = source(&Path::new(CORPUS).join("broken").join(&name));
        let text = file.text.clone();
        let (_, diags) = load_with_forms(vec![file]);
        let rendered: Vec<String> = diags
            .into_iter()
            .map(|mut d| {
                d.file = format!("tests/corpus/broken/{name}");
                d.render(Some(&text))
            })
            .collect();
        assert_eq!(rendered.join("\n\n") + "\n", shown, "docs/language.md shows another error for {name}");
    }
}

/// A way to damage a file.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR one byte (the text is then read back lossily as UTF-8).
    Flip { at: usize, mask: u8 },
    /// Cut the file at a byte.
    Truncate { at: usize },
    /// Remove one line.
    DeleteLine { line: usize },
    /// Repeat one line.
    DuplicateLine { line: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        any::<usize>().prop_map(|line| Mutation::DeleteLine { line }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    match *m {
        Mutation::Flip { at, mask } if !bytes.is_empty() => {
            let i = at % bytes.len();
            bytes[i] ^= mask;
        }
        Mutation::Truncate { at } => bytes.truncate(at % (bytes.len() + 1)),
        Mutation::DeleteLine { line } if !lines.is_empty() => {
            lines.remove(line % lines.len());
            bytes = lines.concat().into_bytes();
        }
        Mutation::DuplicateLine { line } if !lines.is_empty() => {
            let i = line % lines.len();
            lines.insert(i, lines[i]);
            bytes = lines.concat().into_bytes();
        }
        _ => {}
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Damaged definitions never panic the loader, and every diagnostic points into the file.
    #[test]
    fn damaged_definitions_never_panic(
        target in 0..2usize,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut files = clean_files();
        let name = ["clean/completo.yaml", "clean/completo-form.yaml"][target];
        let file = files.iter_mut().find(|f| f.path == name).unwrap_or_else(|| panic!("{name} missing"));
        for m in &mutations {
            file.text = apply(&file.text, m);
        }
        let lines = file.text.lines().count() as u64;
        let (_, diags) = load_with_forms(files);
        for d in &diags {
            prop_assert!(d.loc.line >= 1 && d.loc.column >= 1, "{d}");
            if d.file == name {
                prop_assert!(d.loc.line <= lines + 1, "{d} is past the end of a {lines}-line file");
            }
        }
    }
}

/// The property above is only worth something if damage is noticed: cutting the clean process
/// in half must produce a diagnostic in that file.
#[test]
fn damage_is_reported() {
    let mut files = clean_files();
    let file = files.iter_mut().find(|f| f.path == "clean/completo.yaml").expect("clean/completo.yaml");
    file.text = apply(&file.text, &Mutation::Truncate { at: file.text.len() / 2 });
    let (catalog, diags) = load_with_forms(files);
    assert!(diags.iter().any(|d| d.file == "clean/completo.yaml"), "{diags:#?}");
    assert!(!catalog.processes.contains_key("corpus.completo"));
}
