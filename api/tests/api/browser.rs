//! The web UI in a real browser (Debian's headless Chromium through WebDriver) against the real
//! `tramite serve` on loopback, plus security checks over plain HTTP on SQLite and PostgreSQL.
//! Screenshots of the inbox, a task page and the dashboard at desktop and phone width are
//! written to `target/screenshots/`.

use crate::common;
use crate::web;

use std::sync::Mutex;
use std::time::Duration;

use common::*;
use fantoccini::{Client, Locator};
use serde_json::json;
use web::*;

const C45: &str = "/api/processes/conocer.c45-correos/instances";
const C42: &str = "/api/processes/conocer.c42-campanas/instances";
const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

/// One browser test at a time: each starts its own Chromium, and the machine is small.
static BROWSER: Mutex<()> = Mutex::new(());

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Screenshots of the current page at desktop and phone width.
async fn both_widths(c: &Client, name: &str) {
    c.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
    screenshot(c, &format!("{name}-desktop")).await;
    c.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    screenshot(c, &format!("{name}-phone")).await;
    c.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
}

#[test]
fn operator_works_a_c45_email_in_the_browser() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("web-operator");
    let db = database(&Db::Sqlite, &dir).unwrap();
    let ana = add_user_with_password(&db, "ana", &["operador"], false);
    add_user_with_password(&db, "rosa", &["responsable_canales"], false);
    let server = Server::start(&db, &dir, None);
    let api = Api::new(&server.base, &ana);
    let (status, inst) = api.post(C45, correo(&recent()));
    assert_eq!(status, 201, "{inst}");
    let id = inst["id"].as_str().unwrap().to_string();
    let folio = inst["folio"].as_str().unwrap().to_string();
    let task = task_at(&inst, "determinar_tipo");

    let driver = Driver::start(&dir);
    let rt = runtime();
    rt.block_on(async {
        let c = driver.browser(DESKTOP.0, DESKTOP.1).await;
        sign_in(&c, &server.base, "ana").await;
        let row = text(&c, &format!("tr[data-task='{task}']")).await;
        assert!(row.contains(&folio) && row.contains("Determinar el tipo de solicitud"), "{row}");
        assert!(text(&c, "h1").await.contains("Mi bandeja"), "Spanish by default");
        both_widths(&c, "inbox").await;

        c.find(Locator::Css(&format!("tr[data-task='{task}'] a.task-link"))).await.unwrap().click().await.unwrap();
        wait_path(&c, &format!("/tasks/{task}")).await;
        assert!(text(&c, ".data").await.contains("¿Cómo me certifico?"), "the instance data so far");
        both_widths(&c, "task").await;

        // First try: the yes/no question is left unanswered.
        c.find(Locator::Css("#f-tipo")).await.unwrap().select_by_value("queja").await.unwrap();
        c.find(Locator::Css("#f-tema")).await.unwrap().send_keys("Certificación").await.unwrap();
        c.find(Locator::Css("#complete")).await.unwrap().click().await.unwrap();
        let error = text(&c, "#f-atencion-inmediata-error").await;
        assert_eq!(error, "Este campo es obligatorio.");
        assert!(text(&c, "#error-summary").await.contains("Revise los campos"));
        assert_eq!(value(&c, "#f-tipo").await, "queja", "the chosen option is kept");
        assert_eq!(value(&c, "#f-tema").await, "Certificación", "the typed text is kept");
        both_widths(&c, "task-errors").await;

        c.find(Locator::Css("input[name=atencion_inmediata][value=true]")).await.unwrap().click().await.unwrap();
        c.find(Locator::Css("#complete")).await.unwrap().click().await.unwrap();
        wait_path(&c, "/inbox").await;
        assert!(text(&c, ".notice").await.contains("Listo"));

        // The reply, with a multiple choice answered by checkboxes.
        let reply =
            c.find(Locator::XPath("//a[contains(@class, 'task-link')][contains(., 'Responder')]")).await.unwrap();
        reply.click().await.unwrap();
        assert!(text(&c, "h1").await.starts_with("Responder"));
        c.find(Locator::Css("#f-respuesta")).await.unwrap().send_keys("Consulte el RENEC en el portal.").await.unwrap();
        c.find(Locator::Css("input[name=fuentes][value=bases_de_datos]")).await.unwrap().click().await.unwrap();
        c.find(Locator::Css("input[name=fuentes][value=especialista]")).await.unwrap().click().await.unwrap();
        c.find(Locator::Css("#complete")).await.unwrap().click().await.unwrap();
        wait_path(&c, "/inbox").await;

        // Filters refresh the list in place (htmx, served by the binary, under the strict CSP).
        c.find(Locator::Css("#f-sla")).await.unwrap().select_by_value("breached").await.unwrap();
        assert!(text(&c, "#tasks .empty").await.contains("No hay tareas"));
        assert!(c.current_url().await.unwrap().query().is_some_and(|q| q.contains("sla=breached")), "the URL follows");

        // English on request.
        c.goto(&format!("{}/inbox?lang=en", server.base)).await.unwrap();
        assert!(text(&c, "h1").await.contains("My task inbox"));
        c.close().await.unwrap();
    });
    let (_, inst) = api.get(&format!("/api/instances/{id}"));
    assert_eq!(inst["status"], "ended", "{inst}");
    assert_eq!(inst["data"]["tipo"], "queja");
    assert_eq!(inst["data"]["tema"], "Certificación");
    assert_eq!(inst["data"]["atencion_inmediata"], true);
    assert_eq!(inst["data"]["fuentes"], json!(["bases_de_datos", "especialista"]));
}

