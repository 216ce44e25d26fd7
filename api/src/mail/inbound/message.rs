//! An incoming e-mail read into what a start form takes: sender, display name, subject, text,
//! date and first attachment, and the start data a process's `start.mailbox` makes of them.
//! Pure: no IO, no clock (the instant the server received the message is given).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tramite_engine::definition::{Form, Mailbox};
use tramite_engine::files::FileValue;

/// What a message gives a start form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The start key: the same message gives the same key in every mailbox and after the server
    /// renumbers its messages (see [`message_key`]).
    pub key: String,
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub name: Option<String>,
    pub subject: Option<String>,
    /// The text: the text/plain part, else the HTML part as text.
    pub body: Option<String>,
    /// The `Date` header, when it is a valid date.
    pub date: Option<Timestamp>,
    pub attachment: Option<Attachment>,
}

/// The first attachment of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Reads a message (RFC 5322 bytes, MIME decoded); `None` when the bytes are no message.
pub fn read(raw: &[u8]) -> Option<Incoming> {
    let m = MessageParser::default().parse(raw)?;
    let sender = m.from().and_then(|a| a.first());
    let text = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let body = m.body_text(0).map(|b| b.replace("\r\n", "\n").trim().to_string()).filter(|b| !b.is_empty());
    let attachment = m.attachments().next().map(|part| Attachment {
        name: part.attachment_name().unwrap_or("adjunto").to_string(),
        bytes: part.contents().to_vec(),
    });
    Some(Incoming {
        key: message_key(raw, &m),
        message_id: text(m.message_id()),
        from: text(sender.and_then(|s| s.address())),
        name: text(sender.and_then(|s| s.name())),
        subject: text(m.subject()),
        body,
        date: m.date().filter(|d| d.is_valid()).and_then(|d| Timestamp::from_second(d.to_timestamp()).ok()),
        attachment,
    })
}

