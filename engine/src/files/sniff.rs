//! What a file is, judged from its bytes, never from its name: magic numbers (the `infer`
//! crate), the entries of a ZIP container (OOXML: `[Content_Types].xml` plus `xl/`, `word/` or
//! `ppt/`), the streams of an OLE compound file (XLS, DOC, PPT, through `cfb`) and, last, text.
//!
//! A name only refines text: valid UTF-8 named `*.csv` is `text/csv`. A PDF named `informe.xlsx`
//! is still `application/pdf`.

use std::io::Cursor;

pub const PDF: &str = "application/pdf";
pub const ZIP: &str = "application/zip";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
pub const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
pub const XLS: &str = "application/vnd.ms-excel";
pub const DOC: &str = "application/msword";
pub const PPT: &str = "application/vnd.ms-powerpoint";
/// An OLE compound file that is none of the Office formats above (an Outlook `.msg`, a
/// damaged or truncated file).
pub const OLE: &str = "application/x-ole-storage";
pub const TEXT: &str = "text/plain";
pub const CSV: &str = "text/csv";
pub const TSV: &str = "text/tab-separated-values";

const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// The MIME type of a whole file's content, or `None` when nothing is recognised (an empty
/// file, binary data of no known kind).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    sniff_part(bytes, true)
}

/// [`sniff`], with text refined by the file's extension: `text/csv` for `*.csv`,
/// `text/tab-separated-values` for `*.tsv`. Only text is refined.
pub fn sniff_named(bytes: &[u8], file_name: &str) -> Option<&'static str> {
    refine(sniff(bytes), file_name)
}

/// Text refined by the file's extension; anything else unchanged.
pub fn refine<'a>(mime: Option<&'a str>, file_name: &str) -> Option<&'a str> {
    match (mime, extension(file_name).as_deref()) {
        (Some(TEXT), Some("csv")) => Some(CSV),
        (Some(TEXT), Some("tsv")) => Some(TSV),
        _ => mime,
    }
}

/// The lower-case extension of a file name, without the dot.
pub fn extension(file_name: &str) -> Option<String> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => Some(ext.to_ascii_lowercase()),
        _ => None,
    }
}

/// Whether sniffing this beginning of a file may need the rest of it: the names of a ZIP's
/// entries are also in its central directory at the end, and an OLE file's directory may be
/// anywhere.
pub fn needs_whole(head: &[u8]) -> bool {
    head.starts_with(OLE_MAGIC) || head.starts_with(ZIP_MAGIC)
}

/// Sniffs `bytes`, which is the whole file when `complete`, or only its beginning (then a
/// UTF-8 sequence cut at the end still counts as text).
pub fn sniff_part(bytes: &[u8], complete: bool) -> Option<&'static str> {
    if bytes.is_empty() {
        return None;
    }
    if bytes.starts_with(OLE_MAGIC) {
        return Some(ole_kind(bytes));
    }
    if bytes.starts_with(ZIP_MAGIC)
        && let Some(office) = ooxml_kind(bytes)
    {
        return Some(office);
    }
    if let Some(kind) = infer::get(bytes) {
        return Some(match kind.mime_type() {
            // `infer` takes a ZIP whose first entry is `xl/…` for a workbook; without
            // `[Content_Types].xml` (checked above) it is not one.
            XLSX | DOCX | PPTX => ZIP,
            mime => mime,
        });
    }
    is_text(bytes, complete).then_some(TEXT)
}

/// Text: valid UTF-8 (a byte-order mark allowed) with no NUL and no control character other
/// than tab, line feed, form feed, carriage return and escape.
fn is_text(bytes: &[u8], complete: bool) -> bool {
    let controls = |b: &u8| *b < 0x20 && !matches!(b, b'\t' | b'\n' | 0x0C | b'\r' | 0x1B);
    if bytes.iter().any(controls) || bytes.contains(&0x7F) {
        return false;
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        // A multi-byte character cut by the end of a partial read.
        Err(e) => !complete && e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4,
    }
}

/// An OOXML document (XLSX, DOCX, PPTX): a ZIP holding `[Content_Types].xml` and the part
/// folder of its kind. `infer` judges by the first entries' positions only and misses files
/// whose third entry is `docProps/` (as `rust_xlsxwriter` and LibreOffice write them).
fn ooxml_kind(bytes: &[u8]) -> Option<&'static str> {
    let mut content_types = false;
    let mut kind = None;
    for name in zip_entry_names(bytes) {
        if name == b"[Content_Types].xml" {
            content_types = true;
        } else if kind.is_none() {
            kind = if name.starts_with(b"xl/") {
                Some(XLSX)
            } else if name.starts_with(b"word/") {
                Some(DOCX)
            } else if name.starts_with(b"ppt/") {
                Some(PPTX)
            } else {
                None
            };
        }
        if content_types && kind.is_some() {
            return kind;
        }
    }
    None
}

