//! What every page shares: the chrome (language, user, navigation, CSRF token) and small
//! formatting helpers for instants, business durations and SLA badges.

use jiff::{SignedDuration, Timestamp};
use tramite_engine::calendar::Calendar;

use super::i18n::Lang;
use super::session::Session;

/// The frame around a page's content.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub l: Lang,
    pub title: String,
    pub user: Option<String>,
    pub admin: bool,
    pub csrf: String,
    /// The current page in the other language.
    pub switch_href: String,
    /// `inbox`, `dashboard` or empty: which navigation link is current.
    pub nav: &'static str,
}

impl Chrome {
    pub fn new(s: &Session, title: impl Into<String>, path_and_query: &str, nav: &'static str) -> Chrome {
        Chrome {
            l: s.lang,
            title: title.into(),
            user: Some(s.user.name.clone()),
            admin: s.user.admin,
            csrf: s.csrf.clone(),
            switch_href: with_lang(path_and_query, s.lang.other()),
            nav,
        }
    }

    /// A page without a signed-in user (sign-in, errors).
    pub fn bare(l: Lang, title: impl Into<String>) -> Chrome {
        Chrome {
            l,
            title: title.into(),
            user: None,
            admin: false,
            csrf: String::new(),
            switch_href: with_lang("/login", l.other()),
            nav: "",
        }
    }

    /// A page for someone without an account (a link, a public form): no navigation.
    pub fn public(l: Lang, title: &str) -> Chrome {
        Chrome { nav: "public", switch_href: String::new(), ..Chrome::bare(l, title) }
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.l.t(key)
    }
}

/// `path?query` with `lang=` set to `l` (replacing any `lang=` already there).
pub fn with_lang(path_and_query: &str, l: Lang) -> String {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let mut parts: Vec<&str> = query.split('&').filter(|kv| !kv.is_empty() && !kv.starts_with("lang=")).collect();
    let lang = format!("lang={}", l.code());
    parts.push(&lang);
    format!("{path}?{}", parts.join("&"))
}

/// `next` when it is a path on this site, else `default`.
pub fn safe_or<'a>(next: &'a str, default: &'a str) -> &'a str {
    super::session::safe_next(next).unwrap_or(default)
}

/// `path?k=v&…` with the filters that are set, and the page `cursor` when given.
pub fn query_href(path: &str, filters: &[(&str, Option<&str>)], cursor: Option<&str>) -> String {
    let parts: Vec<String> = filters
        .iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| format!("{k}={}", urlencode(v))))
        .chain(cursor.map(|c| format!("cursor={}", urlencode(c))))
        .collect();
    if parts.is_empty() { path.to_string() } else { format!("{path}?{}", parts.join("&")) }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An instant as local people read it: `2026-03-18 18:00 CST`.
pub fn local(t: Timestamp, cal: &Calendar) -> String {
    t.to_zoned(cal.zone().clone()).strftime("%Y-%m-%d %H:%M %Z").to_string()
}

/// A duration as hours and minutes: `12 h 05 min`.
pub fn hours_minutes(d: SignedDuration) -> String {
    let mins = d.as_secs().max(0) / 60;
    format!("{} h {:02} min", mins / 60, mins % 60)
}

/// An SLA standing as a badge: the text key and the CSS class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Badge {
    pub key: &'static str,
    pub class: &'static str,
}

impl Badge {
    pub fn of_state(state: &str) -> Badge {
        match state {
            "warning" => Badge { key: "sla.warning", class: "badge warn" },
            "breached" => Badge { key: "sla.breached", class: "badge bad" },
            "met" => Badge { key: "sla.met", class: "badge good" },
            "met-late" => Badge { key: "sla.met-late", class: "badge late" },
            "ok" => Badge { key: "sla.ok", class: "badge ok" },
            _ => Badge { key: "sla.none", class: "badge none" },
        }
    }

    /// The standing of a task's most urgent SLA at `now` (the application layer's).
    pub fn of_task(t: &crate::store::TaskRow, now: Timestamp) -> Badge {
        Badge::of_state(crate::app::task_standing(t, now).as_str())
    }
}

/// Who a task is for, as people read it: the role's title, with its scope (`Área responsable
/// (Dirección de Promoción)`), or the person it is assigned to.
pub fn holder_title(role_title: &str, t: &crate::store::TaskRow, lang: super::i18n::Lang) -> String {
    match (&t.assignee, &t.role_scope) {
        (Some(user), _) => format!("{} {user}", lang.t("task.assigned_to")),
        (None, Some(scope)) => format!("{role_title} ({scope})"),
        (None, None) => role_title.to_string(),
    }
}

/// A `for_each` element as one line: its position (from 1) and its first few values.
pub fn item_line(item: &crate::store::ItemRef) -> String {
    let values: Vec<String> = match &item.data {
        serde_json::Value::Object(m) => m
            .iter()
            .filter(|(_, v)| !v.is_null() && !v.is_object() && !v.is_array())
            .take(3)
            .map(|(k, v)| format!("{k}: {}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
            .collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![other.as_str().map(str::to_string).unwrap_or_else(|| other.to_string())],
    };
    if values.is_empty() {
        format!("#{}", item.index + 1)
    } else {
        format!("#{} · {}", item.index + 1, values.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_switch_keeps_the_query() {
        assert_eq!(with_lang("/inbox?sla=ok&lang=es", Lang::En), "/inbox?sla=ok&lang=en");
        assert_eq!(with_lang("/inbox", Lang::Es), "/inbox?lang=es");
    }

    #[test]
    fn formats_durations_urls_and_items() {
        assert_eq!(hours_minutes(SignedDuration::from_mins(125)), "2 h 05 min");
        let item = crate::store::ItemRef {
            index: 1,
            data: serde_json::json!({"accion": "Capacitar", "responsable": "gerente"}),
        };
        assert_eq!(item_line(&item), "#2 · accion: Capacitar, responsable: gerente");
        assert_eq!(urlencode("/tasks/a.1?x=ñ"), "/tasks/a.1%3Fx%3D%C3%B1");
    }
}