#[test]
fn operator_registers_an_email_finds_it_and_attaches_the_reply() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("web-front-office");
    let db = database(&Db::Sqlite, &dir).unwrap();
    let ana = add_user_with_password(&db, "ana", &["operador"], false);
    add_user_with_password(&db, "olga", &["jefe_mercadeo"], false);
    let server = Server::start(&db, &dir, None);
    let api = Api::new(&server.base, &ana);
    let reply = std::fs::read(repo().join("processes/conocer/files/respuesta-cor-2026-00001.pdf")).unwrap();
    let reply_path = dir.canonicalize().unwrap().join("Respuesta al correo.pdf");
    std::fs::write(&reply_path, &reply).unwrap();
    let received = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("America/Mexico_City").unwrap())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();

    let driver = Driver::start(&dir);
    let rt = runtime();
    let (c, id) = rt.block_on(async {
        let c = driver.browser(DESKTOP.0, DESKTOP.1).await;
        sign_in(&c, &server.base, "ana").await;

        // Register the e-mail from the inbox's "Nuevo caso".
        c.find(Locator::Css("main a[href='/new']")).await.unwrap().click().await.unwrap();
        wait_path(&c, "/new").await;
        both_widths(&c, "new").await;
        c.find(Locator::Css("a.button[href='/new/conocer.c45-correos']")).await.unwrap().click().await.unwrap();
        wait_path(&c, "/new/conocer.c45-correos").await;
        let when = c.find(Locator::Css("#f-fecha-recepcion")).await.unwrap();
        c.execute("arguments[0].value = arguments[1];", vec![serde_json::to_value(&when).unwrap(), json!(received)])
            .await
            .unwrap();
        c.find(Locator::Css("#f-nombre-contacto")).await.unwrap().send_keys("Marta Ruiz").await.unwrap();
        c.find(Locator::Css("#f-correo")).await.unwrap().send_keys("marta@example.org").await.unwrap();
        c.find(Locator::Css("#f-pregunta")).await.unwrap().send_keys("¿Dónde consulto los estándares?").await.unwrap();
        both_widths(&c, "start-form").await;
        c.find(Locator::Css("#start")).await.unwrap().click().await.unwrap();
        let notice = text(&c, "#started-notice").await;
        let folio = notice.split_whitespace().last().unwrap().to_string();
        assert!(folio.starts_with("COR-") && folio.ends_with("-00001"), "{notice}");
        let id = c.current_url().await.unwrap().path().trim_start_matches("/instances/").to_string();
        both_widths(&c, "case-registered").await;

        // Find it by its folio in the case list.
        c.goto(&format!("{}/cases", server.base)).await.unwrap();
        c.find(Locator::Css("#f-q")).await.unwrap().send_keys(&folio).await.unwrap();
        c.find(Locator::Css("form.filters button[type=submit]")).await.unwrap().click().await.unwrap();
        let found = text(&c, "td.folio").await;
        assert_eq!(found, folio);
        both_widths(&c, "cases").await;
        c.find(Locator::Css("td.folio a")).await.unwrap().click().await.unwrap();
        wait_path(&c, &format!("/instances/{id}")).await;
        (c, id)
    });

    // Typed through the API; the reply in the browser, with the reply attached as a file.
    let (_, inst) = api.get(&format!("/api/instances/{id}"));
    let tipo = json!({ "data": { "tipo": "informacion", "tema": "Estándares", "atencion_inmediata": true } });
    let (status, inst) = api.post(&format!("/api/tasks/{}/complete", task_at(&inst, "determinar_tipo")), tipo);
    assert_eq!(status, 200, "{inst}");
    let task = task_at(&inst, "responder");
    let link = rt.block_on(async {
        c.goto(&format!("{}/tasks/{task}", server.base)).await.unwrap();
        c.find(Locator::Css("#f-respuesta")).await.unwrap().send_keys("Consulte el RENEC.").await.unwrap();
        let input = c.find(Locator::Css("#f-adjunto")).await.unwrap();
        input.send_keys(&reply_path.display().to_string()).await.unwrap();
        both_widths(&c, "task-file").await;
        c.find(Locator::Css("#complete")).await.unwrap().click().await.unwrap();
        wait_path(&c, "/inbox").await;

        // The case lists the file; it downloads byte-identical.
        c.goto(&format!("{}/instances/{id}", server.base)).await.unwrap();
        let file = c.find(Locator::Css("ul.files a")).await.unwrap();
        assert_eq!(file.text().await.unwrap(), "Respuesta al correo.pdf");
        let link = file.attr("href").await.unwrap().unwrap();
        c.execute("document.querySelector('ul.files').scrollIntoView();", vec![]).await.unwrap();
        screenshot(&c, "case-files-desktop").await;
        file.click().await.unwrap();
        let got = wait_download(&driver.downloads(), "pdf");
        // A download still being written is renamed when done: read it once complete.
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(std::fs::read(&got).unwrap(), reply, "the same bytes back");
        c.close().await.unwrap();
        link
    });
    let (_, inst) = api.get(&format!("/api/instances/{id}"));
    assert_eq!(inst["status"], "ended", "{inst}");
    assert_eq!(inst["data"]["adjunto"]["type"], "application/pdf", "{inst}");

    // Someone without a role in C.4.5 may not have the file.
    let mut olga = WebClient::new(&server.base);
    assert_eq!(olga.sign_in("olga", PASSWORD).status, 303);
    let (status, _, body) = olga.get_bytes(&link);
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
}

