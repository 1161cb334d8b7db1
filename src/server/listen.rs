//! The accept loop: every connection is accepted at once and served in its own task while the
//! node has room (`places.rs`: `max_connections`, `max_connections_per_address`, descriptors to
//! spare); otherwise the newest is answered a short 503 and closed, so accepting never stalls
//! and established connections keep working. On stop, the listener closes, connections finish
//! their requests for the shutdown grace, then the rest are answered 503 (`http::limits`) and
//! cut.

use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::connection::{self, Timeouts};
use super::fd_limit::Descriptors;
use super::places::{Places, Refusal};
use crate::domain::codes;
use crate::http::error::v1_body;

/// How the HTTP side of a node behaves.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub timeouts: Timeouts,
    /// Open connections at most (after the open-file limit lowered it).
    pub max_connections: usize,
    /// Open connections from one client address at most (0: no cap).
    pub max_per_address: usize,
    /// The open-file limit in force, if known.
    pub open_files: Option<u64>,
    /// On stop, how long running requests may finish before they are answered 503.
    pub grace: Duration,
}

/// After the cut, how long the 503 answers have to be written before connections are dropped.
const CUT_MARGIN: Duration = Duration::from_secs(1);
/// Connections over the cap answered in a task of their own at once (the rest are answered
/// straight from the accept loop).
const SHED_AT_ONCE: usize = 64;
/// How long such a connection waits for the client's request before the answer goes out (an
/// answer that arrives before the request confuses some clients).
const SHED_WAIT: Duration = Duration::from_millis(500);
/// How long it is then kept to read what the client still sends, so that closing it does not
/// reset the answer away.
const SHED_LINGER: Duration = Duration::from_secs(1);
/// How often accept errors are logged at most.
const ACCEPT_ERROR_LOG_EVERY: Duration = Duration::from_secs(10);
/// Pause after an accept error that is not the client's (e.g. out of descriptors).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Serves `listener` until `stop`, then drains within the grace; `cut` tells running handlers
/// that the grace is over.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    cut: watch::Sender<bool>,
) {
    let mut places = Places::new(
        limits.max_connections,
        limits.max_per_address,
        Descriptors::new(limits.open_files),
    );
    let shedder = Shedder::new();
    let mut accept_errors = AcceptErrors::default();
    let conn_stop = stop.clone();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = connection::stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match places.admit(peer.ip(), descriptor(&stream)) {
                    Ok(place) => {
                        // Small writes (an answer's head, the end of a body) go out at once
                        // rather than wait for the client's delayed ACK.
                        let _ = stream.set_nodelay(true);
                        connections.spawn(connection::serve(
                            stream,
                            peer,
                            router.clone(),
                            limits.timeouts,
                            conn_stop.clone(),
                            place,
                        ));
                    }
                    Err(refusal) => shedder.shed(stream, refusal),
                },
                Err(e) => {
                    if !is_connection_error(&e) {
                        accept_errors.log(&e);
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    }
                }
            }
        }
    }
    drop(listener);
    drain(connections, limits.grace, &cut).await;
}

/// Lets connections finish within `grace`; then signals the cut, gives the answers a moment to
/// go out, and drops what is left.
async fn drain(mut connections: JoinSet<()>, grace: Duration, cut: &watch::Sender<bool>) {
    let deadline = Instant::now() + grace;
    while !connections.is_empty() {
        if tokio::time::timeout_at(deadline, connections.join_next())
            .await
            .is_err()
        {
            break;
        }
    }
    if connections.is_empty() {
        return;
    }
    tracing::warn!(
        connections = connections.len(),
        grace_secs = grace.as_secs(),
        "requests still running at the end of the shutdown grace: answering them 503 and closing"
    );
    let _ = cut.send(true);
    let margin = Instant::now() + CUT_MARGIN;
    while !connections.is_empty() {
        if tokio::time::timeout_at(margin, connections.join_next())
            .await
            .is_err()
        {
            break;
        }
    }
    connections.shutdown().await;
}

/// The socket's descriptor number, for the descriptor count.
fn descriptor(stream: &TcpStream) -> Option<u64> {
    u64::try_from(stream.as_raw_fd()).ok()
}

/// Answers connections refused a place.
struct Shedder {
    full: Arc<[u8]>,
    address: Arc<[u8]>,
    at_once: Arc<Semaphore>,
}

/// A whole 503 answer with `message` in the v1 body.
fn unavailable(message: &str) -> Arc<[u8]> {
    let body = v1_body(&codes::UNAVAILABLE, message);
    let mut answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer.into()
}

impl Shedder {
    fn new() -> Self {
        Self {
            full: unavailable("the server is at its connection limit; retry shortly"),
            address: unavailable(
                "too many connections from this address; close some or retry shortly",
            ),
            at_once: Arc::new(Semaphore::new(SHED_AT_ONCE)),
        }
    }

    /// Answers 503 and closes: after reading the request, in a task bounded in time; straight
    /// away when too many are being answered so already, or when descriptors are short (a
    /// waiting answer would hold one).
    fn shed(&self, stream: TcpStream, refusal: Refusal) {
        let answer = match refusal {
            Refusal::Address => &self.address,
            Refusal::Full | Refusal::Descriptors => &self.full,
        };
        let slot = match refusal {
            Refusal::Descriptors => None,
            Refusal::Full | Refusal::Address => Arc::clone(&self.at_once).try_acquire_owned().ok(),
        };
        let Some(slot) = slot else {
            answer_now(stream, answer);
            return;
        };
        let answer = Arc::clone(answer);
        tokio::spawn(async move {
            let _ = answer_after_request(stream, &answer).await;
            drop(slot);
        });
    }
}

async fn answer_after_request(mut stream: TcpStream, answer: &[u8]) -> io::Result<()> {
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(SHED_WAIT, stream.read(&mut sink)).await;
    tokio::time::timeout(SHED_LINGER, async {
        stream.write_all(answer).await?;
        stream.shutdown().await?;
        while stream.read(&mut sink).await? > 0 {}
        Ok(())
    })
    .await
    .unwrap_or(Ok(()))
}

/// Writes the answer without waiting (the send buffer of a new socket takes it) and closes.
fn answer_now(stream: TcpStream, answer: &[u8]) {
    if let Ok(mut stream) = stream.into_std() {
        let _ = stream.write(answer);
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
}

/// Errors of one connection (the client gave up before it was accepted): not worth a pause.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Logs accept errors at most once per `ACCEPT_ERROR_LOG_EVERY`, with how many were not shown.
#[derive(Default)]
struct AcceptErrors {
    last: Option<Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    fn log(&mut self, e: &io::Error) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < ACCEPT_ERROR_LOG_EVERY)
        {
            self.unlogged += 1;
            return;
        }
        tracing::warn!(error = %e, since_last = self.unlogged, "accept error");
        self.last = Some(now);
        self.unlogged = 0;
    }
}
