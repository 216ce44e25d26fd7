//! Files as form values. A `file` field holds a file that was uploaded and stored by content:
//!
//! ```json
//! { "name": "respuesta.xlsx", "sha256": "9f86d0…", "size": 48213,
//!   "type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" }
//! ```
//!
//! `sha256` is the key of the stored bytes, `size` their length and `type` what the bytes are
//! as [`sniff`] reads them (`null` when unrecognised) — never what a client claimed. The
//! engine checks the shape and a field's `max_size` and `accept:`; whoever stores the bytes
//! (the server's blob store, the scenario runner's driver) fills `sha256`, `size` and `type`.

mod accept;
pub mod sniff;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use accept::accepts;
pub use sniff::{sniff, sniff_named};

/// The longest file name kept, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// A file as a `file` field holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileValue {
    pub name: String,
    pub sha256: String,
    pub size: u64,
    pub mime: Option<String>,
}

impl FileValue {
    /// The file `bytes` named `name` (as [`file_name`] cleans it; `archivo` when nothing is
    /// left), keyed and typed from its bytes.
    pub fn of(name: &str, bytes: &[u8]) -> FileValue {
        FileValue {
            name: file_name(name).unwrap_or_else(|| "archivo".into()),
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
            mime: sniff_named(bytes, name).map(str::to_string),
        }
    }

    /// The value as data holds it.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        m.insert("sha256".into(), Value::String(self.sha256.clone()));
        m.insert("size".into(), Value::from(self.size));
        m.insert("type".into(), self.mime.clone().map_or(Value::Null, Value::String));
        Value::Object(m)
    }

    /// A value read back from data: an object with `name`, `sha256` (64 hex digits), `size` and
    /// optionally `type`, nothing else; the reason in Spanish when it is not one.
    pub fn from_value(v: &Value) -> Result<FileValue, &'static str> {
        let Value::Object(m) = v else { return Err("Debe ser un archivo subido (nombre, sha256, tamaño).") };
        if m.keys().any(|k| !["name", "sha256", "size", "type"].contains(&k.as_str())) {
            return Err("Un archivo solo tiene name, sha256, size y type.");
        }
        let name = m.get("name").and_then(Value::as_str).and_then(file_name).ok_or("El archivo necesita un nombre.")?;
        let sha256 = m
            .get("sha256")
            .and_then(Value::as_str)
            .filter(|s| is_sha256(s))
            .ok_or("El archivo necesita su sha256 (64 dígitos hexadecimales).")?
            .to_ascii_lowercase();
        let size = m.get("size").and_then(Value::as_u64).ok_or("El archivo necesita su tamaño en bytes.")?;
        let mime = match m.get("type") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.len() <= 255 && !s.chars().any(char::is_control) => Some(s.clone()),
            Some(_) => return Err("El tipo del archivo no es válido."),
        };
        Ok(FileValue { name, sha256, size, mime })
    }
}

/// A file name as kept: the last part of a path, trimmed, without control characters, at most
/// [`MAX_NAME_CHARS`] characters; `None` when nothing usable is left.
pub fn file_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        return None;
    }
    Some(clean.chars().take(MAX_NAME_CHARS).collect())
}

/// The lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Whether `s` is a SHA-256 in hex (64 hex digits).
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every file value in `data` (at any depth: list rows included), in order.
pub fn files_in(data: &Value) -> Vec<FileValue> {
    let mut out = Vec::new();
    walk(data, &mut out);
    out
}

fn walk(v: &Value, out: &mut Vec<FileValue>) {
    match v {
        Value::Object(m) if m.contains_key("sha256") => {
            if let Ok(f) = FileValue::from_value(v) {
                out.push(f);
            }
        }
        Value::Object(m) => m.values().for_each(|x| walk(x, out)),
        Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
        _ => {}
    }
}

/// A size as `max_size:` writes it: bytes, or a number with `KB`, `MB` or `GB` (powers of
/// 1024, as file dialogs count them; `KiB`, `MiB`, `GiB` too).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    let factor: u64 = match unit.as_str() {
        "" | "b" => 1,
        "kb" | "kib" | "k" => 1 << 10,
        "mb" | "mib" | "m" => 1 << 20,
        "gb" | "gib" | "g" => 1 << 30,
        _ => return None,
    };
    let bytes = n * factor as f64;
    (bytes.is_finite() && bytes >= 1.0 && bytes <= u64::MAX as f64).then_some(bytes as u64)
}

/// A size for people: `48 KB`, `3.2 MB`.
pub fn show_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut n = bytes as f64;
    let mut unit = 0;
    while n >= 1024.0 && unit < UNITS.len() - 1 {
        n /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else if n < 10.0 {
        format!("{n:.1} {}", UNITS[unit])
    } else {
        format!("{n:.0} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_file_is_described_by_its_bytes_not_its_name() {
        let f = FileValue::of("../../etc/informe.pdf", b"hola");
        assert_eq!(f.name, "informe.pdf");
        assert_eq!(f.size, 4);
        assert_eq!(f.mime.as_deref(), Some(sniff::TEXT));
        assert_eq!(f.sha256, sha256_hex(b"hola"));
        assert_eq!(FileValue::from_value(&f.to_value()), Ok(f));
    }

    #[test]
    fn values_that_are_not_files() {
        let sha = "a".repeat(64);
        for bad in [
            json!("informe.xlsx"),
            json!({"name": "a.pdf", "sha256": "abc", "size": 1}),
            json!({"name": "", "sha256": sha, "size": 1}),
            json!({"name": "a.pdf", "sha256": sha, "size": -1}),
            json!({"name": "a.pdf", "sha256": sha, "size": 1, "path": "/etc"}),
        ] {
            assert!(FileValue::from_value(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(file_name("C:\\Users\\ana\\reporte.xlsx").as_deref(), Some("reporte.xlsx"));
        assert_eq!(file_name("a\nb.txt").as_deref(), Some("ab.txt"));
        assert_eq!(file_name(".."), None);
        assert_eq!(file_name(&"x".repeat(300)).map(|n| n.len()), Some(MAX_NAME_CHARS));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("10 MB"), Some(10 << 20));
        assert_eq!(parse_size("1.5KB"), Some(1536));
        assert_eq!(parse_size("2 GiB"), Some(2 << 30));
        assert_eq!(parse_size("diez"), None);
        assert_eq!(parse_size("0"), None);
        assert_eq!(show_size(48_213), "47 KB");
        assert_eq!(show_size(3_355_443), "3.2 MB");
        assert_eq!(show_size(12), "12 bytes");
    }
}