#[test]
fn direccion_rejects_then_approves_a_c42_plan() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("web-direccion");
    let db = database(&Db::Sqlite, &dir).unwrap();
    let rosa = add_user_with_password(&db, "rosa", &["responsable_canales"], false);
    add_user_with_password(&db, "diana", &["direccion"], false);
    add_user_with_password(&db, "admin", &[], true);
    let server = Server::start(&db, &dir, None);
    let api = Api::new(&server.base, &rosa);
    let (status, inst) = api.post(C42, json!({ "data": { "area_solicitante": "Dirección de Certificación", "necesidad": "Promover el nuevo estándar EC0217" } }));
    assert_eq!(status, 201, "{inst}");
    let id = inst["id"].as_str().unwrap().to_string();
    let plan = json!({ "data": { "objetivos": "Dar a conocer el estándar", "estrategia": "Llamadas y correos", "plan_accion": "Semana 1: base de datos" } });
    let (status, inst) = api.post(&format!("/api/tasks/{}/complete", task_at(&inst, "elaborar_plan")), plan);
    assert_eq!(status, 200, "{inst}");
    let (status, inst) =
        api.post(&format!("/api/tasks/{}/complete", task_at(&inst, "preparar_presentacion")), json!({ "data": {} }));
    assert_eq!(status, 200, "{inst}");
    let approval = task_at(&inst, "autorizar_plan");

    let driver = Driver::start(&dir);
    let rt = runtime();
    rt.block_on(async {
        let c = driver.browser(DESKTOP.0, DESKTOP.1).await;
        sign_in(&c, &server.base, "diana").await;
        c.find(Locator::Css(&format!("tr[data-task='{approval}'] a.task-link"))).await.unwrap().click().await.unwrap();
        wait_path(&c, &format!("/tasks/{approval}")).await;
        assert!(text(&c, ".data").await.contains("Dar a conocer el estándar"));

        // Rejecting needs a comment.
        c.find(Locator::Css("#reject")).await.unwrap().click().await.unwrap();
        assert_eq!(text(&c, "#f-comment-error").await, "Indique el motivo del rechazo.");
        c.find(Locator::Css("#f-comment"))
            .await
            .unwrap()
            .send_keys("Falta el presupuesto de la campaña.")
            .await
            .unwrap();
        c.find(Locator::Css("#reject")).await.unwrap().click().await.unwrap();
        wait_path(&c, "/inbox").await;
        sign_out(&c).await;
    });
    let (_, inst) = api.get(&format!("/api/instances/{id}"));
    assert_eq!(inst["active_steps"], json!(["elaborar_plan"]), "{inst}");
    assert_eq!(inst["last_rejection"]["comment"], "Falta el presupuesto de la campaña.");
    let rework = task_at(&inst, "elaborar_plan");

    rt.block_on(async {
        // The responsible sees the reviewer's comment and the plan as it was sent.
        let c = driver.browser(DESKTOP.0, DESKTOP.1).await;
        sign_in(&c, &server.base, "rosa").await;
        c.goto(&format!("{}/tasks/{rework}", server.base)).await.unwrap();
        assert_eq!(text(&c, "#rejection-comment").await, "Falta el presupuesto de la campaña.");
        assert!(text(&c, ".rejection").await.contains("diana"));
        assert_eq!(value(&c, "#f-objetivos").await, "Dar a conocer el estándar", "the plan is prefilled");
        screenshot(&c, "task-rejected-desktop").await;
        c.find(Locator::Css("#f-plan-accion")).await.unwrap().send_keys(" Presupuesto: $50,000.").await.unwrap();
        c.find(Locator::Css("#complete")).await.unwrap().click().await.unwrap();
        wait_path(&c, "/inbox").await;
        c.find(Locator::Css("a.task-link")).await.unwrap().click().await.unwrap();
        assert!(text(&c, "h1").await.contains("Preparar la presentación"));
        c.find(Locator::Css("#complete")).await.unwrap().click().await.unwrap();
        wait_path(&c, "/inbox").await;
        sign_out(&c).await;

        sign_in(&c, &server.base, "diana").await;
        c.find(Locator::Css("a.task-link")).await.unwrap().click().await.unwrap();
        assert!(text(&c, "h1").await.contains("¿Se autoriza el plan"));
        c.find(Locator::Css("#f-comment"))
            .await
            .unwrap()
            .send_keys("Aprobado con el presupuesto indicado.")
            .await
            .unwrap();
        c.find(Locator::Css("#approve")).await.unwrap().click().await.unwrap();
        wait_path(&c, "/inbox").await;
        sign_out(&c).await;

        // An admin opens the instance page: the timeline has both decisions, the flow marks
        // where it is now.
        sign_in(&c, &server.base, "admin").await;
        c.goto(&format!("{}/instances/{id}", server.base)).await.unwrap();
        let timeline = text(&c, "#timeline").await;
        assert!(timeline.contains("Rechazó") && timeline.contains("Falta el presupuesto"), "{timeline}");
        assert!(timeline.contains("Aprobó") && timeline.contains("diana"), "{timeline}");
        let here = c.find(Locator::Css("#step-disenar_campana")).await.unwrap();
        assert_eq!(here.attr("aria-current").await.unwrap().as_deref(), Some("step"));
        // The drawn flow: the step it is back at is marked current, and the approval's return
        // to it is drawn as a dashed back edge.
        let drawn = c.find(Locator::Css("#diagram [data-step='disenar_campana']")).await.unwrap();
        let class = drawn.attr("class").await.unwrap().unwrap_or_default();
        assert!(class.contains("current"), "{class}");
        let back = c.find_all(Locator::Css("#diagram .edge.back")).await.unwrap();
        assert!(!back.is_empty(), "the loop is drawn");
        assert!(text(&c, "#diagram").await.contains("×2"), "the step entered twice shows it");
        both_widths(&c, "instance-diagram").await;
        screenshot(&c, "instance-desktop").await;
        c.close().await.unwrap();
    });
    let (_, inst) = api.get(&format!("/api/instances/{id}"));
    assert_eq!(inst["active_steps"], json!(["disenar_campana"]), "{inst}");
    assert!(inst["data"]["plan_accion"].as_str().unwrap().contains("Presupuesto"));
}

