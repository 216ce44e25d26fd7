//! A file field's `accept:` list against what an uploaded file is. Entries are MIME types
//! (`application/pdf`), wildcards (`image/*`, `*/*`) and extensions (`.xlsx`). An extension
//! entry matches only when the file has that extension **and** its content, as sniffed, is of a
//! kind that extension names: a PDF renamed `datos.xlsx` does not pass `.xlsx`.

use super::sniff::{self, CSV, DOC, DOCX, OLE, PDF, PPT, PPTX, TEXT, TSV, XLS, XLSX, ZIP};

/// What each extension's content may be, as [`sniff`](super::sniff()) names it. An extension
/// missing here matches nothing: there is no content to check it against.
const EXTENSIONS: &[(&str, &[&str])] = &[
    ("pdf", &[PDF]),
    ("png", &["image/png"]),
    ("jpg", &["image/jpeg"]),
    ("jpeg", &["image/jpeg"]),
    ("gif", &["image/gif"]),
    ("webp", &["image/webp"]),
    ("tif", &["image/tiff"]),
    ("tiff", &["image/tiff"]),
    ("xlsx", &[XLSX]),
    ("docx", &[DOCX]),
    ("pptx", &[PPTX]),
    // An old Office file that `cfb` could not classify is given the benefit of its name.
    ("xls", &[XLS, OLE]),
    ("doc", &[DOC, OLE]),
    ("ppt", &[PPT, OLE]),
    ("ods", &["application/vnd.oasis.opendocument.spreadsheet"]),
    ("odt", &["application/vnd.oasis.opendocument.text"]),
    ("odp", &["application/vnd.oasis.opendocument.presentation"]),
    ("csv", &[CSV, TEXT]),
    ("tsv", &[TSV, TEXT]),
    ("txt", &[TEXT, CSV, TSV]),
    // A saved e-mail is text (RFC 5322).
    ("eml", &[TEXT]),
    ("json", &[TEXT]),
    ("xml", &["text/xml", TEXT]),
    ("mp3", &["audio/mpeg"]),
    ("wav", &["audio/x-wav"]),
    ("ogg", &["audio/ogg", "audio/opus"]),
    ("opus", &["audio/opus", "audio/ogg"]),
    ("m4a", &["audio/m4a"]),
    ("flac", &["audio/x-flac"]),
    ("mp4", &["video/mp4"]),
    ("zip", &[ZIP]),
];

/// Other names for the types `sniff` returns, as `accept:` lists and browsers write them.
const ALIASES: &[(&str, &str)] = &[
    ("audio/wav", "audio/x-wav"),
    ("audio/wave", "audio/x-wav"),
    ("audio/vnd.wave", "audio/x-wav"),
    ("audio/mp3", "audio/mpeg"),
    ("audio/x-m4a", "audio/m4a"),
    ("audio/mp4", "audio/m4a"),
    ("audio/flac", "audio/x-flac"),
    ("image/jpg", "image/jpeg"),
    ("application/xml", "text/xml"),
    ("application/x-zip-compressed", ZIP),
];

/// Whether a file whose content sniffed as `mime` (`None`: unrecognised) and named `file_name`
/// passes a field's `accept:` list. An empty list accepts any file; `*/*` (or `*`) accepts any
/// file too. Comparison ignores case and MIME parameters (`text/csv; charset=utf-8`).
///
/// Text named `*.csv` counts as `text/csv` as well as `text/plain`, so `text/csv` in the list
/// accepts it, whichever of [`sniff`](super::sniff()) or [`sniff_named`](super::sniff_named)
/// the caller used.
pub fn accepts(accept: &[String], mime: Option<&str>, file_name: &str) -> bool {
    if accept.is_empty() {
        return true;
    }
    let refined = mime.and_then(|m| sniff::refine(Some(canonical(m)), file_name));
    let base = mime.map(canonical);
    let is = |wanted: &str| refined == Some(wanted) || base == Some(wanted);
    let extension = sniff::extension(file_name);
    accept.iter().any(|entry| {
        let entry = normalise(entry);
        if entry == "*" || entry == "*/*" {
            true
        } else if let Some(ext) = entry.strip_prefix('.') {
            extension.as_deref() == Some(ext)
                && EXTENSIONS.iter().any(|(e, kinds)| *e == ext && kinds.iter().any(|k| is(k)))
        } else if let Some(family) = entry.strip_suffix("/*") {
            [refined, base].into_iter().flatten().any(|m| m.split('/').next() == Some(family))
        } else {
            is(canonical(&entry))
        }
    })
}

/// Lower case, without parameters or surrounding blanks.
fn normalise(entry: &str) -> String {
    entry.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// The name `sniff` uses for a MIME type: a `'static` string for the known ones.
fn canonical(mime: &str) -> &str {
    let mime = mime.split(';').next().unwrap_or_default().trim();
    ALIASES.iter().find(|(alias, _)| alias.eq_ignore_ascii_case(mime)).map_or(mime, |(_, to)| to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn mime_types_wildcards_and_extensions() {
        let pdf_or_images = list(&["application/pdf", "image/*"]);
        assert!(accepts(&pdf_or_images, Some(PDF), "informe.pdf"));
        assert!(accepts(&pdf_or_images, Some("image/png"), "grafica.png"));
        assert!(!accepts(&pdf_or_images, Some(XLSX), "tabla.xlsx"));
        assert!(!accepts(&pdf_or_images, None, "raro.bin"));

        let excel = list(&[".xlsx", ".xls"]);
        assert!(accepts(&excel, Some(XLSX), "Reporte.XLSX"));
        assert!(accepts(&excel, Some(XLS), "reporte.xls"));
        assert!(!accepts(&excel, Some(PDF), "disfrazado.xlsx"), "the extension lies");
        assert!(!accepts(&excel, Some(XLSX), "sin-extension"));
        assert!(!accepts(&excel, Some(XLSX), "tabla.pdf"), "the name must carry the extension");
    }

    #[test]
    fn csv_is_text_with_a_csv_name() {
        let csv = list(&["text/csv"]);
        assert!(accepts(&csv, Some(TEXT), "datos.csv"));
        assert!(accepts(&csv, Some(CSV), "datos.csv"));
        assert!(!accepts(&csv, Some(TEXT), "datos.txt"));
        assert!(!accepts(&csv, Some(PDF), "datos.csv"));
        assert!(accepts(&list(&[".csv"]), Some(TEXT), "datos.csv"));
        assert!(accepts(&list(&["text/plain"]), Some(TEXT), "datos.csv"));
        assert!(accepts(&list(&["text/*"]), Some(TEXT), "datos.csv"));
    }

    #[test]
    fn aliases_case_and_parameters_are_ignored() {
        assert!(accepts(&list(&["audio/wav"]), Some("audio/x-wav"), "llamada.wav"));
        assert!(accepts(&list(&["Audio/MP3"]), Some("audio/mpeg"), "llamada.mp3"));
        assert!(accepts(&list(&[" text/csv; charset=utf-8 "]), Some(TEXT), "a.csv"));
        assert!(accepts(&list(&["audio/*"]), Some("audio/ogg"), "llamada.ogg"));
    }

    #[test]
    fn empty_list_and_any_accept_everything_unknown_extensions_nothing() {
        assert!(accepts(&[], None, "cualquier.cosa"));
        assert!(accepts(&list(&["*/*"]), None, "cualquier.cosa"));
        assert!(!accepts(&list(&[".foo"]), Some(TEXT), "a.foo"));
    }
}
