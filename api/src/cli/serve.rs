//! `tramite serve`: deploy the definitions, run the HTTP API, the scheduler, the outbox worker,
//! a poller per mailbox (`--mailboxes`) and (unless `--no-watch`) redeploy files when they
//! change.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::watch::{DeployLog, TreeWatch};
use crate::app::sign_in::{SignInGuard, SignInPolicy};
use crate::clock::{Clock, SystemClock};
use crate::mail::{self, SmtpAccess, Templates, Transport};
use crate::runtime::Runtime;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// `sqlite://FILE` (created when missing) or `postgres://…`.
    #[arg(long, env = "TRAMITE_DATABASE", default_value = "sqlite://tramite.db")]
    pub database: String,
    /// Folder of process definitions; `forms/` and `calendars/` beside it are read too.
    #[arg(long, default_value = "processes")]
    pub processes: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Send e-mail through this mail server: `smtps://[USER@]HOST[:465]` (TLS),
    /// `smtp://[USER@]HOST[:587]` (STARTTLS required), or `smtp://127.0.0.1:PORT` (plain, to a
    /// relay on this machine); otherwise write `.eml` files. Never a password in it.
    #[arg(long, env = "TRAMITE_SMTP")]
    pub smtp: Option<String>,
    /// The user to authenticate as on the mail server, when `--smtp` names none.
    #[arg(long, env = "TRAMITE_SMTP_USER", value_name = "USER")]
    pub smtp_user: Option<String>,
    /// A file holding the mail server's password (one line); or set `TRAMITE_SMTP_PASSWORD`.
    #[arg(long, value_name = "FILE")]
    pub smtp_password_file: Option<PathBuf>,
    /// CA certificates (PEM) the mail server's certificate may also chain to, besides the
    /// system's: the institution's own CA.
    #[arg(long, env = "TRAMITE_SMTP_CA", value_name = "FILE")]
    pub smtp_ca: Option<PathBuf>,
    /// Folder for `.eml` files when no `--smtp` is given.
    #[arg(long, default_value = "outbox")]
    pub outbox: PathBuf,
    #[arg(long, default_value = "tramite@localhost")]
    pub mail_from: String,
    /// Folder of e-mail templates overriding the shipped ones.
    #[arg(long, default_value = "templates")]
    pub templates: PathBuf,
    /// Do not watch the definition folders for changes.
    #[arg(long)]
    pub no_watch: bool,
    /// Behind a reverse proxy that appends the client's address to `X-Forwarded-For`: count
    /// failed sign-ins per that address rather than per the proxy's.
    #[arg(long)]
    pub trust_forwarded_for: bool,
    /// Where uploaded files are kept: a directory, or `s3://bucket[/prefix]` (configured by the
    /// `AWS_*` environment variables). Default: `tramite-files` beside the SQLite database.
    #[arg(long, env = "TRAMITE_FILES")]
    pub files: Option<String>,
    /// The largest file one upload may hold (`32 MB`, `500 KB`, bytes).
    #[arg(long, default_value = "32 MB", value_parser = file_size)]
    pub max_file_size: u64,
    /// Let requests straight from this address read `/metrics` without a token (repeatable;
    /// loopback always may).
    #[arg(long = "metrics-from", value_name = "IP")]
    pub metrics_from: Vec<std::net::IpAddr>,
    /// Also sign in with the institution's accounts through this OpenID Connect provider
    /// configuration (YAML: issuer, client, public address, groups → roles; see
    /// docs/operations.md). Local passwords keep working.
    #[arg(long, env = "TRAMITE_OIDC", value_name = "FILE")]
    pub oidc: Option<PathBuf>,
    /// The address people reach this server at (`https://tramite.example.org`), for the links
    /// in messages. Default: `http://` and the `--listen` address.
    #[arg(long, env = "TRAMITE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// A file holding the secret links are signed with (at least 32 bytes). Without it: the
    /// `TRAMITE_LINK_SECRET` environment variable, else a secret made on the first start and
    /// kept in `tramite-link-secret` beside the SQLite database (the working directory for
    /// PostgreSQL: give every node the same secret).
    #[arg(long, value_name = "FILE")]
    pub link_secret_file: Option<PathBuf>,
    /// How long a node holds the outbox messages it is sending, in seconds: a node that dies
    /// mid-send leaves them to the other nodes after this time.
    #[arg(long, value_name = "SECONDS", default_value_t = mail::LEASE.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub outbox_lease: u64,
    /// Start cases from the messages of these mailboxes (YAML: a list of mailboxes, each with
    /// its process, `imaps://` or `imap://` (STARTTLS) address, user and password file or
    /// variable; see docs/operations.md).
    #[arg(long, env = "TRAMITE_MAILBOXES", value_name = "FILE")]
    pub mailboxes: Option<PathBuf>,
    /// Log lines as text (without colours unless stderr is a terminal) or as JSON objects.
    #[arg(long, value_enum, env = "TRAMITE_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