#[test]
fn a_citizen_writes_in_on_a_phone_and_the_operator_reads_the_indicators() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("web-public");
    let db = database(&Db::Sqlite, &dir).unwrap();
    add_user_with_password(&db, "ana", &["operador"], false);
    let server = Server::start(&db, &dir, None);
    let driver = Driver::start(&dir);
    let rt = runtime();
    rt.block_on(async {
        // The Portal's contact form, on a phone, without an account.
        let c = driver.browser(PHONE.0, PHONE.1).await;
        c.goto(&format!("{}/p/conocer.c45-correos", server.base)).await.unwrap();
        c.find(Locator::Css("#f-nombre-contacto")).await.unwrap().send_keys("Juana Pérez").await.unwrap();
        c.find(Locator::Css("#f-correo")).await.unwrap().send_keys("juana@example.org").await.unwrap();
        c.find(Locator::Css("#f-pregunta")).await.unwrap().send_keys("¿Cómo me certifico?").await.unwrap();
        screenshot(&c, "public-form-phone").await;
        c.find(Locator::Css("#send")).await.unwrap().click().await.unwrap();
        let note = text(&c, "#note").await;
        assert!(note.contains("Su folio es COR-"), "{note}");
        c.close().await.unwrap();

        // The operator reads C.4.5's indicators on a phone: each chart fits the screen, its
        // numbers in a table beside it.
        let c = driver.browser(PHONE.0, PHONE.1).await;
        sign_in(&c, &server.base, "ana").await;
        c.goto(&format!("{}/indicators/conocer.c45-correos", server.base)).await.unwrap();
        let widest = c
            .execute(
                "return Math.max(...Array.from(document.querySelectorAll('svg.chart')).map(e => e.getBoundingClientRect().right));",
                vec![],
            )
            .await
            .unwrap();
        let charts = c.execute("return document.querySelectorAll('svg.chart').length;", vec![]).await.unwrap();
        assert!(charts.as_u64().unwrap_or(0) > 0, "{charts}");
        assert!(widest.as_f64().unwrap() <= f64::from(PHONE.0), "a chart runs past the screen: {widest}");
        let tables = c.execute("return document.querySelectorAll('table.numbers').length;", vec![]).await.unwrap();
        assert_eq!(tables, charts, "every chart has its table");
        screenshot(&c, "indicators-phone").await;
        c.close().await.unwrap();
    });
}

