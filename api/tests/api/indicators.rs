//! The shipped procedures' indicators, on SQLite and PostgreSQL: the repository's tree
//! (processes/, forms/, calendars/) deployed on a manual clock, a fixed set of cases run through
//! `tramite::app`, and `app::indicators` compared with values worked out by hand in each test
//! (the arithmetic is in the comments). Also: `tramite check` points at what is wrong in an
//! indicators file.

use crate::common;
use crate::in_process;

use std::process::Command;

use common::{BIN, Db, repo};
use in_process::App;
use serde_json::{Map, Value, json};
use tramite::app::{self, Answer, IndicatorView};
use tramite_engine::machine::Actor;

/// The shipped tree deployed on a fresh database, and the clock it runs on.
struct Bench {
    app: App,
}

/// One value of an indicator as the tests write it: period, group, value (6 decimals), count.
type Pt = (String, String, Option<f64>, i64);

fn pt(period: &str, group: &str, value: Option<f64>, n: i64) -> Pt {
    (period.to_string(), group.to_string(), value.map(round), n)
}

fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

impl Bench {
    async fn new(db: &Db, name: &str) -> Bench {
        let app = App::new(db, name, &[]).await;
        let d = app.rt.deploy_paths(&[repo().join("processes")]).await.unwrap();
        assert!(
            d.not_deployed.is_empty(),
            "not deployed: {:?}",
            d.not_deployed.iter().map(|n| &n.rendered).collect::<Vec<_>>()
        );
        Bench { app }
    }

    /// Sets the clock to `t` (RFC 3339).
    fn at(&self, t: &str) {
        self.app.clock.set(t.parse().unwrap());
    }

    async fn start(&self, who: &Actor, process: &str, data: Value) -> String {
        let (view, _) = app::start(&self.app.rt, who, process, object(data), None)
            .await
            .unwrap_or_else(|e| panic!("start {process}: {e:?}"));
        view.id
    }

    /// The open task at `step` of instance `inst` (the first, in token order).
    async fn task(&self, inst: &str, step: &str) -> String {
        let stored = self.app.rt.instance(inst).await.unwrap();
        let tokens = &stored.state.tokens;
        let found = tokens.iter().find(|(_, t)| t.step == step && t.task.is_some()).map(|(id, _)| *id);
        let Some(token) = found else {
            let open: Vec<&str> = tokens.values().map(|t| t.step.as_str()).collect();
            panic!("no task at {step} in {inst}; open: {open:?}")
        };
        format!("{inst}.{token}")
    }

    /// Completes the task at `step` with `data`.
    async fn done(&self, who: &Actor, inst: &str, step: &str, data: Value) {
        let id = self.task(inst, step).await;
        let answer = Answer { data: object(data), ..Default::default() };
        app::submit(&self.app.rt, who, &id, answer).await.unwrap_or_else(|e| panic!("{step} of {inst}: {e:?}"));
    }

    /// The child a call step of `inst` started.
    async fn child(&self, inst: &str, step: &str) -> String {
        let stored = self.app.rt.instance(inst).await.unwrap();
        let t = stored.state.tokens.values().find(|t| t.step == step).unwrap_or_else(|| panic!("no {step}"));
        t.call.as_ref().and_then(|c| c.child.clone()).unwrap_or_else(|| panic!("{step} started no child"))
    }

    async fn outcome(&self, inst: &str) -> String {
        let stored = self.app.rt.instance(inst).await.unwrap();
        match stored.state.status {
            tramite_engine::machine::Status::Ended { outcome } => outcome,
            other => panic!("{inst} is {other:?}"),
        }
    }

    async fn indicators(&self, process: &str) -> Vec<IndicatorView> {
        app::indicators(&self.app.rt, &Actor::admin("owner"), process, None, None).await.unwrap()
    }
}

/// The indicator `id` of `views`.
fn view<'a>(views: &'a [IndicatorView], id: &str) -> &'a IndicatorView {
    views.iter().find(|v| v.id == id).unwrap_or_else(|| panic!("no indicator {id}"))
}

/// Its values as [`Pt`]s, in the order the database gives them (period, then group).
fn points(views: &[IndicatorView], id: &str) -> Vec<Pt> {
    view(views, id).points.iter().map(|p| (p.period.clone(), p.group.clone(), p.value.map(round), p.n)).collect()
}

/// Whether each value meets the target, in order.
fn meets(views: &[IndicatorView], id: &str) -> Vec<Option<bool>> {
    view(views, id).points.iter().map(|p| p.meets_target).collect()
}

/// Runs each test once per backend.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                super::$name(Db::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(Db::Postgres).await;
            }
        }
    )*};
}

on_both!(c41_calls, c45_replies, ces_satisfaction, call_handling_time, call_audit_quality, udg_incidents_and_survey);

