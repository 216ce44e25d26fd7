//! A folder of an IMAP mailbox, opened over TLS (IMAPS, or STARTTLS, never plain text), with
//! the few commands a poll needs: list the UIDs after one, read a message without marking it,
//! and mark it (flag `\Seen` or move it). Every command has a time limit.

use std::time::Duration;

use async_imap::error::Error::{Bad, No};
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use jiff::Timestamp;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;

use super::config::{MailboxConfig, Marking, Security};

/// The longest one step (connecting, one command) may take.
const STEP: Duration = Duration::from_secs(60);

/// Why a mailbox could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot reach {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("TLS with {0} failed: {1}")]
    Tls(String, std::io::Error),
    #[error("the server does not offer STARTTLS: {0}")]
    NoStartTls(String),
    #[error("the server refused the user or the password: {0}")]
    Login(String),
    #[error("folder {0:?}: {1}")]
    Folder(String, String),
    #[error("the server gives no UIDVALIDITY for the folder")]
    NoUidValidity,
    #[error("{0} took longer than {STEP:?}")]
    Timeout(&'static str),
    #[error("IMAP: {0}")]
    Protocol(#[from] async_imap::error::Error),
}

/// A message as read: its bytes and when the server received it.
#[derive(Debug)]
pub struct Fetched {
    pub raw: Vec<u8>,
    pub arrived: Option<Timestamp>,
}

/// A selected folder of a signed-in session.
#[derive(Debug)]
pub struct Folder {
    session: Session<TlsStream<TcpStream>>,
    pub uidvalidity: u32,
}

/// `fut` within [`STEP`].
async fn step<T, E>(what: &'static str, fut: impl Future<Output = Result<T, E>>) -> Result<T, ImapError>
where
    ImapError: From<E>,
{
    tokio::time::timeout(STEP, fut).await.map_err(|_| ImapError::Timeout(what))?.map_err(ImapError::from)
}

impl Folder {
    /// Connects, secures the connection, signs in and selects the mailbox's folder.
    pub async fn open(m: &MailboxConfig) -> Result<Folder, ImapError> {
        let at = format!("{}:{}", m.host, m.port);
        let tcp = tokio::time::timeout(STEP, TcpStream::connect((m.host.as_str(), m.port)))
            .await
            .map_err(|_| ImapError::Timeout("connecting"))?
            .map_err(|e| ImapError::Connect(at.clone(), e))?;
        let name = ServerName::try_from(m.host.clone())
            .map_err(|e| ImapError::Tls(at.clone(), std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
        let tls = TlsConnector::from(m.tls.clone());
        let client = match m.security {
            Security::Imaps => {
                let stream = secure(&tls, name, tcp, &at).await?;
                let mut client = Client::new(stream);
                greeting(&mut client).await?;
                client
            }
            Security::StartTls => {
                let mut plain = Client::new(tcp);
                greeting(&mut plain).await?;
                match step("STARTTLS", plain.run_command_and_check_ok("STARTTLS", None)).await {
                    Err(ImapError::Protocol(No(why) | Bad(why))) => return Err(ImapError::NoStartTls(why)),
                    other => other?,
                }
                let stream = secure(&tls, name, plain.into_inner(), &at).await?;
                // No greeting after STARTTLS.
                Client::new(stream)
            }
        };
        let login = tokio::time::timeout(STEP, client.login(&m.user, m.password()))
            .await
            .map_err(|_| ImapError::Timeout("signing in"))?;
        let mut session = login.map_err(|(e, _)| match e {
            No(why) | Bad(why) => ImapError::Login(why),
            other => ImapError::Protocol(other),
        })?;
        let selected = step("selecting the folder", session.select(&m.folder)).await.map_err(|e| match e {
            ImapError::Protocol(No(why) | Bad(why)) => ImapError::Folder(m.folder.clone(), why),
            other => other,
        })?;
        let uidvalidity = selected.uid_validity.ok_or(ImapError::NoUidValidity)?;
        Ok(Folder { session, uidvalidity })
    }

    /// The UIDs of the folder's messages above `last`, ascending.
    pub async fn uids_after(&mut self, last: u32) -> Result<Vec<u32>, ImapError> {
        let from = last.saturating_add(1);
        let found = step("searching", self.session.uid_search(format!("UID {from}:*"))).await?;
        // `n:*` always names the last message, even below `n`.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The size of message `uid` in bytes and its header (to tell a message too large to read
    /// by its `Message-ID`); `None` when it is gone.
    pub async fn outline(&mut self, uid: u32) -> Result<Option<(u32, Vec<u8>)>, ImapError> {
        let fetches: Vec<_> = step("reading a message's size", async {
            let stream = self.session.uid_fetch(uid.to_string(), "(UID RFC822.SIZE BODY.PEEK[HEADER])").await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        let Some(f) = fetches.into_iter().find(|f| f.uid == Some(uid)) else { return Ok(None) };
        Ok(f.size.map(|size| (size, f.header().map(<[u8]>::to_vec).unwrap_or_default())))
    }

    /// Message `uid` without marking it read (`BODY.PEEK`); `None` when it is gone.
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Fetched>, ImapError> {
        let fetches: Vec<_> = step("reading a message", async {
            let stream = self.session.uid_fetch(uid.to_string(), "(UID INTERNALDATE BODY.PEEK[])").await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        let Some(f) = fetches.into_iter().find(|f| f.uid == Some(uid)) else { return Ok(None) };
        let Some(raw) = f.body().map(<[u8]>::to_vec) else { return Ok(None) };
        let arrived = f.internal_date().and_then(|d| Timestamp::from_second(d.timestamp()).ok());
        Ok(Some(Fetched { raw, arrived }))
    }

    /// Marks message `uid` as `marking` says.
    pub async fn mark(&mut self, uid: u32, marking: &Marking) -> Result<(), ImapError> {
        match marking {
            Marking::Seen => {
                step("marking a message", async {
                    let stream = self.session.uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)").await?;
                    stream.try_collect::<Vec<_>>().await
                })
                .await?;
            }
            Marking::MoveTo(folder) => {
                step("moving a message", self.session.uid_mv(uid.to_string(), folder)).await.map_err(|e| match e {
                    ImapError::Protocol(No(why) | Bad(why)) => ImapError::Folder(folder.clone(), why),
                    other => other,
                })?
            }
        }
        Ok(())
    }

    /// Signs out (a failure to is of no consequence: the server drops the connection).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

async fn greeting<T>(client: &mut Client<T>) -> Result<(), ImapError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    match tokio::time::timeout(STEP, client.read_response()).await {
        Err(_) => Err(ImapError::Timeout("the server's greeting")),
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(ImapError::Protocol(async_imap::error::Error::ConnectionLost)),
        Ok(Err(e)) => Err(ImapError::Protocol(e.into())),
    }
}

/// The TLS handshake over `tcp`, the server's certificate checked for `name`.
async fn secure(
    tls: &TlsConnector,
    name: ServerName<'static>,
    tcp: TcpStream,
    at: &str,
) -> Result<TlsStream<TcpStream>, ImapError> {
    tokio::time::timeout(STEP, tls.connect(name, tcp))
        .await
        .map_err(|_| ImapError::Timeout("the TLS handshake"))?
        .map_err(|e| ImapError::Tls(at.to_string(), e))
}