/// The entry names of a ZIP archive as its local file headers and its central directory record
/// them (either may be missing from a partial read). Names are stored uncompressed, so no
/// inflating is needed.
fn zip_entry_names(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let le16 = |at: usize| bytes.get(at..at + 2).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])));
    let mut at = 0;
    std::iter::from_fn(move || {
        while let Some(found) = bytes.get(at..)?.windows(2).position(|w| w == b"PK") {
            let header = at + found;
            at = header + 2;
            // Local file header: name length at 26, name at 30; central directory: 28 and 46.
            let (len_at, name_at) = match bytes.get(header + 2..header + 4) {
                Some([3, 4]) => (header + 26, header + 30),
                Some([1, 2]) => (header + 28, header + 46),
                _ => continue,
            };
            if let Some(name) = le16(len_at).and_then(|len| bytes.get(name_at..name_at + len)) {
                return Some(name);
            }
        }
        None
    })
}

/// The Office format of an OLE compound file, from the class id of its root (as Office writes
/// it) or else from the names of its streams (as other tools write it).
fn ole_kind(bytes: &[u8]) -> &'static str {
    let Ok(file) = cfb::CompoundFile::open(Cursor::new(bytes)) else {
        return OLE;
    };
    match file.root_entry().clsid().to_string().as_str() {
        "00020810-0000-0000-c000-000000000046" | "00020820-0000-0000-c000-000000000046" => return XLS,
        "00020906-0000-0000-c000-000000000046" => return DOC,
        "64818d10-4f9b-11cf-86ea-00aa00b929e8" => return PPT,
        _ => {}
    }
    for entry in file.read_root_storage() {
        match entry.name() {
            "Workbook" | "Book" => return XLS,
            "WordDocument" => return DOC,
            "PowerPoint Document" => return PPT,
            _ => {}
        }
    }
    OLE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_decide_not_names() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), Some(PDF));
        assert_eq!(sniff_named(b"%PDF-1.4\n", "tabla.xlsx"), Some(PDF));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF\0"), Some("image/jpeg"));
        assert_eq!(sniff(b"ID3\x04\0\0\0\0\0\0"), Some("audio/mpeg"));
        assert_eq!(sniff(b"OggS\0\x02\0\0\0\0\0\0\0\0"), Some("audio/ogg"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), Some("audio/x-wav"));
    }

    #[test]
    fn text_is_utf8_without_nul_and_only_named_csv_is_csv() {
        let csv = "folio,fecha,tema\n1,2025-03-01,Información\n".as_bytes();
        assert_eq!(sniff(csv), Some(TEXT));
        assert_eq!(sniff_named(csv, "reporte.CSV"), Some(CSV));
        assert_eq!(sniff_named(csv, "reporte.txt"), Some(TEXT));
        assert_eq!(sniff_named(b"a\0b", "reporte.csv"), None);
        assert_eq!(sniff(b"\xC3\x28 invalid"), None);
        assert_eq!(sniff(b"bell\x07"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn a_character_cut_by_a_partial_read_is_still_text() {
        let cut = &"año".as_bytes()[..2];
        assert_eq!(sniff_part(cut, false), Some(TEXT));
        assert_eq!(sniff_part(cut, true), None);
    }

    #[test]
    fn extensions_are_the_last_dot_segment_of_the_base_name() {
        assert_eq!(extension("a/b.c/Informe.Final.XLSX").as_deref(), Some("xlsx"));
        assert_eq!(extension(".bashrc"), None);
        assert_eq!(extension("sin-extension"), None);
        assert_eq!(extension("punto."), None);
    }

    #[test]
    fn a_zip_without_content_types_is_a_zip() {
        // One stored entry "xl/a" and no [Content_Types].xml.
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0]);
        zip.extend_from_slice(b"xl/a");
        assert_eq!(zip_entry_names(&zip).collect::<Vec<_>>(), vec![&b"xl/a"[..]]);
        assert_eq!(sniff(&zip), Some(ZIP));
    }

    #[test]
    fn a_truncated_ole_file_is_ole_storage() {
        let mut head = OLE_MAGIC.to_vec();
        head.extend_from_slice(&[0; 100]);
        assert_eq!(sniff(&head), Some(OLE));
    }
}
