//! Trámite's server tests, built as one test binary (one link instead of one per file): the
//! real `tramite` binary on loopback ports, the router in process on a manual clock, headless
//! Chromium, SQLite and a real PostgreSQL server, an SMTP sink, a mail server with TLS and AUTH
//! (`tests/smtp/server.py`), an IMAP server (Dovecot) and an S3 server. Run one part with
//! `cargo test -p tramite --test api files::` (a module path filters the tests).
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/dovecot.rs"]
mod dovecot;
#[path = "common/in_process.rs"]
mod in_process;
#[path = "common/browser.rs"]
mod web;

mod blobs;
mod browser;
mod calls;
mod cli;
mod costly;
mod e2e;
mod exports;
mod files;
mod front_office;
mod inbound;
mod inbox;
mod indicator_pages;
mod indicators;
mod mail_tls;
mod migrations;
mod oidc;
mod ops;
mod public;
mod scoped;
mod security;
mod sign_in;
mod tokens;
mod writes;