/// C.4.1 6.1 and 8.1 on the `mx` calendar (UTC−6): total calls, average time per call, calls
/// per operator, by consultation category, share attended at once.
async fn c41_calls(db: Db) {
    let b = Bench::new(&db, "ind-c41").await;
    let (ana, beto) = (Actor::new("ana", &["operador"]), Actor::new("beto", &["operador"]));
    let p = "conocer.c41-centro-contacto";
    let persona = |medio: &str| {
        json!({ "nombre": "Juana Pérez", "sexo": "mujer", "localidad": "Toluca", "ocupacion": "estudiante",
                "escolaridad": "licenciatura", "medio_enterado": medio })
    };
    let solicitud = |categoria: &str, inmediata: bool| {
        json!({ "solicitud": "¿Cómo me certifico?", "tipo": "informacion", "categoria": categoria,
                "atencion_inmediata": inmediata })
    };
    // One call: registered by `op` at `start`, typed, and closed `minutes` later (by `op`).
    let call = |op: Actor, start: &'static str, minutes: i64, categoria: &'static str, inmediata: bool| {
        let b = &b;
        async move {
            b.at(start);
            let id = b.start(&op, p, json!({ "fecha_llamada": start })).await;
            b.done(&op, &id, "registrar_datos", persona("internet")).await;
            b.done(&op, &id, "determinar_tipo", solicitud(categoria, inmediata)).await;
            b.app.advance(minutes * 60);
            if inmediata {
                b.done(&op, &id, "atender_solicitud", json!({ "atencion": "Pasos del proceso" })).await;
            } else {
                let especialista =
                    json!({ "especialista": "Lic. Ramos", "area": "Registros", "contacto_especialista": "ext. 204" });
                b.done(&op, &id, "canalizar_especialista", especialista).await;
            }
            id
        }
    };
    call(ana.clone(), "2026-03-02T15:00:00Z", 6, "pasos_certificacion", true).await;
    call(beto.clone(), "2026-03-03T16:00:00Z", 10, "conocer_snc", false).await;
    call(ana.clone(), "2026-03-04T17:00:00Z", 8, "pasos_certificacion", true).await;
    call(beto.clone(), "2026-04-01T15:00:00Z", 12, "red_prestadores", true).await;
    // A fifth call in April, still open after its caller's data (no category yet).
    b.at("2026-04-02T16:00:00Z");
    let open = b.start(&ana, p, json!({ "fecha_llamada": "2026-04-02T16:00:00Z" })).await;
    b.done(&ana, &open, "registrar_datos", persona("amistad")).await;

    let v = b.indicators(p).await;
    // Every call counts in the month it came in: 3 in March, 2 in April (one still open).
    assert_eq!(points(&v, "llamadas_totales"), [pt("2026-03", "", Some(3.0), 3), pt("2026-04", "", Some(2.0), 2)]);
    // March: (6 + 10 + 8) / 3 = 8 minutes; April: the closed call only, 12 minutes.
    assert_eq!(
        points(&v, "tiempo_promedio_llamada"),
        [pt("2026-03", "", Some(8.0), 3), pt("2026-04", "", Some(12.0), 1)]
    );
    // Calls per operator (who registered the caller's data), in the month of that task.
    assert_eq!(
        points(&v, "llamadas_por_asesor"),
        [
            pt("2026-03", "ana", Some(2.0), 2),
            pt("2026-03", "beto", Some(1.0), 1),
            pt("2026-04", "ana", Some(1.0), 1),
            pt("2026-04", "beto", Some(1.0), 1),
        ]
    );
    assert_eq!(view(&v, "llamadas_por_asesor").of, "tasks");
    // 8.1 by category; the open April call has none yet (empty group).
    assert_eq!(
        points(&v, "llamadas_por_categoria"),
        [
            pt("2026-03", "conocer_snc", Some(1.0), 1),
            pt("2026-03", "pasos_certificacion", Some(2.0), 2),
            pt("2026-04", "", Some(1.0), 1),
            pt("2026-04", "red_prestadores", Some(1.0), 1),
        ]
    );
    assert_eq!(
        points(&v, "medio_enterado"),
        [
            pt("2026-03", "internet", Some(3.0), 3),
            pt("2026-04", "amistad", Some(1.0), 1),
            pt("2026-04", "internet", Some(1.0), 1)
        ]
    );
    // Attended at once: March 2 of 3 typed calls → 0.666667; April 1 of 1 (the open call is not
    // typed yet, so `where: has(data.atencion_inmediata)` leaves it out).
    assert_eq!(
        points(&v, "atendidas_de_inmediato"),
        [pt("2026-03", "", Some(2.0 / 3.0), 3), pt("2026-04", "", Some(1.0), 1)]
    );
    assert!(view(&v, "atendidas_de_inmediato").share);
    // A period range: April only.
    let april = app::indicators(&b.app.rt, &Actor::admin("owner"), p, Some("2026-04"), Some("2026-04")).await.unwrap();
    assert_eq!(points(&april, "llamadas_totales"), [pt("2026-04", "", Some(2.0), 2)]);
}

