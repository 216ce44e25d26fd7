//! Small real files of the kinds the manuals' forms take, and what sniffing and `accept:` lists
//! make of them.

use std::io::{Cursor, Write};

use tramite::blobs::{accepts, sniff, sniff_named};

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
pub const XLS: &str = "application/vnd.ms-excel";
const DOC: &str = "application/msword";

/// A real workbook, as the exports write them.
pub fn workbook() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write(0, 0, "folio").unwrap();
    sheet.write(1, 0, 1).unwrap();
    book.save_to_buffer().unwrap()
}

/// An OLE compound file with one stream of `size` bytes, as old Office formats are.
pub fn compound_file(stream: &str, size: usize) -> Vec<u8> {
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    file.create_stream(format!("/{stream}")).unwrap().write_all(&vec![0x55; size]).unwrap();
    file.flush().unwrap();
    file.into_inner().into_inner()
}

/// A ZIP archive of stored (uncompressed) entries, with its central directory.
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data) in entries {
        let offset = out.len() as u32;
        let (crc, len, name_len) = (crc32(data), data.len() as u32, name.len() as u16);
        out.extend_from_slice(b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0");
        for v in [crc, len, len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(b"PK\x01\x02\x14\0\x14\0\0\0\0\0\0\0\0\0");
        for v in [crc, len, len] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let (at, size, count) = (out.len() as u32, central.len() as u32, entries.len() as u16);
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |crc, &b| {
        (0..8).fold(crc ^ u32::from(b), |c, _| (c >> 1) ^ (0xEDB8_8320 & (c & 1).wrapping_neg()))
    })
}

/// A WAV file: a RIFF header and a few samples of silence.
fn wav() -> Vec<u8> {
    let samples = [0u8; 64];
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data");
    out.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    out.extend_from_slice(&samples);
    out
}

/// The files of the manuals' forms, each with the name it was uploaded under and what it is.
fn samples() -> Vec<(&'static str, Vec<u8>, Option<&'static str>)> {
    let docx = zip(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("_rels/.rels", b"<Relationships/>"),
        ("word/document.xml", b"<w:document/>"),
    ]);
    let plain_zip = zip(&[("llamadas/1.txt", b"hola"), ("llamadas/2.txt", b"adios")]);
    vec![
        ("informe.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec(), Some("application/pdf")),
        ("grafica.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec(), Some("image/png")),
        ("foto.jpg", b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec(), Some("image/jpeg")),
        ("consolidado.xlsx", workbook(), Some(XLSX)),
        ("acta.docx", docx, Some(DOCX)),
        ("historico.xls", compound_file("Workbook", 10_000), Some(XLS)),
        ("oficio.doc", compound_file("WordDocument", 10_000), Some(DOC)),
        ("reporte.csv", "folio,fecha,tema\n1,2025-03-01,Información\n".as_bytes().to_vec(), Some("text/csv")),
        ("notas.txt", "Llamada atendida.\r\n".as_bytes().to_vec(), Some("text/plain")),
        ("llamada.mp3", b"ID3\x04\0\0\0\0\0\x0a\0\0\0\0\0\0\0\0\0\0\xFF\xFB\x90\x64".to_vec(), Some("audio/mpeg")),
        ("llamada.wav", wav(), Some("audio/x-wav")),
        ("llamada.ogg", b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0".to_vec(), Some("audio/ogg")),
        ("grabaciones.zip", plain_zip, Some("application/zip")),
        // A PDF whose name says workbook, and a workbook whose name says text.
        ("disfrazado.xlsx", b"%PDF-1.4\n".to_vec(), Some("application/pdf")),
        ("tabla.csv", workbook(), Some(XLSX)),
        ("binario.csv", b"folio\0fecha".to_vec(), None),
    ]
}

#[test]
fn sniffing_reads_content_not_names() {
    for (name, bytes, expected) in samples() {
        assert_eq!(sniff_named(&bytes, name), expected, "{name}");
    }
}

#[test]
fn accept_lists_against_real_files() {
    let list = |entries: &[&str]| entries.iter().map(|e| e.to_string()).collect::<Vec<_>>();
    let matrix: &[(&[&str], &[&str])] = &[
        (&["application/pdf"], &["informe.pdf", "disfrazado.xlsx"]),
        (&[".pdf"], &["informe.pdf"]),
        (&[".xlsx"], &["consolidado.xlsx"]),
        (&[".xlsx", ".xls", "text/csv"], &["consolidado.xlsx", "historico.xls", "reporte.csv"]),
        (&[XLSX], &["consolidado.xlsx", "tabla.csv"]),
        (&["image/*"], &["grafica.png", "foto.jpg"]),
        (&["audio/*"], &["llamada.mp3", "llamada.wav", "llamada.ogg"]),
        (&[".mp3", "audio/wav"], &["llamada.mp3", "llamada.wav"]),
        (&["text/plain"], &["reporte.csv", "notas.txt"]),
        (&[".docx", ".doc"], &["acta.docx", "oficio.doc"]),
        (&[".zip"], &["grabaciones.zip"]),
    ];
    let samples = samples();
    for (accept, passing) in matrix {
        let accept = list(accept);
        let passed: Vec<&str> = samples
            .iter()
            .filter(|(name, bytes, _)| accepts(&accept, sniff(bytes), name))
            .map(|(name, _, _)| *name)
            .collect();
        assert_eq!(&passed, passing, "accept: {accept:?}");
    }
    let everything = samples.iter().filter(|(name, bytes, _)| accepts(&list(&["*/*"]), sniff(bytes), name)).count();
    assert_eq!(everything, samples.len());
}