#[test]
fn admin_sees_a_breached_task_and_downloads_the_xlsx() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("web-admin");
    let db = database(&Db::Sqlite, &dir).unwrap();
    let ana = add_user_with_password(&db, "ana", &["operador"], false);
    add_user_with_password(&db, "admin", &[], true);
    let server = Server::start(&db, &dir, None);
    let api = Api::new(&server.base, &ana);
    let (status, late) = api.post(C45, correo(&five_business_days_ago()));
    assert_eq!(status, 201, "{late}");
    let (status, fresh) = api.post(C45, correo(&recent()));
    assert_eq!(status, 201, "{fresh}");
    let (status, done) = api.post(
        &format!("/api/tasks/{}/complete", task_at(&fresh, "determinar_tipo")),
        json!({ "data": { "tipo": "informacion", "tema": "Costos", "atencion_inmediata": true } }),
    );
    assert_eq!(status, 200, "{done}");
    let late_task = task_at(&late, "determinar_tipo");
    let (late_folio, fresh_folio) = (late["folio"].as_str().unwrap(), fresh["folio"].as_str().unwrap());
    assert_ne!(late_folio, fresh_folio);
    // The scheduler raises the breach alert as soon as it runs.
    let history = format!("/api/instances/{}/history", late["id"].as_str().unwrap());
    eventually(30, || {
        let (_, h) = api.get(&history);
        h["events"].as_array()?.iter().any(|e| e["type"] == "alerted" && e["kind"] == "sla-breach").then_some(())
    });

    let driver = Driver::start(&dir);
    let rt = runtime();
    let downloaded = rt.block_on(async {
        let c = driver.browser(DESKTOP.0, DESKTOP.1).await;
        sign_in(&c, &server.base, "admin").await;
        c.goto(&format!("{}/admin", server.base)).await.unwrap();
        let breached = text(&c, "#breached").await;
        assert!(breached.contains(late_folio) && breached.contains("Incumplido"), "{breached}");
        assert!(!breached.contains(fresh_folio), "{breached}");
        c.find(Locator::Css(&format!("#breached tr[data-task='{late_task}']"))).await.unwrap();
        c.find(Locator::Css("#d-process")).await.unwrap().select_by_value("conocer.c45-correos").await.unwrap();
        c.find(Locator::Css("form.filters button[type=submit]")).await.unwrap().click().await.unwrap();
        wait_path(&c, "/admin").await;
        for _ in 0..100 {
            if c.current_url().await.unwrap().query().is_some_and(|q| q.contains("c45")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let alerts = text(&c, "#alerts").await;
        assert!(alerts.contains("SLA incumplido") && alerts.contains(late_folio), "{alerts}");
        let chart = text(&c, "#chart").await;
        assert!(chart.contains("Información"), "counts by request type: {chart}");
        both_widths(&c, "dashboard").await;
        c.execute("document.getElementById('chart').scrollIntoView()", vec![]).await.unwrap();
        screenshot(&c, "dashboard-chart-desktop").await;
        // The late e-mail's instance page: its SLA breached, with the business time it ran over.
        c.goto(&format!("{}/instances/{}", server.base, late["id"].as_str().unwrap())).await.unwrap();
        let slas = text(&c, "#slas").await;
        assert!(slas.contains("Incumplido") && slas.contains("vencido por"), "{slas}");
        assert!(text(&c, "#timeline").await.contains("Se incumplió el SLA"));
        both_widths(&c, "instance-sla").await;
        c.back().await.unwrap();
        wait_path(&c, "/admin").await;
        c.find(Locator::Css("#export-instances-xlsx")).await.unwrap().click().await.unwrap();
        let file = wait_download(&driver.downloads(), "xlsx");
        c.close().await.unwrap();
        file
    });

    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = calamine::open_workbook(&downloaded).unwrap();
    let sheet = book.worksheet_range("Trámites").unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    let header = &rows[0];
    let col =
        |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}: {header:?}"));
    let folio = col("Folio");
    let (contact, question, topic) = (col("Nombre del contacto"), col("Pregunta o solicitud"), col("Tema"));
    assert!(header.iter().any(|h| h.starts_with("Fecha y hora de recepción")), "{header:?}");
    assert_eq!(rows.len(), 3, "a header and one row per e-mail: {rows:?}");
    let late_row = rows.iter().find(|r| r[folio] == late_folio).unwrap();
    assert_eq!(late_row[contact], "Juana Pérez");
    assert_eq!(late_row[question], "¿Cómo me certifico?");
    let fresh_row = rows.iter().find(|r| r[folio] == fresh_folio).unwrap();
    assert_eq!(fresh_row[topic], "Costos");
    let state = col(&header.iter().find(|h| h.ends_with(": estado")).unwrap().clone());
    assert_eq!(late_row[state], "breached");
}