/// C.4.5 on the `mx` calendar (UTC−6; Monday 16 March 2026 is a holiday): replies within two
/// business days (SLA), the average and 90th percentile of the reply time in business days and
/// hours, e-mails per topic, the specialist's share, replies per operator, and the cases behind
/// the SLA's March value.
async fn c45_replies(db: Db) {
    let b = Bench::new(&db, "ind-c45").await;
    let (ana, beto) = (Actor::new("ana", &["operador"]), Actor::new("beto", &["operador"]));
    let p = "conocer.c45-correos";
    let correo = |received: &str| {
        json!({ "fecha_recepcion": received, "nombre_contacto": "Juana Pérez", "correo": "juana@example.org",
                "pregunta": "¿Cómo me certifico?" })
    };
    let tipo = |tema: &str| json!({ "tipo": "informacion", "tema": tema, "atencion_inmediata": true });
    let respuesta = json!({ "respuesta": "Estos son los pasos." });
    // An e-mail received (and registered) at `received`, typed at once and answered by `op` at
    // `replied`.
    let answered = |op: Actor, received: &'static str, replied: &'static str, tema: &'static str| {
        let (b, respuesta) = (&b, respuesta.clone());
        async move {
            b.at(received);
            let id = b.start(&op, p, correo(received)).await;
            b.done(&op, &id, "determinar_tipo", tipo(tema)).await;
            b.at(replied);
            b.done(&op, &id, "responder", respuesta).await;
            id
        }
    };
    // M1 Mon 2 Mar 10:00 → Tue 3 Mar 12:00: 1 business day; 8 h (Mon 10–18) + 3 h (Tue 9–12) = 11 h.
    let m1 = answered(ana.clone(), "2026-03-02T10:00:00-06:00", "2026-03-03T12:00:00-06:00", "Certificación").await;
    // M2 Wed 4 Mar 11:00 → Thu 5 Mar 17:00: 1 business day; 7 h + 8 h = 15 h.
    let m2 = answered(ana.clone(), "2026-03-04T11:00:00-06:00", "2026-03-05T17:00:00-06:00", "Certificación").await;
    // M3 Thu 12 Mar 10:00, through the specialist, replied Wed 18 Mar 10:00: Fri 13, Tue 17 and
    // Wed 18 (Mon 16 is a holiday) → 3 business days, late; 8 h + 9 h + 9 h + 1 h = 27 h.
    b.at("2026-03-12T10:00:00-06:00");
    let m3 = b.start(&beto, p, correo("2026-03-12T10:00:00-06:00")).await;
    let escalado = json!({ "tipo": "aclaracion", "tema": "Registro", "atencion_inmediata": false,
                           "apoyo": "especialista", "especialista": "jlopez" });
    b.done(&beto, &m3, "determinar_tipo", escalado).await;
    b.at("2026-03-17T12:00:00-06:00");
    let jlopez = Actor::new("jlopez", &["especialista"]);
    b.done(&jlopez, &m3, "apoyo_especialista", json!({ "informacion_especialista": "El registro tarda 5 días." }))
        .await;
    b.at("2026-03-18T10:00:00-06:00");
    b.done(&beto, &m3, "responder", respuesta.clone()).await;
    // M4 Fri 20 Mar 17:00 → Mon 23 Mar 10:00: 1 business day; 1 h + 1 h = 2 h.
    let m4 = answered(ana.clone(), "2026-03-20T17:00:00-06:00", "2026-03-23T10:00:00-06:00", "Certificación").await;
    // M5 Wed 25 Mar, typed, not answered yet: its SLA still runs and it has no reply time.
    b.at("2026-03-25T10:00:00-06:00");
    let m5 = b.start(&ana, p, correo("2026-03-25T10:00:00-06:00")).await;
    b.done(&ana, &m5, "determinar_tipo", tipo("Registro")).await;
    // M6 Wed 1 Apr 09:30 → 12:30 the same day: 0 business days, 3 h.
    answered(ana.clone(), "2026-04-01T09:30:00-06:00", "2026-04-01T12:30:00-06:00", "Pagos").await;

    let v = b.indicators(p).await;
    assert_eq!(points(&v, "correos_totales"), [pt("2026-03", "", Some(5.0), 5), pt("2026-04", "", Some(1.0), 1)]);
    // March: M1, M2 and M4 in time, M3 late, M5 still running → 3 of 4 = 0.75, below 100 %.
    // April: 1 of 1.
    assert_eq!(points(&v, "respuesta_en_plazo"), [pt("2026-03", "", Some(0.75), 4), pt("2026-04", "", Some(1.0), 1)]);
    assert_eq!(meets(&v, "respuesta_en_plazo"), [Some(false), Some(true)]);
    assert_eq!(view(&v, "respuesta_en_plazo").target, Some(1.0));
    // March: (1 + 1 + 3 + 1) / 4 = 1.5 business days, within the target of 2 (lower is better).
    assert_eq!(points(&v, "tiempo_respuesta"), [pt("2026-03", "", Some(1.5), 4), pt("2026-04", "", Some(0.0), 1)]);
    assert_eq!(meets(&v, "tiempo_respuesta"), [Some(true), Some(true)]);
    assert!(!view(&v, "tiempo_respuesta").higher_is_better);
    // 90th percentile, nearest rank: March [2, 11, 15, 27] h, rank ⌈4 × 0.9⌉ = 4 → 27 h; April 3 h.
    assert_eq!(points(&v, "tiempo_respuesta_p90"), [pt("2026-03", "", Some(27.0), 4), pt("2026-04", "", Some(3.0), 1)]);
    assert_eq!(
        points(&v, "correos_por_tema"),
        [
            pt("2026-03", "Certificación", Some(3.0), 3),
            pt("2026-03", "Registro", Some(2.0), 2),
            pt("2026-04", "Pagos", Some(1.0), 1)
        ]
    );
    // The specialist helped with 1 of the 5 typed March e-mails → 0.2.
    assert_eq!(
        points(&v, "con_apoyo_especialista"),
        [pt("2026-03", "", Some(0.2), 5), pt("2026-04", "", Some(0.0), 1)]
    );
    assert_eq!(
        points(&v, "respuestas_por_operador"),
        [pt("2026-03", "ana", Some(3.0), 3), pt("2026-03", "beto", Some(1.0), 1), pt("2026-04", "ana", Some(1.0), 1)]
    );

    // The cases behind March's 0.75, newest first: M4, M3 (late: 0), M2, M1; M5 does not count.
    let owner = Actor::admin("owner");
    let cases = app::indicator_cases(&b.app.rt, &owner, p, "respuesta_en_plazo", "2026-03", "").await.unwrap();
    let got: Vec<(&str, f64)> = cases.iter().map(|c| (c.instance_id.as_str(), c.value)).collect();
    assert_eq!(got, [(m4.as_str(), 1.0), (m3.as_str(), 0.0), (m2.as_str(), 1.0), (m1.as_str(), 1.0)]);
    assert!(cases.iter().all(|c| c.folio.as_deref().is_some_and(|f| f.starts_with("COR-2026-"))), "{cases:?}");
    let unknown = app::indicator_cases(&b.app.rt, &owner, p, "no_existe", "2026-03", "").await;
    assert!(matches!(unknown, Err(app::AppError::NotFound(_))), "{unknown:?}");
    // Someone who may not read the process sees none of it.
    let outsider = Actor::new("zoe", &["gerente_centros"]);
    assert!(app::indicators(&b.app.rt, &outsider, p, None, None).await.is_err());
}