fn file_size(s: &str) -> Result<u64, String> {
    tramite_engine::files::parse_size(s)
        .ok_or_else(|| format!("{s:?} is not a size: write e.g. 32 MB, 500 KB or bytes"))
}

/// The blob store `--files` names (or the default beside the database), with its size limit.
pub fn blobs(files: Option<&str>, database: &str, max_size: u64) -> Result<crate::blobs::Blobs, String> {
    let blobs = match files {
        Some(arg) => crate::blobs::Blobs::from_arg(arg),
        None => crate::blobs::Blobs::local(crate::blobs::Blobs::default_dir(database)),
    };
    blobs.map(|b| b.with_max_size(max_size)).map_err(|e| e.to_string())
}

/// The secret links are signed with, and where it came from: `--link-secret-file`, else
/// `TRAMITE_LINK_SECRET`, else a file beside the SQLite database (made with a random secret on
/// the first start, readable by its owner only).
pub fn link_secret(file: Option<&Path>, database: &str) -> Result<(Vec<u8>, &'static str), String> {
    let read = |p: &Path| std::fs::read_to_string(p).map(|s| s.trim().as_bytes().to_vec());
    if let Some(p) = file {
        return read(p)
            .map(|s| (s, "--link-secret-file"))
            .map_err(|e| format!("--link-secret-file {}: {e}", p.display()));
    }
    if let Some(s) = std::env::var("TRAMITE_LINK_SECRET").ok().filter(|s| !s.trim().is_empty()) {
        return Ok((s.trim().as_bytes().to_vec(), "TRAMITE_LINK_SECRET"));
    }
    let path = crate::blobs::Blobs::default_dir(database).with_file_name("tramite-link-secret");
    if !path.exists() {
        let secret = crate::links::Links::random_secret();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut f) => {
                std::io::Write::write_all(&mut f, secret.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?
            }
            // Another node made it meanwhile: read theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    read(&path).map(|s| (s, "tramite-link-secret file")).map_err(|e| format!("{}: {e}", path.display()))
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Sets up logging to stderr, filtered by `RUST_LOG`: text, coloured only on a terminal that
/// does not ask for `NO_COLOR`; or one JSON object per line.
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    // The IMAP client traces each command it sends, the sign-in with its password among them:
    // never at any `RUST_LOG` (a directive added last replaces one for the same target).
    let filter = ["async_imap=info", "async_imap::imap_stream=info"]
        .into_iter()
        .filter_map(|d| d.parse().ok())
        .fold(filter, |f, d| f.add_directive(d));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            builder.with_ansi(colour).init()
        }
    }
}

/// The folders a definition tree is read from.
pub fn tree(processes: &Path) -> Vec<PathBuf> {
    vec![processes.to_path_buf()]
}

/// A runtime over the database, reading time from `clock` (no definitions deployed yet).
pub async fn open_runtime(database: &str, templates: &Path, clock: Arc<dyn Clock>) -> Result<Runtime, String> {
    let store = Store::open(database).await.map_err(|e| format!("database {database}: {e}"))?;
    let templates = Templates::load(Some(templates))?;
    Ok(Runtime::new(store, templates, clock))
}

/// The mailboxes a `--mailboxes` file lists, checked (not yet reached).
pub fn mailboxes(file: &Path) -> Result<Vec<crate::mail::inbound::MailboxConfig>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("--mailboxes {}: {e}", file.display()))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    crate::mail::inbound::config::parse(&text, dir, |var| std::env::var(var).ok())
        .map_err(|e| format!("--mailboxes {}: {e}", file.display()))
}

/// Where e-mail goes: the mail server of `--smtp` with its user, password and CA, or `.eml`
/// files. The password comes from `--smtp-password-file` or `TRAMITE_SMTP_PASSWORD` only.
fn mail_transport(args: &ServeArgs) -> Result<Transport, String> {
    let password = std::env::var("TRAMITE_SMTP_PASSWORD").ok();
    let access =
        SmtpAccess::gather(args.smtp_user.clone(), args.smtp_password_file.as_deref(), password, args.smtp_ca.clone())?;
    Transport::from_url(args.smtp.as_deref(), access, &args.outbox)
}