/// The `Message-ID` of a message's header.
pub fn message_id(header: &[u8]) -> Option<String> {
    let m = MessageParser::default().parse(header)?;
    m.message_id().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The start key of a message: a SHA-256 of what its sender wrote — the `Message-ID`, `Date`,
/// `From` and `Subject` headers as written, and the bytes after the header — so headers that
/// servers add on the way (`Received`, `Delivered-To`, …) do not change it, two different
/// messages that reuse a `Message-ID` still differ, and the same message is one case however
/// often and wherever it is read.
fn message_key(raw: &[u8], m: &mail_parser::Message<'_>) -> String {
    let mut h = Sha256::new();
    for header in ["Message-ID", "Date", "From", "Subject"] {
        h.update(m.header_raw(header).unwrap_or_default().trim().as_bytes());
        h.update(b"\n");
    }
    let body_at = (m.root_part().raw_body_offset() as usize).min(raw.len());
    h.update(&raw[body_at..]);
    format!("correo-{:x}", h.finalize())
}

/// The instant a case takes as the message's date: its `Date`, unless missing or later than
/// when the server received it (a sender's clock cannot move a deadline), then the latter.
pub fn received_at(m: &Incoming, arrived: Timestamp) -> Timestamp {
    m.date.filter(|d| *d <= arrived).unwrap_or(arrived)
}

/// The start data `mapping` makes of a message for `form`: the display name falls back to the
/// address; a name, subject or text longer than its field takes is cut to fit, ending in `…`
/// (the address never is); the date is written in `zone` with its offset; `file` is the stored
/// first attachment.
pub fn start_data(
    mapping: &Mailbox,
    form: Option<&Form>,
    m: &Incoming,
    date: Timestamp,
    zone: &TimeZone,
    file: Option<&FileValue>,
) -> Map<String, Value> {
    let mut data = Map::new();
    // An address cut short would be someone else's: the form checks it whole.
    if let (Some(field), Some(from)) = (&mapping.from, &m.from) {
        data.insert(field.clone(), Value::String(from.clone()));
    }
    let mut text = |field: &Option<String>, value: Option<&String>| {
        if let (Some(field), Some(value)) = (field, value) {
            let limit = form.and_then(|f| f.fields.iter().find(|x| &x.name == field)).and_then(|x| x.length_limit());
            data.insert(field.clone(), Value::String(fit(value, limit)));
        }
    };
    text(&mapping.name, m.name.as_ref().or(m.from.as_ref()));
    text(&mapping.subject, m.subject.as_ref());
    text(&mapping.body, m.body.as_ref());
    if let Some(field) = &mapping.date {
        let local = date.to_zoned(zone.clone());
        data.insert(field.clone(), Value::String(local.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()));
    }
    if let (Some(field), Some(file)) = (&mapping.attachment, file) {
        data.insert(field.clone(), file.to_value());
    }
    data
}

/// `s` cut to at most `limit` characters, the last one `…` when something was cut.
fn fit(s: &str, limit: Option<u32>) -> String {
    match limit.map(|l| l as usize) {
        Some(l) if s.chars().count() > l => {
            let mut cut: String = s.chars().take(l.saturating_sub(1)).collect();
            cut.truncate(cut.trim_end().len());
            cut.push('…');
            cut
        }
        _ => s.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const PLAIN: &str = "Message-ID: <1@example.org>\r\nDate: Mon, 2 Mar 2026 09:15:00 -0600\r\n\
        From: =?UTF-8?Q?Juana_P=C3=A9rez?= <juana@example.org>\r\nSubject: =?UTF-8?Q?Certificaci=C3=B3n?=\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\n¿Cómo me certifico?\r\n";

    fn mapping() -> Mailbox {
        Mailbox {
            from: Some("correo".into()),
            name: Some("nombre".into()),
            subject: Some("asunto".into()),
            body: Some("pregunta".into()),
            date: Some("fecha".into()),
            attachment: Some("anexo".into()),
        }
    }

    #[test]
    fn a_plain_message_gives_each_part() {
        let m = read(PLAIN.as_bytes()).unwrap();
        assert_eq!(m.from.as_deref(), Some("juana@example.org"));
        assert_eq!(m.name.as_deref(), Some("Juana Pérez"));
        assert_eq!(m.subject.as_deref(), Some("Certificación"));
        assert_eq!(m.body.as_deref(), Some("¿Cómo me certifico?"));
        assert_eq!(m.message_id.as_deref(), Some("1@example.org"));
        assert_eq!(m.date, Some("2026-03-02T15:15:00Z".parse().unwrap()));
        assert_eq!(m.attachment, None);
        let zone = TimeZone::get("America/Mexico_City").unwrap();
        let data = start_data(&mapping(), None, &m, m.date.unwrap(), &zone, None);
        assert_eq!(data["fecha"], "2026-03-02T09:15:00-06:00");
        assert_eq!(data["nombre"], "Juana Pérez");
        assert!(!data.contains_key("anexo"));
    }

    #[test]
    fn html_only_is_read_as_text_and_a_missing_name_is_the_address() {
        let raw = "From: pedro@example.org\r\nSubject: Hola\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
            <html><body><p>Quiero <b>informes</b>.</p></body></html>\r\n";
        let m = read(raw.as_bytes()).unwrap();
        let body = m.body.clone().unwrap();
        assert!(body.contains("Quiero informes.") && !body.contains('<'), "{body:?}");
        let data = start_data(&mapping(), None, &m, Timestamp::UNIX_EPOCH, &TimeZone::UTC, None);
        assert_eq!(data["nombre"], "pedro@example.org");
    }

    #[test]
    fn the_first_attachment_is_taken_with_its_name() {
        let raw = "From: a@example.org\r\nSubject: Acta\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nVer anexo.\r\n\
            --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"acta.pdf\"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b\r\nContent-Type: text/plain\r\n\
            Content-Disposition: attachment; filename=\"otro.txt\"\r\n\r\notro\r\n--b--\r\n";
        let m = read(raw.as_bytes()).unwrap();
        assert_eq!(m.body.as_deref(), Some("Ver anexo."));
        let a = m.attachment.unwrap();
        assert_eq!((a.name.as_str(), a.bytes.as_slice()), ("acta.pdf", b"%PDF-1.4\n".as_slice()));
    }

    #[test]
    fn headers_added_on_the_way_keep_the_key_and_the_senders_words_change_it() {
        let key = read(PLAIN.as_bytes()).unwrap().key;
        let relayed = format!("Received: from mx.example.org\r\nDelivered-To: contacto@example.org\r\n{PLAIN}");
        assert_eq!(read(relayed.as_bytes()).unwrap().key, key);
        let other_text = PLAIN.replace("me certifico", "me inscribo");
        assert_ne!(read(other_text.as_bytes()).unwrap().key, key, "a reused Message-ID with other text");
        let other_id = PLAIN.replace("<1@", "<2@");
        assert_ne!(read(other_id.as_bytes()).unwrap().key, key);
    }

    #[test]
    fn a_date_after_the_arrival_is_the_arrival() {
        let m = read(PLAIN.as_bytes()).unwrap();
        let before: Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
        let after: Timestamp = "2026-03-02T16:00:00Z".parse().unwrap();
        assert_eq!(received_at(&m, before), before, "dated in the future");
        assert_eq!(received_at(&m, after), m.date.unwrap());
        let undated = Incoming { date: None, ..m };
        assert_eq!(received_at(&undated, after), after);
    }

    #[test]
    fn long_texts_are_cut_to_fit() {
        assert_eq!(fit("abcdef", Some(4)), "abc…");
        assert_eq!(fit("ab  cdef", Some(4)), "ab…");
        assert_eq!(fit("abcd", Some(4)), "abcd");
        assert_eq!(fit("ñññññ", Some(3)).chars().count(), 3);
        assert_eq!(fit("abc", None), "abc");
    }
}