/// CES PR-ME-002 on the `co` calendar: satisfaction per service attribute (average, target 4),
/// share satisfied, the median of `oportunidad`, contacts per channel and cases per outcome.
async fn ces_satisfaction(db: Db) {
    let b = Bench::new(&db, "ind-ces").await;
    let agente = Actor::new("agente1", &["agente"]);
    let p = "ces.atencion-usuario";
    let contacto = |servicio: &str, usuario: &str| json!({ "canal": "telefono", "tipo_servicio": servicio, "tipo_usuario": usuario, "necesidad": "Información" });
    let protocolo = |datos: bool| {
        json!({ "saludo": true, "necesidad_identificada": true, "guion_habeas_data": true,
                "requiere_datos": datos, "autoriza_datos": datos })
    };
    let tramite = json!({ "situacion_dificil": "ninguna", "resultado": "resuelta", "requiere_seguimiento": true,
                          "respuesta": "Información brindada", "programa": "no_aplica", "en_entrevista": false });
    let datos = json!({ "autorizacion_habeas_data": true, "nombre": "Ana Ruiz", "correo": "ana@example.org" });
    // A contact followed up and rated (amabilidad, calidad, oportunidad) at `step` by `who`.
    let rated = |servicio: &'static str, usuario: &'static str, step: &'static str, who: Actor, r: [i64; 3]| {
        let (b, agente, tramite, datos) = (&b, agente.clone(), tramite.clone(), datos.clone());
        async move {
            let id = b.start(&agente, p, contacto(servicio, usuario)).await;
            b.done(&agente, &id, "atender_telefono", protocolo(true)).await;
            b.done(&agente, &id, "registrar_datos", datos).await;
            b.done(&agente, &id, "tramitar", tramite).await;
            let mut answer = json!({ "amabilidad": r[0], "calidad_informacion": r[1], "oportunidad": r[2] });
            if step != "encuesta_mailing" {
                answer["instrumento"] = json!("visita");
            }
            b.done(&who, &id, step, answer).await;
            id
        }
    };
    let gerente = Actor::new("gerente", &["gerente_centros"]);
    let analista = Actor::new("analista", &["analista_mercadeo"]);
    b.at("2026-03-03T14:00:00Z");
    let c1 = rated("centro_servicios", "paciente", "evaluar_centro", gerente.clone(), [5, 4, 4]).await;
    b.at("2026-03-10T14:00:00Z");
    let c2 = rated("centro_servicios", "paciente", "evaluar_centro", gerente, [3, 4, 2]).await;
    b.at("2026-03-17T14:00:00Z");
    let c3 = rated("academico", "aspirante", "encuesta_mailing", analista, [4, 5, 5]).await;
    // A fourth contact with no personal data: no follow-up, no rating.
    b.at("2026-03-24T14:00:00Z");
    let c4 = b.start(&agente, p, contacto("centro_servicios", "paciente")).await;
    b.done(&agente, &c4, "atender_telefono", protocolo(false)).await;
    b.done(&agente, &c4, "tramitar", tramite.clone()).await;
    assert_eq!(b.outcome(&c1).await, "atendido_satisfecho");
    assert_eq!(b.outcome(&c3).await, "atendido_satisfecho");
    assert_eq!(b.outcome(&c4).await, "atendido");
    b.task(&c2, "analizar_resultados").await;

    let v = b.indicators(p).await;
    // Amabilidad: centros (5 + 3) / 2 = 4 (meets 4), académico 4; the unrated contact adds none.
    assert_eq!(
        points(&v, "amabilidad"),
        [pt("2026-03", "academico", Some(4.0), 1), pt("2026-03", "centro_servicios", Some(4.0), 2)]
    );
    assert_eq!(meets(&v, "amabilidad"), [Some(true), Some(true)]);
    // Calidad de la información: centros (4 + 4) / 2 = 4, académico 5.
    assert_eq!(
        points(&v, "calidad_informacion"),
        [pt("2026-03", "academico", Some(5.0), 1), pt("2026-03", "centro_servicios", Some(4.0), 2)]
    );
    // Oportunidad: centros (4 + 2) / 2 = 3, below 4; académico 5.
    assert_eq!(
        points(&v, "oportunidad"),
        [pt("2026-03", "academico", Some(5.0), 1), pt("2026-03", "centro_servicios", Some(3.0), 2)]
    );
    assert_eq!(meets(&v, "oportunidad"), [Some(true), Some(false)]);
    // Satisfied (all three 4 or 5): c1 and c3 of the three rated → 2/3.
    assert_eq!(points(&v, "satisfechos"), [pt("2026-03", "", Some(2.0 / 3.0), 3)]);
    // Median of oportunidad in Q1: [2, 4, 5], rank ⌈3 × 0.5⌉ = 2 → 4.
    assert_eq!(points(&v, "oportunidad_mediana"), [pt("2026-Q1", "", Some(4.0), 3)]);
    assert_eq!(points(&v, "contactos_por_canal"), [pt("2026-03", "telefono", Some(4.0), 4)]);
    // Outcomes: c2 still at its analysis (no outcome yet), c4 attended, c1 and c3 satisfied.
    assert_eq!(
        points(&v, "evaluaciones_por_resultado"),
        [
            pt("2026-03", "", Some(1.0), 1),
            pt("2026-03", "atendido", Some(1.0), 1),
            pt("2026-03", "atendido_satisfecho", Some(2.0), 2)
        ]
    );
}

