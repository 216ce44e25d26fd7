//! The web UI's words in Spanish (the default, the language of the manuals) and English.
//!
//! The language comes from `?lang=es|en` (remembered in a cookie), then the cookie, then the
//! browser's `Accept-Language`. Process, step and form texts come from the YAML files as written.

use axum::http::HeaderMap;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Lang, Self::Rejection> {
        Ok(Lang::of_request(parts.uri.query(), &parts.headers))
    }
}

/// A language the UI speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Es,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "es" => Some(Lang::Es),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch link.
    pub fn other(self) -> Lang {
        match self {
            Lang::Es => Lang::En,
            Lang::En => Lang::Es,
        }
    }

    /// The language of a request: query, then cookie, then `Accept-Language`, then Spanish.
    pub fn of_request(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(l) = query.and_then(query_lang) {
            return l;
        }
        if let Some(l) = super::session::cookie(headers, super::session::LANG_COOKIE).and_then(|v| Lang::parse(&v)) {
            return l;
        }
        let accept = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        for part in accept.split(',') {
            let tag = part.split(';').next().unwrap_or("").trim();
            let primary = tag.split('-').next().unwrap_or("");
            if let Some(l) = Lang::parse(primary) {
                return l;
            }
        }
        Lang::Es
    }

    /// The text for `key`; an unknown key shows as itself (a test keeps templates and table in step).
    pub fn t(self, key: &str) -> &'static str {
        match TEXTS.iter().find(|(k, _, _)| *k == key) {
            Some((_, es, en)) => match self {
                Lang::Es => es,
                Lang::En => en,
            },
            None => {
                tracing::warn!(key, "missing UI text");
                "?"
            }
        }
    }
}

/// `lang=xx` in a query string.
pub fn query_lang(query: &str) -> Option<Lang> {
    query.split('&').find_map(|kv| kv.strip_prefix("lang=")).and_then(Lang::parse)
}