/// Whether `html` holds `text` HTML-escaped (named or numeric character references).
fn escaped(html: &str, text: &str) -> bool {
    let named = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let numeric = text
        .replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;");
    html.contains(&named) || html.contains(&numeric)
}

/// Signs in `name` over HTTP and returns the client with its session.
fn signed_in(base: &str, name: &str) -> WebClient {
    let mut w = WebClient::new(base);
    let page = w.sign_in(name, PASSWORD);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/inbox"));
    w
}

fn security(db: Db, name: &str) {
    let dir = scratch(name);
    let url = database(&db, &dir).unwrap();
    let ana = add_user_with_password(&url, "ana", &["operador"], false);
    add_user_with_password(&url, "rosa", &["responsable_canales"], false);
    add_user_with_password(&url, "diana", &["direccion"], false);
    let server = Server::start(&url, &dir, None);
    let api = Api::new(&server.base, &ana);
    let mut start = correo(&recent());
    start["data"]["pregunta"] = json!("<script>alert('pregunta')</script>");
    start["data"]["nombre_contacto"] = json!("\"><img src=x onerror=alert(1)>");
    let (status, inst) = api.post(C45, start);
    assert_eq!(status, 201, "{inst}");
    let task = task_at(&inst, "determinar_tipo");

    // Not signed in: the pages send you to sign in; a wrong password is refused.
    let mut anon = WebClient::new(&server.base);
    let page = anon.get("/inbox");
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/login?next=/inbox")));
    let page = anon.sign_in("ana", "not-the-password");
    assert_eq!(page.status, 401);
    assert!(page.body.contains("Usuario o contraseña incorrectos"));
    let page = anon.post("/login", &[("name", "ana"), ("password", PASSWORD)]);
    assert_eq!(page.status, 403, "a sign-in without its form token is refused");

    let mut w = signed_in(&server.base, "ana");
    let page = w.get(&format!("/tasks/{task}"));
    assert_eq!(page.status, 200);
    let csp = page.headers.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(w.cookies.iter().any(|(k, _)| k == "tramite_session"));
    let csrf = csrf_of(&page.body);

    // Data typed by users is escaped wherever it is shown.
    assert!(escaped(&page.body, "<script>alert('pregunta')</script>"), "{}", page.body);
    assert!(escaped(&page.body, "\"><img src=x onerror=alert(1)>"), "{}", page.body);
    assert!(!page.body.contains("<script>alert("), "{}", page.body);
    assert!(!page.body.contains("<img src=x"), "{}", page.body);

    // Posts without the session's CSRF token are refused and change nothing.
    let page = w.post(&format!("/tasks/{task}/claim"), &[]);
    assert_eq!(page.status, 403, "{}", page.body);
    let page = w.post(&format!("/tasks/{task}/claim"), &[("_csrf", "0123456789abcdef")]);
    assert_eq!(page.status, 403);
    let page = w.post(
        &format!("/tasks/{task}"),
        &[("_action", "complete"), ("tipo", "queja"), ("tema", "x"), ("atencion_inmediata", "true")],
    );
    assert_eq!(page.status, 403);
    let (_, now) = api.get(&format!("/api/instances/{}", inst["id"].as_str().unwrap()));
    assert_eq!(now["active_steps"], json!(["determinar_tipo"]));
    assert!(now["tasks"][0]["claimed_by"].is_null(), "{now}");

    // With the token: claimed; a refused form shows the entered script escaped.
    let page = w.post(&format!("/tasks/{task}/claim"), &[("_csrf", &csrf)]);
    assert_eq!((page.status, page.location.clone()), (303, Some(format!("/tasks/{task}"))));
    let page = w.post(
        &format!("/tasks/{task}"),
        &[("_csrf", &csrf), ("_action", "complete"), ("tipo", "chisme"), ("tema", "<script>alert(2)</script>")],
    );
    assert_eq!(page.status, 422);
    assert!(escaped(&page.body, "<script>alert(2)</script>"), "the typed value is kept, escaped: {}", page.body);
    assert!(!page.body.contains("<script>alert(2)"));
    assert!(page.body.contains("Elija una de las opciones."));

    // Another role's task: 403 for the page and for its forms; the dashboard is for admins.
    let mut rosa = signed_in(&server.base, "rosa");
    let page = rosa.get(&format!("/tasks/{task}"));
    assert_eq!(page.status, 403);
    let rosa_csrf = csrf_of(&rosa.get("/inbox").body);
    let page = rosa.post(&format!("/tasks/{task}/release"), &[("_csrf", &rosa_csrf)]);
    assert_eq!(page.status, 403);
    assert_eq!(rosa.get("/admin").status, 403);
    let mut diana = signed_in(&server.base, "diana");
    assert_eq!(diana.get(&format!("/instances/{}", inst["id"].as_str().unwrap())).status, 403, "no role in C.4.5");
    assert_eq!(rosa.get("/admin/export/sla.xlsx").status, 403);

    // Sign-out ends the session on the server, not only in the browser.
    let old = w.cookies.clone();
    let page = w.post("/logout", &[("_csrf", &csrf)]);
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/login")));
    w.cookies = old;
    assert_eq!(w.get("/inbox").status, 303);
}

#[test]
fn security_on_sqlite() {
    security(Db::Sqlite, "web-security");
}

#[test]
fn security_on_postgres() {
    security(Db::Postgres, "web-security-pg");
}

#[test]
fn password_stdin_refuses_a_short_password() {
    let dir = scratch("web-password");
    let db = database(&Db::Sqlite, &dir).unwrap();
    let mut child = std::process::Command::new(BIN)
        .args(["user", "add", "corto", "--role", "operador", "--password-stdin", "--database", &db])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "corta").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));
}