/// The advisor's calls (M2982001-1) on the `pe` calendar (UTC−5, 08:30–16:30): the average
/// handling time per advisor (a task indicator grouped by user), the service's TMO, the 90th
/// percentile of the wait, and calls registered the same business day (SLA).
async fn call_handling_time(db: Db) {
    let b = Bench::new(&db, "ind-tmo").await;
    let p = "auditoria.atencion-llamadas";
    let (rosa, luis) = (Actor::new("rosa", &["asesor"]), Actor::new("luis", &["asesor"]));
    let inicio = |t: &str| json!({ "tipo_llamada": "inbound", "inicio": t, "acceso_aplicativos": true });
    let registro = |tipificacion: &str, duracion: i64, espera: i64| {
        json!({ "tipificacion": tipificacion, "codigo_registro": "R-1", "duracion_segundos": duracion,
                "espera_segundos": espera })
    };
    // A call attended and resolved by `who`, registered `minutes` after it started.
    let attended = |who: Actor, start: &'static str, duracion: i64, espera: i64| {
        let b = &b;
        async move {
            b.at(start);
            let id = b.start(&who, p, inicio(start)).await;
            b.done(&who, &id, "contactar", json!({ "resultado_contacto": "contactado", "speech_inicio": true })).await;
            let verificacion = json!({ "tipo_documento": "dni", "numero_documento": "12345678",
                                       "usuario_registrado": true, "identidad_verificada": true });
            b.done(&who, &id, "verificar_usuario", verificacion).await;
            let necesidad = json!({ "tipo_requerimiento": "consulta", "descripcion": "Saldo", "necesidad_confirmada": true,
                                    "requiere_datos_personales": false, "atencion": "directa" });
            b.done(&who, &id, "identificar_necesidad", necesidad).await;
            let respuesta = json!({ "informacion_brindada": "Saldo al día", "protocolo_aplicado": "P-01",
                                    "requerimiento_resuelto": true });
            b.done(&who, &id, "transmitir_informacion", respuesta).await;
            let dudas = json!({ "hubo_dudas": false, "consultar_supervisor": false, "nueva_necesidad": false });
            b.done(&who, &id, "absolver_dudas", dudas).await;
            b.done(&who, &id, "culminar", json!({ "consulta_algo_mas": true, "speech_despedida": true })).await;
            b.app.advance(600);
            b.done(&who, &id, "tipificar_registrar", registro("consulta", duracion, espera)).await;
            id
        }
    };
    // Rosa: 300 s and 420 s, waits 20 s and 40 s, both registered the same day.
    attended(rosa.clone(), "2026-03-02T10:00:00-05:00", 300, 20).await;
    attended(rosa.clone(), "2026-03-02T11:00:00-05:00", 420, 40).await;
    // Luis: a call at 16:20 on Tue 3 Mar that nobody answers, registered at 09:00 the next day
    // (after the close, 16:30: late), 0 s and a 10 s wait; then one of 600 s with a 120 s wait.
    b.at("2026-03-03T16:20:00-05:00");
    let late = b.start(&luis, p, inicio("2026-03-03T16:20:00-05:00")).await;
    b.done(&luis, &late, "contactar", json!({ "resultado_contacto": "no_contesta", "speech_inicio": true })).await;
    b.at("2026-03-04T09:00:00-05:00");
    b.done(&luis, &late, "tipificar_registrar", registro("sin_contacto", 0, 10)).await;
    attended(luis.clone(), "2026-03-04T10:00:00-05:00", 600, 120).await;
    assert_eq!(b.outcome(&late).await, "no_contactada");

    let v = b.indicators(p).await;
    // Per advisor: Rosa (300 + 420) / 2 = 360 s, Luis (0 + 600) / 2 = 300 s.
    assert_eq!(
        points(&v, "tmo_por_asesor"),
        [pt("2026-03", "luis", Some(300.0), 2), pt("2026-03", "rosa", Some(360.0), 2)]
    );
    // The service: (300 + 420 + 0 + 600) / 4 = 330 s.
    assert_eq!(points(&v, "tmo"), [pt("2026-03", "", Some(330.0), 4)]);
    // Waits [10, 20, 40, 120], rank ⌈4 × 0.9⌉ = 4 → 120 s.
    assert_eq!(points(&v, "espera_p90"), [pt("2026-03", "", Some(120.0), 4)]);
    assert_eq!(
        points(&v, "llamadas_por_asesor"),
        [pt("2026-03", "luis", Some(2.0), 2), pt("2026-03", "rosa", Some(2.0), 2)]
    );
    // Registered the same business day: 3 of 4 → 0.75, below the 100 % the profile asks.
    assert_eq!(points(&v, "registro_mismo_dia"), [pt("2026-03", "", Some(0.75), 4)]);
    assert_eq!(meets(&v, "registro_mismo_dia"), [Some(false)]);
    assert_eq!(
        points(&v, "llamadas_por_resultado"),
        [pt("2026-03", "atendida", Some(3.0), 3), pt("2026-03", "no_contactada", Some(1.0), 1)]
    );
}