/// The OpenID provider a `--oidc` file configures, checked (not yet reached).
pub fn oidc_provider(file: &Path) -> Result<crate::oidc::Provider, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("--oidc {}: {e}", file.display()))?;
    let config = crate::oidc::OidcConfig::parse(&text, |var| std::env::var(var).ok())
        .map_err(|e| format!("--oidc {}: {e}", file.display()))?;
    crate::oidc::Provider::new(config).map_err(|e| format!("--oidc {}: {e}", file.display()))
}

/// Reads the provider's discovery document and keys, and says which configured roles no
/// process names (a typo gives nobody anything).
async fn check_oidc(rt: &Runtime) {
    let Some(provider) = &rt.oidc else { return };
    match provider.discover().await {
        Ok(()) => tracing::info!(issuer = %provider.config.issuer, "OpenID provider ready"),
        Err(e) => tracing::warn!(cause = %e, "OpenID provider not reached yet; sign-in will try again"),
    }
    let known: Vec<String> =
        rt.registry().all_latest().iter().flat_map(|d| d.process.roles.iter().map(|(r, _)| r.clone())).collect();
    for role in provider.config.roles() {
        let base = role.split_once('@').map_or(role, |(b, _)| b);
        if !known.iter().any(|k| k == base) {
            tracing::warn!(role, "the --oidc file gives a role no process names");
        }
    }
}

pub async fn run(args: ServeArgs) -> ExitCode {
    let oidc = match args.oidc.as_deref().map(oidc_provider).transpose() {
        Ok(p) => p.map(Arc::new),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mailboxes = match args.mailboxes.as_deref().map(mailboxes).transpose() {
        Ok(m) => m.unwrap_or_default(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = match open_runtime(&args.database, &args.templates, Arc::new(SystemClock)).await {
        Ok(mut rt) => {
            rt.oidc = oidc;
            let policy = SignInPolicy { trust_forwarded_for: args.trust_forwarded_for, ..SignInPolicy::default() };
            rt.sign_in = Arc::new(SignInGuard::new(policy));
            rt.metrics_from = args.metrics_from.clone();
            Arc::new(rt)
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match blobs(args.files.as_deref(), &args.database, args.max_file_size) {
        Ok(b) => {
            tracing::info!(files = %b, max_size = b.max_size(), "uploaded files kept");
            rt.set_files(b);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    // Links in messages name the address people reach the server at: known once bound.
    let bound = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| args.listen.to_string());
    let base = args.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
    match link_secret(args.link_secret_file.as_deref(), &args.database) {
        Ok((secret, from)) => match crate::links::Links::new(&secret, &base) {
            Ok(links) => {
                tracing::info!(base = %base, secret = from, "links for people without an account");
                rt.set_links(links);
            }
            Err(e) => {
                eprintln!("error: {from}: {e}");
                return ExitCode::FAILURE;
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    rt.start_writer();
    // Watching starts before the first deployment, so no change made meanwhile is missed.
    let tree_watch = if args.no_watch { None } else { TreeWatch::start(&args.processes) };
    let mut log = DeployLog::default();
    match rt.deploy_paths(&tree(&args.processes)).await {
        Ok(d) => log.report(&rt, &d),
        Err(e) => {
            eprintln!("error: deploying {}: {e}", args.processes.display());
            return ExitCode::FAILURE;
        }
    }
    check_oidc(&rt).await;
    if let Err(e) = crate::mail::inbound::config::check_processes(&mailboxes, &rt) {
        eprintln!("error: --mailboxes: {e}");
        return ExitCode::FAILURE;
    }
    let transport = match mail_transport(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    tokio::spawn(crate::scheduler::run(rt.clone()));
    tokio::spawn(crate::app::reports::run(rt.clone()));
    tokio::spawn(mail::run_worker(
        rt.store.clone(),
        rt.clock.clone(),
        mail::Mailer { transport, from: args.mail_from.clone(), files: rt.files().cloned() },
        rt.outbox_changed.clone(),
        rt.metrics.clone(),
        std::time::Duration::from_secs(args.outbox_lease),
    ));
    for m in mailboxes {
        tokio::spawn(crate::mail::inbound::run(rt.clone(), m));
    }
    if let Some(w) = tree_watch {
        tokio::spawn(w.run(rt.clone(), log));
    }
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    tracing::info!(%addr, database = rt.store.backend(), "Trámite is serving");
    println!("listening on http://{addr}");
    let app = crate::http::app(rt.clone());
    // The peer's address reaches handlers (sign-in throttling counts failures per address).
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown()).await {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
