//! Messages of a process (`send:`) and tasks answered by link (`link:`): when a message goes
//! out, to whom, with which files and link, as scenarios see them; and what the loader refuses.

use std::collections::BTreeMap;

use tramite_engine::calendar::{self, Calendar};
use tramite_engine::definition::{self, Catalog, SourceFile};
use tramite_engine::diagnostic::Diagnostic;
use tramite_engine::scenario;

const PROCESS: &str = r#"
process: prueba.mensajes
title: Mensajes
calendar: mx
roles:
  agente: Agente
  jefe: Jefe
start:
  form: alta
steps:
  responder:
    task: Responder
    role: agente
    form: respuesta
    send:
      - template: respuesta
        to: data.correo
        attach: [adjunto]
      - template: aviso
        roles: [jefe]
        if: data.urgente
    next: encuesta
  encuesta:
    task: Contestar la encuesta
    role: agente
    form: encuesta
    link: 5 business days
    due: 5 business days
    warn: after 3 business days
    on_warning: [send: { template: recordatorio, to: data.correo, link: encuesta }]
    send:
      - template: invitacion
        to: data.correo
        link: encuesta
        on: entered
    next: end
"#;

const FORMS: [(&str, &str); 3] = [
    (
        "alta.yaml",
        "form: alta\ntitle: Alta\nfields:\n  correo: { type: email, label: Correo }\n  urgente: { type: boolean, label: Urgente }\n",
    ),
    (
        "respuesta.yaml",
        "form: respuesta\ntitle: Respuesta\nfields:\n  texto: { type: long_text, label: Texto, required: true }\n  adjunto: { type: file, label: Adjunto }\n",
    ),
    (
        "encuesta.yaml",
        "form: encuesta\ntitle: Encuesta\nfields:\n  nota: { type: integer, label: Nota, min: 1, max: 5 }\n",
    ),
];

const TEMPLATES: [(&str, &str); 4] = [
    ("messages/respuesta.hbs", "Respuesta {{folio}}\n\n{{data.texto}}\n"),
    ("messages/aviso.hbs", "Urgente {{folio}}\n"),
    ("messages/invitacion.hbs", "Encuesta\n\n{{link}} (vence {{link_expires}})\n"),
    ("messages/recordatorio.hbs", "Recordatorio\n\n{{link}}\n"),
];

fn files(process: &str) -> Vec<SourceFile> {
    let mut out = vec![SourceFile { path: "prueba.yaml".into(), text: process.into() }];
    out.extend(FORMS.iter().map(|(p, t)| SourceFile { path: (*p).into(), text: (*t).into() }));
    out.extend(TEMPLATES.iter().map(|(p, t)| SourceFile { path: (*p).into(), text: (*t).into() }));
    out
}

fn load(process: &str) -> (Catalog, Vec<Diagnostic>) {
    let calendars: BTreeMap<String, Calendar> = [("mx".to_string(), calendar::builtin("mx").unwrap())].into();
    definition::load(&files(process), calendars)
}

const SCENARIOS: &str = r#"
test: prueba.mensajes
users:
  ana: [agente]
  jorge: [jefe]
scenarios:
  - name: La respuesta va al correo del caso, el aviso al jefe solo si es urgente; la encuesta por enlace
    start:
      at: 2026-03-11T10:00:00-06:00
      data: { correo: juana@example.org, urgente: true }
    steps:
      - expect: { emails: [assigned -> ana] }
      - complete: responder
        as: ana
        data: { texto: Consulte el portal. }
      - expect:
          active: [encuesta]
          emails: [respuesta -> juana@example.org, aviso -> jorge, assigned -> ana, invitacion -> juana@example.org]
      # Three business days after the 11th: 12, 13 and 17 (the 16th is a holiday).
      - advance_to: 2026-03-17T18:00:00-06:00
      # The warning's own actions replace telling the task's role.
      - expect: { emails: [recordatorio -> juana@example.org] }
  - name: Sin correo en el caso y sin urgencia, nadie recibe mensajes del proceso
    start:
      at: 2026-03-11T10:00:00-06:00
      data: { urgente: false }
    steps:
      - complete: responder
        as: ana
        data: { texto: Consulte el portal. }
      - expect: { emails: [assigned -> ana, assigned -> ana] }
"#;