/// The call audit (M2982001-2): each sampled call is evaluated in its own `for_each` branch, so
/// the evaluation's fields are the call's (its element of `data.evaluar_llamadas`), not the
/// case's — the indicator reads them there.
async fn call_audit_quality(db: Db) {
    let b = Bench::new(&db, "ind-audit").await;
    let p = "auditoria.llamadas";
    let (mona, nico) = (Actor::new("mona", &["monitor_calidad"]), Actor::new("nico", &["monitor_calidad"]));
    b.at("2026-03-09T15:00:00Z");
    let id = b
        .start(
            &mona,
            p,
            json!({ "equipo": "Campaña ventas", "periodo_desde": "2026-03-02", "periodo_hasta": "2026-03-06" }),
        )
        .await;
    let llamada = |codigo: &str, asesor: &str| json!({ "codigo": codigo, "asesor": asesor, "fecha": "2026-03-03", "tipo": "inbound", "escucha": "grabada" });
    let muestra = json!({ "criterio_muestreo": "Tres llamadas al azar",
                          "llamadas": [llamada("L-1", "rosa"), llamada("L-2", "luis"), llamada("L-3", "rosa")] });
    b.done(&mona, &id, "muestrear", muestra).await;
    // Points of the protocol met (the form computes `puntaje` and `cumple_protocolo`).
    let evaluacion = |met: usize, speech: i64| {
        let keys = [
            "contacto_segun_protocolo",
            "verifica_datos",
            "identifica_necesidad",
            "informacion_correcta",
            "transfiere_si_corresponde",
            "absuelve_dudas",
            "culmina_segun_protocolo",
            "tipifica_registra",
        ];
        let mut m: Map<String, Value> = keys.iter().enumerate().map(|(i, k)| (k.to_string(), json!(i < met))).collect();
        m.insert("calidad_speech".into(), json!(speech));
        Value::Object(m)
    };
    // Three evaluations: 8 points (speech 5), 7 (speech 4), 6 (speech 3); Mona two, Nico one.
    b.done(&mona, &id, "evaluar_llamada", evaluacion(8, 5)).await;
    b.done(&nico, &id, "evaluar_llamada", evaluacion(7, 4)).await;
    b.done(&mona, &id, "evaluar_llamada", evaluacion(6, 3)).await;
    for _ in 0..3 {
        let feedback = json!({ "fecha_retroalimentacion": "2026-03-09", "compromisos": "Aplicar el protocolo" });
        b.done(&mona, &id, "retroalimentar", feedback).await;
    }
    b.task(&id, "reportar").await;

    let v = b.indicators(p).await;
    // (8 + 7 + 6) / 3 = 7 points, below the 8 the standard asks.
    assert_eq!(points(&v, "puntaje_calidad"), [pt("2026-03", "", Some(7.0), 3)]);
    assert_eq!(meets(&v, "puntaje_calidad"), [Some(false)]);
    // Only the first meets all eight points → 1/3.
    assert_eq!(points(&v, "cumplen_estandar"), [pt("2026-03", "", Some(1.0 / 3.0), 3)]);
    // Speech: (5 + 4 + 3) / 3 = 4.
    assert_eq!(points(&v, "calidad_speech"), [pt("2026-03", "", Some(4.0), 3)]);
    assert_eq!(
        points(&v, "evaluaciones_por_monitor"),
        [pt("2026-03", "mona", Some(2.0), 2), pt("2026-03", "nico", Some(1.0), 1)]
    );
}

