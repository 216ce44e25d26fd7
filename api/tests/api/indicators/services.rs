//! Universidad CES, UDG Virtual and ICETEX.

use serde_json::json;
use tramite_engine::machine::Actor;

use super::{Bench, meets, points, pt};
use crate::common::Db;

on_both!(ces_satisfaction, udg_incidents_and_survey, icetex_effectiveness_and_lead_times);

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

/// ICETEX M5-1-21 on the `co` calendar (UTC−5, 08:00–17:00): the % of effectiveness of the
/// misional's sessions per requesting area, additional trainings organised within five days and
/// material delivered in time (SLAs) per area, requests per kind of need.
async fn icetex_effectiveness_and_lead_times(db: Db) {
    let b = Bench::new(&db, "ind-icetex").await;
    let p = "icetex.planeacion-formacion";
    let mis = Actor::new("mis", &["area_solicitante"]);
    let ase = Actor::new("ase", &["aseguramiento"]);
    let gco = Actor::new("gco", &["gestion_conocimiento"]);
    let solicitud = |area: &str, tipo: &str, fecha: &str, capacitacion: &str| {
        json!({ "origen": "area_misional", "area": area, "tipo_necesidad": tipo, "asunto": "Casos no contemplados",
                "fecha_solicitud": fecha, "fecha_salida_produccion": "2026-09-30", "fecha_capacitacion": capacitacion,
                "material_apoyo": ["presentacion"], "temas": 1, "preguntas_test": 5 })
    };
    let concepto = json!({ "profesional": "ase", "requiere_bases_datos": false, "requiere_adecuaciones": false });
    let cronograma = json!({ "fecha_capacitacion": "2026-06-19", "hora_inicio": "10:00", "duracion_horas": 1,
                             "horas_semana_programadas": 0, "participantes": 25, "logistica": "Sala 2." });
    // Three additional trainings (no material term; organised within five calendar days of the
    // request) and one update (material 10 business days before its training, 15 September).
    b.at("2026-06-01T09:00:00-05:00");
    let i1 = b.start(&mis, p, solicitud("Crédito", "capacitacion_adicional", "2026-06-01", "2026-06-19")).await;
    b.at("2026-06-01T10:00:00-05:00");
    let i2 = b.start(&mis, p, solicitud("Crédito", "capacitacion_adicional", "2026-06-01", "2026-06-19")).await;
    b.at("2026-06-02T09:00:00-05:00");
    let i3 = b.start(&mis, p, solicitud("Fondos", "capacitacion_adicional", "2026-06-02", "2026-06-19")).await;
    b.at("2026-06-02T09:30:00-05:00");
    let i4 = b.start(&mis, p, solicitud("Fondos", "actualizacion", "2026-06-02", "2026-09-15")).await;
    b.at("2026-06-03T09:00:00-05:00");
    for i in [&i1, &i2, &i3, &i4] {
        b.approve(&ase, i, "validar_solicitud", concepto.clone()).await;
    }
    // Organised: I1 on 3 June (due 6 June 09:00) in time, I3 on 4 June (due 7 June 09:00) in
    // time, I2 on 9 June (due 6 June 10:00) late.
    b.at("2026-06-03T10:00:00-05:00");
    b.done(&gco, &i1, "gestionar_cronograma", cronograma.clone()).await;
    b.at("2026-06-04T10:00:00-05:00");
    b.done(&gco, &i3, "gestionar_cronograma", cronograma.clone()).await;
    b.at("2026-06-09T10:00:00-05:00");
    b.done(&gco, &i2, "gestionar_cronograma", cronograma).await;
    // The sessions on 19 June: 22 of 25 (88 %), 15 of 20 (75 %), 10 of 10 (100 %).
    b.at("2026-06-19T12:00:00-05:00");
    for (i, evaluados, aprobados) in [(&i1, 25, 22), (&i2, 20, 15), (&i3, 10, 10)] {
        let capacitacion =
            json!({ "fecha_realizada": "2026-06-19", "temas_dictados": "Casos.", "test_aplicado": true });
        b.done(&mis, i, "realizar_capacitacion", capacitacion).await;
        let efectividad = json!({ "evaluados_sesion": evaluados, "aprobados_sesion": aprobados });
        b.done(&gco, i, "efectividad_sesion", efectividad).await;
    }

    let v = b.indicators(p).await;
    // Crédito (88 + 75) / 2 = 81.5 %; Fondos 100 % (I4 has no session yet).
    assert_eq!(
        points(&v, "efectividad_sesion"),
        [pt("2026-Q2", "Crédito", Some(81.5), 2), pt("2026-Q2", "Fondos", Some(100.0), 1)]
    );
    // Within five days: Crédito 1 of 2 → 0.5, Fondos 1 of 1.
    assert_eq!(
        points(&v, "adicional_en_cinco_dias"),
        [pt("2026-Q2", "Crédito", Some(0.5), 2), pt("2026-Q2", "Fondos", Some(1.0), 1)]
    );
    assert_eq!(meets(&v, "adicional_en_cinco_dias"), [Some(false), Some(true)]);
    // Material: only the update has the SLA; validated on 3 June, well before its limit (10
    // business days before 15 September) → 1 of 1. The additional trainings give no value.
    assert_eq!(points(&v, "material_a_tiempo"), [pt("2026-Q2", "Fondos", Some(1.0), 1)]);
    assert_eq!(
        points(&v, "solicitudes_por_tipo"),
        [pt("2026-Q2", "actualizacion", Some(1.0), 1), pt("2026-Q2", "capacitacion_adicional", Some(3.0), 3)]
    );
}