#[test]
fn messages_go_out_when_steps_complete_or_are_entered_and_on_warnings() {
    let (catalog, diags) = load(PROCESS);
    assert!(diags.is_empty(), "{diags:?}");
    let failures: Vec<String> = scenario::run_file("prueba.test.yaml", SCENARIOS, &catalog)
        .into_iter()
        .flat_map(|r| r.failures.into_iter().map(move |d| format!("{}: {}", r.name, d.message)))
        .collect();
    assert_eq!(failures, Vec::<String>::new());
}

#[test]
fn the_sent_event_carries_addresses_files_and_the_link() {
    use tramite_engine::machine::{self, Command, Env, Event};
    let (catalog, _) = load(PROCESS);
    let p = &catalog.processes["prueba.mensajes"];
    let cal = calendar::builtin("mx").unwrap();
    let env = Env { process: p, calendar: &cal, forms: &catalog.forms };
    let at: jiff::Timestamp = "2026-03-11T16:00:00Z".parse().unwrap();
    let data = serde_json::json!({ "correo": "juana@example.org", "urgente": false });
    let (inst, _) = machine::start(env, "i1", data.as_object().unwrap().clone(), None, at).unwrap();
    let task = inst.tokens.values().find(|t| t.step == "responder").unwrap().id;
    let file = serde_json::json!({ "name": "r.pdf", "sha256": "a".repeat(64), "size": 3, "type": "application/pdf" });
    let answer = serde_json::json!({ "texto": "Hola", "adjunto": file });
    let cmd = Command::Complete { task, data: answer.as_object().unwrap().clone() };
    let (inst, records) = machine::execute(env, &inst, None, cmd, at).unwrap();
    let sent: Vec<&Event> = records.iter().map(|r| &r.event).filter(|e| matches!(e, Event::Sent { .. })).collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    let Event::Sent { template, to, attach, link, .. } = sent[0] else { unreachable!() };
    assert_eq!((template.as_str(), to.as_slice()), ("respuesta", ["juana@example.org".to_string()].as_slice()));
    assert_eq!(attach, &vec![file]);
    assert!(link.is_none());
    // The invitation links to the survey task the same command opened, for 5 business days.
    let Event::Sent { template, link: Some(link), .. } = sent[1] else { panic!("{sent:?}") };
    assert_eq!(template, "invitacion");
    let survey = inst.tokens.values().find(|t| t.step == "encuesta").unwrap().id;
    assert_eq!(link.token, survey);
    // Monday 16 March 2026 is a holiday in Mexico (Benito Juárez): 12, 13, 17, 18, 19.
    assert_eq!(link.expires, "2026-03-19T18:00:00-06:00".parse::<jiff::Timestamp>().unwrap());
}

fn problems(process: &str) -> Vec<String> {
    load(process).1.iter().map(|d| d.to_string()).collect()
}

#[test]
fn the_loader_refuses_what_a_message_cannot_do() {
    let cases = [
        ("template: respuesta", "template: respuest", "unknown template `respuest`"),
        ("to: data.correo\n        attach", "to: data.corre\n        attach", "`data.corre` is not a field"),
        ("attach: [adjunto]", "attach: [texto]", "`texto` is a `long_text` field, not a file"),
        ("roles: [jefe]", "roles: [jefa]", "unknown role `jefa`"),
        (
            "        link: encuesta\n        on: entered",
            "        link: responder\n        on: entered",
            "step `responder` cannot be answered by link",
        ),
        ("        on: entered", "        on: leaving", "unknown `on: leaving`"),
        ("    form: encuesta\n    link:", "    form: respuesta\n    link:", "a task answered by link takes no files"),
        (
            "on_warning: [send: { template: recordatorio,",
            "on_warning: [send: { on: entered, template: recordatorio,",
            "`on` applies to a step's `send`",
        ),
        ("      - template: aviso\n        roles: [jefe]\n", "      - template: aviso\n", "the message goes to no one"),
    ];
    for (from, to, want) in cases {
        assert!(PROCESS.contains(from), "{from}");
        let p = problems(&PROCESS.replacen(from, to, 1));
        assert!(p.iter().any(|d| d.contains(want)), "{to}: want `{want}` in {p:#?}");
    }
}

#[test]
fn a_public_start_form_takes_no_files_and_fills_a_datetime_field() {
    let public =
        PROCESS.replace("start:\n  form: alta\n", "start:\n  form: respuesta\n  public: { received: texto }\n");
    let p = problems(&public);
    assert!(p.iter().any(|d| d.contains("a public start form takes no files")), "{p:#?}");
    assert!(p.iter().any(|d| d.contains("`texto` is a `long_text` field; this needs datetime")), "{p:#?}");
}