/// UDG Virtual: incidents per channel, the share the CAP resolves itself (the manual's "factor de
/// éxito"), incidents closed per agent, and the satisfaction survey (average, share satisfied,
/// answered or not, per channel), one of them started by the incident's call step.
async fn udg_incidents_and_survey(db: Db) {
    let b = Bench::new(&db, "ind-udg").await;
    let p = "udg.atencion-personalizada";
    let carla = Actor::new("carla", &["agente_cap"]);
    let siga = Actor::new("siga", &["responsable_siga"]);
    b.at("2026-03-05T16:00:00Z");
    let incidente = |canal: &str, correo: bool| {
        let mut d = json!({ "canal": canal, "nombre": "Luis Gómez", "descripcion": "Duda sobre inscripción" });
        if correo {
            d["correo"] = json!("luis@example.org");
        }
        d
    };
    let usuario = json!({ "tipo_usuario": "estudiante", "educacion_continua": false, "folio_crm": "CRM-1" });
    let valoracion = |critico: bool, info: bool| json!({ "asunto_critico": critico, "cuenta_con_informacion": info, "competencia_otra_coordinacion": false });
    // U1 by e-mail: resolved by the CAP, closed by Carla; its survey answered with a 4.
    let u1 = b.start(&carla, p, incidente("correo", true)).await;
    b.done(&carla, &u1, "tipo_usuario", usuario.clone()).await;
    b.done(&carla, &u1, "tipo_incidencia", json!({ "tipo_incidencia": "duda" })).await;
    b.done(&carla, &u1, "valorar", valoracion(false, true)).await;
    b.done(&carla, &u1, "atender", json!({ "respuesta": "Fechas de inscripción" })).await;
    b.done(&carla, &u1, "registrar_pormenores", json!({ "pormenores": "Resuelta" })).await;
    b.done(&carla, &u1, "cerrar_incidente", json!({})).await;
    let s0 = b.child(&u1, "encuesta").await;
    b.done(&siga, &s0, "contestar_encuesta", json!({ "satisfaccion": 4 })).await;
    assert_eq!(b.outcome(&u1).await, "atendido");
    // U2 by phone: no information → derived (stays at the derivation).
    let u2 = b.start(&carla, p, incidente("telefono", false)).await;
    b.done(&carla, &u2, "tipo_usuario", usuario.clone()).await;
    b.done(&carla, &u2, "tipo_incidencia", json!({ "tipo_incidencia": "queja" })).await;
    b.done(&carla, &u2, "valorar", valoracion(false, false)).await;
    // U3 by WhatsApp: resolved by the CAP, not closed yet.
    let u3 = b.start(&carla, p, incidente("whatsapp", false)).await;
    b.done(&carla, &u3, "tipo_usuario", usuario.clone()).await;
    b.done(&carla, &u3, "tipo_incidencia", json!({ "tipo_incidencia": "duda" })).await;
    b.done(&carla, &u3, "valorar", valoracion(false, true)).await;
    // U4: a suggestion from the mailbox goes to the SIGA, never valued.
    let u4 = b.start(&carla, p, incidente("buzon", false)).await;
    b.done(&carla, &u4, "tipo_usuario", usuario).await;
    b.done(&carla, &u4, "tipo_incidencia", json!({ "tipo_incidencia": "sugerencia" })).await;

    // Three surveys started on their own: by e-mail (5), by phone (registered 3), by WhatsApp
    // (not answered).
    let e = "udg.encuesta-satisfaccion";
    let contacto = |canal: &str, correo: &str| json!({ "folio_crm": "CRM-9", "nombre": "Eva Díaz", "canal": canal, "correo": correo, "telefono": "" });
    let s1 = b.start(&carla, e, contacto("correo", "eva@example.org")).await;
    b.done(&siga, &s1, "contestar_encuesta", json!({ "satisfaccion": 5 })).await;
    let s2 = b.start(&carla, e, contacto("telefono", "")).await;
    b.done(&carla, &s2, "enviar_encuesta", json!({})).await;
    b.done(&siga, &s2, "sistematizar", json!({ "respondida": true, "satisfaccion": 3 })).await;
    let s3 = b.start(&carla, e, contacto("whatsapp", "")).await;
    b.done(&carla, &s3, "enviar_encuesta", json!({})).await;
    b.done(&siga, &s3, "sistematizar", json!({ "respondida": false })).await;
    assert_eq!(b.outcome(&s3).await, "sin_respuesta");

    let v = b.indicators(p).await;
    assert_eq!(
        points(&v, "incidentes_por_medio"),
        [
            pt("2026-03", "buzon", Some(1.0), 1),
            pt("2026-03", "correo", Some(1.0), 1),
            pt("2026-03", "telefono", Some(1.0), 1),
            pt("2026-03", "whatsapp", Some(1.0), 1),
        ]
    );
    // Of the three valued incidents, U1 and U3 are resolved by the CAP → 2/3 (U4 is not valued).
    assert_eq!(points(&v, "resueltos_por_el_cap"), [pt("2026-03", "", Some(2.0 / 3.0), 3)]);
    assert_eq!(points(&v, "atendidos_por_agente"), [pt("2026-03", "carla", Some(1.0), 1)]);
    assert_eq!(
        points(&v, "incidentes_por_resultado"),
        [pt("2026-03", "", Some(3.0), 3), pt("2026-03", "atendido", Some(1.0), 1)]
    );

    let v = b.indicators(e).await;
    // Answered: 4, 5 and 3 → (4 + 5 + 3) / 3 = 4.
    assert_eq!(points(&v, "satisfaccion_promedio"), [pt("2026-03", "", Some(4.0), 3)]);
    // 4 or 5: two of the three answers → 2/3.
    assert_eq!(points(&v, "satisfechos"), [pt("2026-03", "", Some(2.0 / 3.0), 3)]);
    assert_eq!(
        points(&v, "encuestas_por_resultado"),
        [pt("2026-03", "respondida", Some(3.0), 3), pt("2026-03", "sin_respuesta", Some(1.0), 1)]
    );
    // Per channel in Q1: e-mail (4 + 5) / 2 = 4.5, phone 3; WhatsApp has no answer, so no value.
    assert_eq!(
        points(&v, "satisfaccion_por_medio"),
        [pt("2026-Q1", "correo", Some(4.5), 2), pt("2026-Q1", "telefono", Some(3.0), 1)]
    );
}

