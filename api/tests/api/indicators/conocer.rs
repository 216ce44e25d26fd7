//! C.4.1 and C.4.5 (CONOCER V-CANA-MP-02) on the `mx` calendar.

use serde_json::json;
use tramite::app;
use tramite_engine::machine::Actor;

use super::{Bench, meets, points, pt, view};
use crate::common::Db;

on_both!(c41_calls, c45_replies);

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