/// Key, Spanish, English.
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("app.name", "Trámite", "Trámite"),
    ("nav.skip", "Saltar al contenido", "Skip to content"),
    ("nav.inbox", "Bandeja", "Inbox"),
    ("nav.dashboard", "Panel de SLA", "SLA dashboard"),
    ("nav.signout", "Cerrar sesión", "Sign out"),
    ("nav.main", "Navegación principal", "Main navigation"),
    ("nav.lang", "English", "Español"),
    ("nav.signed_in_as", "Sesión de", "Signed in as"),
    ("login.title", "Iniciar sesión", "Sign in"),
    ("login.user", "Usuario", "User name"),
    ("login.password", "Contraseña", "Password"),
    ("login.submit", "Entrar", "Sign in"),
    ("login.failed", "Usuario o contraseña incorrectos.", "Wrong user name or password."),
    (
        "login.locked",
        "Demasiados intentos fallidos. Por seguridad, espere",
        "Too many failed attempts. For your security, wait",
    ),
    ("login.locked_minutes", "minutos e inténtelo de nuevo.", "minutes and try again."),
    (
        "login.busy",
        "El servidor está ocupado; inténtelo de nuevo en unos segundos.",
        "The server is busy; try again in a few seconds.",
    ),
    (
        "login.intro",
        "Entre con el usuario y la contraseña que le dio el administrador.",
        "Sign in with the user name and password your administrator gave you.",
    ),
    ("login.oidc", "Entrar con", "Sign in with"),
    (
        "login.or_password",
        "O entre con un usuario y contraseña de Trámite:",
        "Or sign in with a Trámite user name and password:",
    ),
    ("oidc.title", "No se pudo iniciar sesión", "Could not sign in"),
    ("oidc.back", "Volver a iniciar sesión", "Back to sign-in"),
    (
        "oidc.state",
        "La solicitud de inicio de sesión no es válida o caducó. Vuelva a intentarlo desde la página de inicio de sesión.",
        "The sign-in request is not valid or has expired. Try again from the sign-in page.",
    ),
    (
        "oidc.provider_refused",
        "El proveedor de identidad no completó el inicio de sesión.",
        "The identity provider did not complete the sign-in.",
    ),
    (
        "oidc.unreachable",
        "No fue posible comunicarse con el proveedor de identidad. Inténtelo de nuevo en unos minutos.",
        "The identity provider cannot be reached. Try again in a few minutes.",
    ),
    (
        "oidc.invalid",
        "La respuesta del proveedor de identidad no pudo verificarse.",
        "The identity provider's answer could not be verified.",
    ),
    (
        "oidc.no_name",
        "El proveedor de identidad no dio un nombre de usuario que Trámite pueda usar.",
        "The identity provider gave no user name Trámite can use.",
    ),
    (
        "oidc.no_role",
        "Su cuenta no tiene ningún rol en Trámite. Pida a quien administra Trámite que le dé acceso.",
        "Your account has no role in Trámite. Ask Trámite's administrator for access.",
    ),
    ("oidc.disabled", "Su cuenta está deshabilitada en Trámite.", "Your account is disabled in Trámite."),
    (
        "oidc.taken",
        "Ese nombre de usuario ya pertenece a otra cuenta de Trámite. Pida a quien administra Trámite que lo resuelva.",
        "That user name belongs to another Trámite account. Ask Trámite's administrator to sort it out.",
    ),
    ("inbox.title", "Mi bandeja de tareas", "My task inbox"),
    ("inbox.all_title", "Todas las tareas abiertas", "All open tasks"),
    ("inbox.filters", "Filtros", "Filters"),
    ("inbox.process", "Proceso", "Process"),
    ("inbox.all_processes", "Todos los procesos", "All processes"),
    ("inbox.sla", "Estado del SLA", "SLA state"),
    ("inbox.all_states", "Todos", "All"),
    ("inbox.apply", "Filtrar", "Filter"),
    ("inbox.empty", "No hay tareas pendientes con estos filtros.", "No open tasks match these filters."),
    ("inbox.count", "Tareas en esta página:", "Tasks on this page:"),
    ("pager.label", "Páginas", "Pages"),
    ("pager.first", "« Primera página", "« First page"),
    ("pager.next", "Página siguiente »", "Next page »"),
    ("new.entry", "Nuevo caso", "New case"),
    ("new.title", "Registrar un caso", "Register a case"),
    (
        "new.lead",
        "Los procedimientos que usted puede iniciar. Elija uno para llenar su formulario de inicio.",
        "The procedures you may start. Choose one to fill in its start form.",
    ),
    ("new.none", "No tiene un rol que pueda iniciar procedimientos.", "You hold no role that may start a procedure."),
    ("new.who", "Lo inician", "Started by"),
    ("new.start", "Iniciar", "Start"),
    ("new.form", "Datos del caso", "Case details"),
    ("new.no_form", "Este procedimiento no pide datos para iniciar.", "This procedure asks for no data to start."),
    ("new.submit", "Registrar caso", "Register case"),
    (
        "new.stale_form",
        "El formulario no es válido o caducó: vuelva a abrirlo desde «Registrar un caso».",
        "The form is not valid or has expired: open it again from “Register a case”.",
    ),
    ("new.started", "Caso registrado.", "Case registered."),
    ("process.source", "Manual de origen", "Source manual"),
    ("process.list_title", "Procesos", "Processes"),
    ("process.none", "No tiene un rol en ningún proceso.", "You hold no role in any process."),
    ("process.not_deployed", "Archivos que no se desplegaron", "Files that did not deploy"),
    ("process.version", "Versión", "Version"),
    ("process.versions", "versiones", "versions"),
    ("process.calendar", "Calendario", "Calendar"),
    (
        "process.not_by_hand",
        "No se inicia a mano (programado o llamado por otro proceso)",
        "Not started by hand (scheduled or called by another process)",
    ),
    ("process.see_cases", "Ver sus casos", "See its cases"),
    ("process.roles", "Roles", "Roles"),
    ("process.steps", "Pasos", "Steps"),
    ("process.form", "Formulario", "Form"),
    ("process.forms", "Formularios", "Forms"),
    ("process.schedules", "Programación", "Schedules"),
    ("process.from", "Desde", "From"),
    ("process.until", "Hasta", "Until"),
    ("process.limit", "Plazo", "Limit"),
    ("process.warning", "Aviso", "Warning"),
    ("process.within", "en", "within"),
    ("process.by", "a más tardar", "by"),
    ("process.before", "antes de", "before"),
    ("process.after", "después de", "after"),
    ("process.before_due", "antes del vencimiento", "before it is due"),
    ("process.after_start", "después del inicio", "after it starts"),
    ("process.of_the_time", "del plazo", "of the time"),
    ("process.anchor_started", "el inicio del caso", "the start of the case"),
    ("process.anchor_completed", "el fin del caso", "the end of the case"),
    ("process.anchor_entered", "la llegada a", "arrival at"),
    ("process.anchor_left", "el término de", "completion of"),
    ("nav.new", "Nuevo", "New"),
    ("cases.title", "Casos", "Cases"),
    ("cases.mine", "Mis solicitudes", "My requests"),
    ("cases.search", "Buscar casos", "Find cases"),
    ("cases.q", "Folio o texto", "Folio or text"),
    (
        "cases.q_help",
        "Un folio, o palabras de cualquier dato del caso (nombre, correo, asunto…).",
        "A folio, or words from any of the case's data (name, e-mail, subject…).",
    ),
    ("cases.outcome", "Resultado", "Outcome"),
    ("cases.from", "Iniciado desde", "Started from"),
    ("cases.to", "Iniciado hasta", "Started until"),
    ("cases.role", "En manos de", "Held by"),
    ("cases.any_role", "Cualquier rol", "Any role"),
    ("cases.only_mine", "Solo los que yo inicié", "Only those I started"),
    ("cases.apply", "Buscar", "Search"),
    ("cases.count", "Casos en esta página:", "Cases on this page:"),
    ("cases.csv", "Descargar todo en CSV", "Download all as CSV"),
    ("cases.empty", "Ningún caso coincide con la búsqueda.", "No case matches the search."),
    ("cases.ended", "Terminado", "Ended"),
    ("cases.started_by", "Iniciado por", "Started by"),
    ("nav.cases", "Casos", "Cases"),
    ("nav.processes", "Procesos", "Processes"),
    ("inbox.done", "Listo: tarea terminada.", "Done: task finished."),
    ("col.task", "Tarea", "Task"),
    ("col.process", "Proceso", "Process"),
    ("col.folio", "Folio", "Folio"),
    ("col.due", "Vence", "Due"),
    ("col.sla", "SLA", "SLA"),
    ("col.role", "Rol", "Role"),
    ("col.claimed", "Tomada por", "Claimed by"),
    ("col.actions", "Acciones", "Actions"),
    ("col.when", "Cuándo", "When"),
    ("col.who", "Quién", "Who"),
    ("col.what", "Qué", "What"),
    ("col.field", "Dato", "Field"),
    ("col.value", "Valor", "Value"),
    ("col.instance", "Instancia", "Instance"),
    ("col.recipient", "Destinatario", "Recipient"),
    ("col.subject", "Asunto", "Subject"),
    ("col.sent", "Enviado", "Sent"),
    ("col.kind", "Tipo", "Kind"),
    ("col.roles", "Roles avisados", "Roles told"),
    ("col.started", "Inicio", "Started"),
    ("col.state", "Estado", "State"),
    ("col.elapsed", "Transcurrido (hábil)", "Elapsed (business)"),
    ("col.remaining", "Restante (hábil)", "Remaining (business)"),
    ("col.total", "Total", "Total"),
    ("col.met", "Cumplidos", "Met"),
    ("col.late", "Tarde", "Late"),
    ("col.breached", "Incumplidos abiertos", "Breached, open"),
    ("col.open", "En curso", "Running"),
    ("col.compliance", "Cumplimiento", "Compliance"),
    ("col.step", "Paso", "Step"),
    ("col.on_time", "A tiempo", "On time"),
    ("col.attempts", "Intentos", "Attempts"),
    ("col.count", "Cantidad", "Count"),
    ("col.month", "Mes", "Month"),
    ("none", "—", "—"),
    ("sla.ok", "En tiempo", "On time"),
    ("sla.warning", "En riesgo", "At risk"),
    ("sla.breached", "Incumplido", "Breached"),
    ("sla.met", "Cumplido", "Met"),
    ("sla.met-late", "Cumplido tarde", "Met late"),
    ("sla.none", "Sin SLA", "No SLA"),
    ("task.claim", "Tomar", "Claim"),
    ("task.release", "Liberar", "Release"),
    ("task.open", "Abrir", "Open"),
    ("task.unclaimed", "Sin tomar", "Unclaimed"),
    ("task.data", "Datos del trámite", "Case data"),
    ("task.no_data", "Aún no hay datos.", "No data yet."),
    ("task.form", "Formulario", "Form"),
    (
        "task.no_form",
        "Este paso no tiene formulario: márquelo como hecho cuando termine.",
        "This step has no form: mark it done when you finish.",
    ),
    ("task.complete", "Terminar tarea", "Complete task"),
    ("task.approve", "Aprobar", "Approve"),
    ("task.reject", "Rechazar", "Reject"),
    ("task.decision", "Decisión", "Decision"),
    ("task.comment", "Comentario", "Comment"),
    (
        "task.comment_help",
        "Obligatorio al rechazar: la persona que retome el trámite lo verá.",
        "Required to reject: whoever takes the case back will read it.",
    ),
    ("task.rejection", "Observaciones del último rechazo", "Notes from the last rejection"),
    ("task.rejected_by", "Rechazado por", "Rejected by"),
    ("task.errors", "Revise los campos marcados.", "Please check the marked fields."),
    ("task.required", "obligatorio", "required"),
    ("task.choose", "— Elija una opción —", "— Choose an option —"),
    ("task.yes", "Sí", "Yes"),
    ("task.no", "No", "No"),
    ("task.row", "Fila", "Row"),
    ("task.done_already", "Esta tarea ya se terminó.", "This task is already done."),
    ("task.see_instance", "Ver el trámite completo", "See the whole case"),
    ("task.claimed_by_other", "Tomada por otra persona", "Claimed by someone else"),
    ("task.file_max", "Tamaño máximo:", "Largest size:"),
    ("task.file_kept", "Adjunto:", "Attached:"),
    ("task.file_replace", "Elija otro archivo solo para reemplazarlo.", "Choose another file only to replace it."),
    ("instance.files", "Archivos", "Files"),
    ("instance.title", "Trámite", "Case"),
    ("instance.timeline", "Historial", "Timeline"),
    ("instance.diagram", "Flujo del proceso", "Process flow"),
    ("instance.steps_text", "Los pasos, en texto", "The steps, as text"),
    ("instance.here", "aquí está", "current"),
    ("instance.visited", "recorrido", "visited"),
    ("instance.mermaid", "Diagrama en texto Mermaid", "Diagram as Mermaid text"),
    ("instance.slas", "Acuerdos de servicio (SLA)", "Service levels (SLA)"),
    ("instance.no_slas", "Este proceso no tiene SLA.", "This process has no SLA."),
    ("instance.status", "Estado", "Status"),
    ("instance.running", "En curso", "Running"),
    ("instance.ended", "Terminado", "Ended"),
    ("instance.cancelled", "Cancelado", "Cancelled"),
    ("instance.open_tasks", "Tareas abiertas", "Open tasks"),
    ("instance.business_days", "días hábiles", "business days"),
    ("instance.overdue_by", "vencido por", "overdue by"),
    ("instance.goes_to", "sigue a", "goes to"),
    ("instance.system", "Sistema", "System"),
    ("instance.end", "fin", "end"),
    ("instance.parent", "Llamado desde", "Called from"),
    ("instance.children", "Subprocesos", "Sub-processes"),
    (
        "instance.incidents",
        "Incidentes: el trámite espera un subproceso que no pudo correr",
        "Incidents: the case waits for a sub-process that could not run",
    ),
    ("instance.retry", "Reintentar", "Retry"),
    ("kind.task", "Tarea", "Task"),
    ("kind.approval", "Aprobación", "Approval"),
    ("kind.decision", "Decisión", "Decision"),
    ("kind.parallel", "En paralelo", "Parallel"),
    ("kind.wait", "Espera", "Wait"),
    ("kind.call", "Subproceso", "Sub-process"),
    ("kind.end", "Fin", "End"),
    ("nav.users", "Usuarios", "Users"),
    ("users.title", "Usuarios y roles", "Users and roles"),
    (
        "users.help",
        "Un rol se tiene en todos los ámbitos (area_responsable) o en uno (area_responsable@Dirección de Promoción): las tareas con ámbito llegan solo a quien tiene el rol en ese ámbito o en todos.",
        "A role is held in every scope (area_responsable) or in one (area_responsable@Dirección de Promoción): scoped tasks reach only those who hold the role in that scope or in all.",
    ),
    ("users.name", "Usuario", "User"),
    ("users.email", "Correo electrónico", "E-mail"),
    ("users.roles", "Roles", "Roles"),
    ("users.roles_help", "Uno por línea: rol, o rol@ámbito.", "One per line: role, or role@scope."),
    ("users.admin", "Administrador", "Administrator"),
    (
        "users.password",
        "Contraseña para entrar (opcional, al menos 8 caracteres)",
        "Sign-in password (optional, at least 8 characters)",
    ),
    ("users.new", "Nuevo usuario", "New user"),
    ("users.add", "Crear usuario", "Create user"),
    ("users.edit", "Cambiar", "Change"),
    ("users.save", "Guardar", "Save"),
    ("users.created", "Se creó el usuario", "Created user"),
    ("users.updated", "Se guardaron los cambios de", "Saved the changes of"),
    ("users.token_once", "Su clave para la API se muestra solo esta vez:", "Their API token is shown this once only:"),
    ("dash.not_deployed", "Definiciones no desplegadas", "Definitions not deployed"),
    (
        "dash.incidents",
        "Incidentes: llamadas a subprocesos detenidas",
        "Incidents: calls to sub-processes that are stuck",
    ),
    ("dash.title", "Panel de SLA", "SLA dashboard"),
    ("dash.range", "Periodo", "Period"),
    ("dash.from", "Desde", "From"),
    ("dash.to", "Hasta", "To"),
    ("dash.show", "Mostrar", "Show"),
    ("dash.breached", "Tareas con SLA incumplido o plazo vencido", "Tasks with a breached SLA or a passed deadline"),
    ("dash.at_risk", "Tareas en riesgo", "Tasks at risk"),
    ("dash.none", "Ninguna.", "None."),
    ("dash.by_process", "Cumplimiento de SLA por proceso", "SLA compliance per process"),
    ("dash.by_step", "Plazos de pasos por paso", "Step deadlines per step"),
    ("dash.alerts", "Historial de alertas", "Alert history"),
    ("dash.outbox", "Correos enviados y pendientes", "E-mail sent and pending"),
    ("dash.pending", "pendiente", "pending"),
    ("dash.chart", "Solicitudes por mes según un dato del formulario", "Requests per month by a form field"),
    ("dash.chart_field", "Dato", "Field"),
    ("dash.chart_empty", "No hay trámites con este dato en el periodo.", "No cases with this field in the period."),
    ("dash.exports", "Exportar", "Export"),
    ("dash.export_instances", "Datos de los trámites", "Case data"),
    ("dash.export_sla", "Reporte de SLA", "SLA report"),
    ("dash.empty_value", "(sin dato)", "(empty)"),
    ("alert.assigned", "Tarea asignada", "Task assigned"),
    ("alert.sla-warning", "Aviso de SLA", "SLA warning"),
    ("alert.sla-breach", "SLA incumplido", "SLA breached"),
    ("alert.due-warning", "Plazo por vencer", "Deadline near"),
    ("alert.overdue", "Plazo vencido", "Deadline passed"),
    ("event.started", "Inició el trámite", "Started the case"),
    ("event.entered", "Llegó a", "Reached"),
    ("event.claimed", "Tomó la tarea", "Claimed the task"),
    ("event.unclaimed", "Liberó la tarea", "Released the task"),
    ("event.completed", "Completó", "Completed"),
    ("event.approved", "Aprobó", "Approved"),
    ("event.rejected", "Rechazó", "Rejected"),
    ("event.passed", "Pasó por", "Passed"),
    ("event.forked", "Abrió ramas en paralelo en", "Opened parallel branches at"),
    ("event.branch_joined", "Terminó una rama", "A branch finished"),
    ("event.branch_overdue", "Venció el plazo de una rama", "A branch's deadline passed"),
    ("event.joined", "Se reunieron las ramas", "Branches joined"),
    ("event.due_warned", "Avisó que vence pronto", "Warned the deadline is near for"),
    ("event.branch_warned", "Avisó que vence pronto una rama", "Warned a branch's deadline is near"),
    ("event.overdue", "Venció el plazo de", "Deadline passed for"),
    ("event.reassigned", "Reasignó", "Reassigned"),
    ("event.withdrawn", "Retiró la tarea", "Withdrew the task"),
    ("event.call_started", "Pidió el subproceso", "Asked for the sub-process"),
    ("event.started_by_call", "Inició como subproceso de", "Started as a sub-process of"),
    ("event.call_linked", "Inició el subproceso", "Started the sub-process"),
    ("event.call_failed", "No pudo continuar el subproceso", "The sub-process could not go on"),
    ("event.call_ended", "Terminó el subproceso", "The sub-process ended"),
    ("event.sla_started", "Comenzó a contar el SLA", "SLA clock started"),
    ("event.sla_paused", "Pausó el SLA", "SLA paused"),
    ("event.sla_resumed", "Reanudó el SLA", "SLA resumed"),
    ("event.sla_stopped", "Se detuvo el SLA", "SLA stopped"),
    ("event.sla_warned", "Aviso previo del SLA", "SLA warning"),
    ("event.sla_breached", "Se incumplió el SLA", "SLA breached"),
    ("event.alerted", "Avisó a", "Notified"),
    ("event.sent", "Envió un mensaje a", "Sent a message to"),
    ("event.report_attached", "Adjuntó el informe calculado a", "Attached the computed report to"),
    ("indicators.title", "Indicadores", "Indicators"),
    ("indicators.from", "Desde", "From"),
    ("indicators.to", "Hasta", "To"),
    ("indicators.show", "Mostrar", "Show"),
    ("indicators.none", "Este proceso no declara indicadores.", "This process declares no indicators."),
    ("indicators.target", "Meta", "Target"),
    ("indicators.period", "Periodo", "Period"),
    ("indicators.value", "Valor", "Value"),
    ("indicators.total", "Total", "Total"),
    ("indicators.no_value", "(sin dato)", "(no value)"),
    ("indicators.by_period", "Por periodo", "Per period"),
    ("indicators.by_group", "Por grupo", "Per group"),
    ("indicators.by_group_in", "Por grupo en", "Per group in"),
    ("indicators.no_cases", "No hay casos detrás de este valor.", "No cases behind this value."),
    ("indicators.yes", "Sí", "Yes"),
    ("indicators.report", "Informe calculado", "Computed report"),
    ("indicators.report_attached", "Informe adjunto al abrir la tarea:", "Report attached when the task opened:"),
    (
        "indicators.report_pending",
        "El informe en Excel se está adjuntando a la tarea; recargue en unos segundos.",
        "The Excel report is being attached to the task; reload in a few seconds.",
    ),
    (
        "indicators.report_help",
        "Los indicadores del periodo anterior, calculados de los casos: revíselos en lugar de capturarlos.",
        "The indicators of the previous period, computed from the cases: review them instead of typing them in.",
    ),
    ("indicators.no", "No", "No"),
    ("public.link_invalid", "Este enlace no es válido", "This link is not valid"),
    (
        "public.link_invalid_text",
        "El enlace no corresponde a ninguna solicitud. Revise que lo copió completo del mensaje que recibió.",
        "The link matches no request. Check that you copied all of it from the message you received.",
    ),
    ("public.link_expired", "Este enlace venció", "This link has expired"),
    (
        "public.link_expired_text",
        "El plazo para responder con este enlace terminó. Si aún desea responder, comuníquese con la institución.",
        "The time to answer with this link is over. If you still wish to answer, contact the institution.",
    ),
    ("public.link_used", "Ya se respondió", "Already answered"),
    (
        "public.link_used_text",
        "Esta solicitud ya se respondió con este enlace. Gracias.",
        "This request was already answered with this link. Thank you.",
    ),
    ("public.link_closed", "Ya no está abierta", "No longer open"),
    ("public.link_closed_text", "Esta solicitud ya no espera respuesta.", "This request no longer awaits an answer."),
    ("public.thanks", "Gracias", "Thank you"),
    ("public.answered", "Recibimos su respuesta.", "We received your answer."),
    ("public.received", "Recibimos su mensaje.", "We received your message."),
    ("public.folio", "Su folio es", "Your reference is"),
    ("public.too_many", "Demasiados envíos", "Too many submissions"),
    (
        "public.too_many_text",
        "Recibimos muchos formularios desde su conexión. Intente de nuevo en unos minutos.",
        "We received many forms from your connection. Try again in a few minutes.",
    ),
    ("public.send", "Enviar", "Send"),
    ("public.leave_empty", "Deje este campo vacío", "Leave this field empty"),
    ("event.sent_link", " (con enlace para responder)", " (with a link to answer)"),
    ("event.ended", "Terminó el trámite", "The case ended"),
    ("event.cancelled", "Canceló el trámite", "Cancelled the case"),
    ("error.title", "No se pudo", "Could not do that"),
    ("error.forbidden", "No tiene permiso para ver esta página.", "You may not see this page."),
    ("error.not_found", "No existe lo que busca.", "What you are looking for does not exist."),
    (
        "error.csrf",
        "El formulario caducó o no vino de esta aplicación. Vuelva a cargar la página e intente de nuevo.",
        "The form expired or did not come from this application. Reload the page and try again.",
    ),
    (
        "error.conflict",
        "Alguien más cambió este trámite. Vuelva a cargar la página.",
        "Someone else changed this case. Reload the page.",
    ),
    (
        "error.internal",
        "Algo falló de nuestro lado. Intente de nuevo más tarde.",
        "Something went wrong on our side. Try again later.",
    ),
    ("task.item", "Elemento", "Item"),
    ("task.assigned_to", "Asignada a", "Assigned to"),
    ("task.computed", "se calcula al enviar", "computed when sent"),
    ("error.invalid", "La solicitud no es válida", "The request is not valid"),
    ("error.upload", "No se pudo recibir el archivo", "The file could not be received"),
    ("error.admin_only", "Esta página es solo para administradores.", "This page is for administrators only."),
    ("error.back", "Volver a la bandeja", "Back to the inbox"),
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_key_used_by_a_template_or_the_code_has_both_languages() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = Vec::new();
        for dir in [root.join("templates/web"), root.join("src/web")] {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                sources.push(std::fs::read_to_string(e.path()).unwrap());
            }
        }
        let re = regex_lite(&sources.join("\n"));
        assert!(re.len() > 50, "found only {} keys", re.len());
        for key in re {
            assert!(TEXTS.iter().any(|(k, _, _)| *k == key), "no text for `{key}`");
        }
        let mut keys: Vec<&str> = TEXTS.iter().map(|(k, _, _)| *k).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate keys");
    }

    /// Keys in `.t("…")` calls.
    fn regex_lite(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, _) in text.match_indices(".t(\"") {
            let rest = &text[i + 4..];
            if let Some(end) = rest.find('"') {
                let key = &rest[..end];
                if key.contains('.') && !key.contains(' ') {
                    out.push(key.to_string());
                }
            }
        }
        out
    }

    #[test]
    fn language_comes_from_query_cookie_then_accept_language() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::of_request(None, &h), Lang::Es);
        h.insert("accept-language", "en-US,en;q=0.9".parse().unwrap());
        assert_eq!(Lang::of_request(None, &h), Lang::En);
        h.insert("cookie", "tramite_lang=es".parse().unwrap());
        assert_eq!(Lang::of_request(None, &h), Lang::Es);
        assert_eq!(Lang::of_request(Some("a=1&lang=en"), &h), Lang::En);
        assert_eq!(Lang::En.t("nav.inbox"), "Inbox");
    }
}