/// `tramite check` on an indicators file names each problem at file:line:column: an unknown
/// process, an unknown field, a percentage target on a count, a duration that starts at a
/// step's completion.
#[test]
fn check_reports_a_broken_indicators_file_at_its_place() {
    let dir = repo().join("target").join("indicators-check");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("processes")).unwrap();
    std::fs::create_dir_all(dir.join("forms")).unwrap();
    let write = |path: &str, text: &str| std::fs::write(dir.join(path), text).unwrap();
    write(
        "processes/registro.yaml",
        "process: prueba.registro\ntitle: Registro\ncalendar: mx\nroles:\n  operador: Operador\nstart:\n  form: prueba-registro\n  roles: [operador]\nsteps:\n  revisar:\n    task: Revisar\n    role: operador\n    next: fin\n  fin:\n    end: revisado\n",
    );
    write(
        "forms/registro.yaml",
        "form: prueba-registro\ntitle: Registro\nfields:\n  tema:\n    type: text\n    label: Tema\n  cantidad:\n    type: integer\n    label: Cantidad\n",
    );
    write(
        "processes/otro.indicators.yaml",
        "indicators: prueba.registros\nitems:\n  total:\n    title: Total\n    measure: count\n",
    );
    write(
        "processes/registro.indicators.yaml",
        "indicators: prueba.registro\nitems:\n  por_tema:\n    title: Por tema\n    measure: count\n    group: data.temas\n  total:\n    title: Total\n    measure: count\n    target: 95%\n  revision:\n    title: Revisión\n    measure: average\n    value: business days from revisar.completed to completed\n  cantidad:\n    title: Cantidad\n    measure: sum\n    value: data.cantidad\n",
    );
    let out = Command::new(BIN).arg("check").arg(dir.join("processes")).current_dir(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "processes/otro.indicators.yaml:1:13: error: unknown process `prueba.registros`",
        "processes/registro.indicators.yaml:6:12: error: unknown data field `data.temas`",
        "processes/registro.indicators.yaml:10:13: error: a percentage target is for a share (`ratio`, `sla`)",
        "processes/registro.indicators.yaml:14:12: error: a duration starts at `started` or at a `data.<date field>`",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    assert!(err.contains("help: did you mean `prueba.registro`?"), "{err}");
    assert!(err.contains("help: known: cantidad, tema"), "{err}");
    assert!(err.contains("4 error(s) in 2 file(s)"), "{err}");
}
