use serde::Deserialize;
use serde_saphyr::Spanned;
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step { task: Option<Spanned<String>>, role: Option<Spanned<String>>, next: Option<Spanned<String>> }
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc { process: Spanned<String>, steps: std::collections::BTreeMap<String, Spanned<Step>> , n: Option<Spanned<u32>>}
fn main() {
    for src in [
        "process: a\nsteps:\n  x:\n    task: hola\n    rol: op\n",
        "process: a\nsteps:\n  x:\n    task: [1]\n",
        "process: a\nsteps:\n  x:\n    task: hola\n  x:\n    task: b\n",
        "process: a\nsteps:\n  x:\n    task: 'hola\n",
        "process: a\nn: abc\nsteps: {}\n",
        "process: a\n",
    ] {
        match serde_saphyr::from_str::<Doc>(src) {
            Ok(d) => println!("OK {:?}", d),
            Err(e) => { let l = e.location(); println!("ERR {:?} | {} ", l.map(|l|(l.line(),l.column())), e.without_snippet()); }
        }
    }
}
