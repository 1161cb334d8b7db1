//! One client connection, served by hyper (HTTP/1.1), with the two clocks hyper keeps as one:
//! the time to send a request head (from the connection's opening, or from the first byte after
//! a keep-alive pause) and the idle time between requests; and a third that hyper lacks: the
//! time a write waits for the client to take in any byte (a client that asks for a large
//! answer and stops reading would otherwise hold its connection, its place and an open blob
//! for as long as it likes). A watchdog closes the connection when a clock runs out; while a
//! request is being handled the first two do not run (the request body has its own deadline
//! in `http::limits`). A connection cut for a stalled write is reset, so that its unsent bytes
//! do not linger in the kernel either. A connection hyper ends after an answer reads and drops
//! what its client still sends for a moment before closing (`Watched::poll_shutdown`), so that
//! the answer is not lost to a reset.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tower_service::Service;

use super::places::Place;
use crate::http::client_addr::Peer;

/// How much of the first bytes read a connection keeps, for `bare_errors`.
const HEAD_KEPT: usize = 512;
/// How long a closing connection goes on reading (and dropping) what its client still sends.
const LINGER: Duration = Duration::from_secs(2);
/// …and at most this much of it.
const LINGER_BYTES: u64 = 64 * 1024 * 1024;

/// The per-connection clocks.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    pub header_read: Duration,
    pub keep_alive: Duration,
    /// A write that has taken no byte for this long ends the connection.
    pub write: Duration,
}

/// Serves one connection until it closes, times out, or is dropped at the end of shutdown.
/// `stop` starts a graceful close: the running request finishes, an idle connection closes.
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    timeouts: Timeouts,
    mut stop: watch::Receiver<bool>,
    _place: Place,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
        replaced: Vec::new(),
        head: Vec::new(),
        linger: None,
        lingered: 0,
    });
    let service = hyper::service::service_fn({
        let activity = Arc::clone(&activity);
        move |mut request: hyper::Request<Incoming>| {
            activity.request_started();
            // The TCP peer; the client's address is derived from it per request (`observe`).
            request.extensions_mut().insert(Peer(peer.ip()));
            let mut router = router.clone();
            let activity = Arc::clone(&activity);
            async move {
                let response: Response = match router.call(request.map(Body::new)).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                Ok::<_, std::convert::Infallible>(response.map(|body| Answered { body, activity }))
            }
        }
    });
    let mut builder = http1::Builder::new();
    // The watchdog below keeps the header clock; hyper's would also cut idle keep-alives.
    builder.header_read_timeout(None);
    // Room for heads over the router's own limits (`http::envelope`), so that it, not hyper,
    // refuses them — in the face's envelope instead of a bare 431.
    builder.max_headers(1000);
    builder.max_buf_size(2 * 1024 * 1024);
    let mut connection = pin!(builder.serve_connection(io, service));
    let mut stopping = false;
    loop {
        let check = activity.next_check(timeouts);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = stopped(&mut stop), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(check) => {
                if let Some(phase) = activity.expired(timeouts) {
                    tracing::debug!(phase, "closing a connection that timed out");
                    if phase == WRITE_PHASE {
                        activity.reset_on_close.store(true, Ordering::Release);
                    }
                    return;
                }
            }
        }
    }
}

/// Resolves once stop is signalled (or its sender is gone: the server is going away).
pub(super) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

const HEAD: u64 = 0;
const BUSY: u64 = 1;
const IDLE: u64 = 2;
const PHASE_SHIFT: u32 = 62;
/// No write is waiting for the client.
const NOT_STALLED: u64 = u64::MAX;
const WRITE_PHASE: &str = "write";
const SINCE_MASK: u64 = (1 << PHASE_SHIFT) - 1;

/// What the connection waits for and since when: the phase in the top two bits, milliseconds
/// after the connection opened in the rest (one atomic, so the watchdog never reads a torn pair).
struct Activity {
    opened: Instant,
    state: AtomicU64,
    /// Milliseconds after the opening since which a write has been waiting with no byte
    /// taken, or `NOT_STALLED`.
    write_stalled: AtomicU64,
    /// Set when the connection is cut for a stalled write: reset rather than closed.
    reset_on_close: AtomicBool,
}

impl Activity {
    /// A new connection owes its first head.
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            state: AtomicU64::new(HEAD << PHASE_SHIFT),
            write_stalled: AtomicU64::new(NOT_STALLED),
            reset_on_close: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(SINCE_MASK) & SINCE_MASK
    }

    fn set(&self, phase: u64) {
        self.state
            .store(phase << PHASE_SHIFT | self.now_ms(), Ordering::Release);
    }

    /// The head is in: no connection clock runs while the request is handled.
    fn request_started(&self) {
        self.set(BUSY);
    }

    /// The response is written (or abandoned): the keep-alive clock starts.
    fn request_finished(&self) {
        self.set(IDLE);
    }

    /// Bytes arrived: after a pause, they start the next head and its clock.
    fn bytes_read(&self) {
        let state = self.state.load(Ordering::Acquire);
        if state >> PHASE_SHIFT == IDLE {
            let head = HEAD << PHASE_SHIFT | self.now_ms();
            let _ = self
                .state
                .compare_exchange(state, head, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// A write could not go out: its clock starts, unless it already runs.
    fn write_blocked(&self) {
        let _ = self.write_stalled.compare_exchange(
            NOT_STALLED,
            self.now_ms(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// The client took bytes: the write clock stops.
    fn bytes_written(&self) {
        self.write_stalled.store(NOT_STALLED, Ordering::Release);
    }

    /// When to look again: when the current phase's clock or the write clock runs out, and no
    /// later than the shortest timeout from now (the phase may change meanwhile to one with a
    /// shorter clock).
    fn next_check(&self, timeouts: Timeouts) -> Instant {
        let state = self.state.load(Ordering::Acquire);
        let since = self.opened + Duration::from_millis(state & SINCE_MASK);
        let shortest = timeouts
            .header_read
            .min(timeouts.keep_alive)
            .min(timeouts.write);
        let mut check = Instant::now() + shortest;
        let stalled = self.write_stalled.load(Ordering::Acquire);
        if stalled != NOT_STALLED {
            check = check.min(self.opened + Duration::from_millis(stalled) + timeouts.write);
        }
        match state >> PHASE_SHIFT {
            HEAD => check.min(since + timeouts.header_read),
            IDLE => check.min(since + timeouts.keep_alive),
            _ => check,
        }
    }

    /// The clock that has run out, if any.
    fn expired(&self, timeouts: Timeouts) -> Option<&'static str> {
        let now = self.now_ms();
        let stalled = self.write_stalled.load(Ordering::Acquire);
        if stalled != NOT_STALLED
            && Duration::from_millis(now.saturating_sub(stalled)) >= timeouts.write
        {
            return Some(WRITE_PHASE);
        }
        let state = self.state.load(Ordering::Acquire);
        let elapsed = Duration::from_millis(now.saturating_sub(state & SINCE_MASK));
        match state >> PHASE_SHIFT {
            HEAD if elapsed >= timeouts.header_read => Some("request head"),
            IDLE if elapsed >= timeouts.keep_alive => Some("keep-alive"),
            _ => None,
        }
    }
}

/// The socket, telling the activity when bytes arrive and when writes wait or go out.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
    /// What is left to send of an answer that replaced one of hyper's bare errors
    /// (`bare_errors`), sent before anything else.
    replaced: Vec<u8>,
    /// The first bytes read on the connection: the request line that tells which face's
    /// envelope such an answer takes.
    head: Vec<u8>,
    /// Set once the connection is closing: until when what the client still sends is read
    /// and dropped (`poll_shutdown`).
    linger: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Bytes read and dropped while closing.
    lingered: u64,
}

impl Watched {
    /// Sends what is left of a replacement answer; ready once it is all sent.
    fn poll_replaced(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.replaced.is_empty() {
            let polled = Pin::new(&mut self.inner).poll_write(cx, &self.replaced);
            self.watch_write(&polled);
            match polled {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.replaced.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `written` in place of hyper's bare error answer it is, if it is one.
    fn replace_bare_error(&mut self, written: &[u8]) -> bool {
        match super::bare_errors::replacement(written, &self.head) {
            Some(answer) => {
                self.replaced = answer;
                true
            }
            None => false,
        }
    }

    fn watch_write(&self, polled: &Poll<io::Result<usize>>) {
        match polled {
            Poll::Pending => self.activity.write_blocked(),
            Poll::Ready(Ok(n)) if *n > 0 => self.activity.bytes_written(),
            Poll::Ready(_) => {}
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if self.activity.reset_on_close.load(Ordering::Acquire) {
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
            let room = HEAD_KEPT.saturating_sub(self.head.len());
            if room > 0 {
                let read = &buf.filled()[before..];
                let kept = read[..read.len().min(room)].to_vec();
                self.head.extend_from_slice(&kept);
            }
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.poll_replaced(cx)?.is_pending() {
            return Poll::Pending;
        }
        #[cfg(target_os = "linux")]
        if let Some(polled) =
            super::send::poll_write_mapped(&self.inner, cx, &[io::IoSlice::new(buf)])
        {
            self.watch_write(&polled);
            return polled;
        }
        if self.replace_bare_error(buf) {
            let _ = self.poll_replaced(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch_write(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.poll_replaced(cx)?.is_pending() {
            return Poll::Pending;
        }
        // A window of a mapped file goes out with sendfile (`send.rs`).
        #[cfg(target_os = "linux")]
        if let Some(polled) = super::send::poll_write_mapped(&self.inner, cx, bufs) {
            self.watch_write(&polled);
            return polled;
        }
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total <= 256 {
            let written: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            if self.replace_bare_error(&written) {
                let _ = self.poll_replaced(cx)?;
                return Poll::Ready(Ok(total));
            }
        }
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch_write(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.poll_replaced(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// Ends the answer (a FIN after its last byte), then reads and drops what the client still
    /// sends until it closes its side, for at most `LINGER` and `LINGER_BYTES`. A connection
    /// closed with unread bytes is reset, and a reset can reach the client before it has read
    /// the answer: a request refused for its announced size while its body is still coming in
    /// would end in a broken pipe instead of its envelope.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.poll_replaced(cx)?.is_pending() {
            return Poll::Pending;
        }
        let this = &mut *self;
        if this.linger.is_none() {
            std::task::ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            this.linger = Some(Box::pin(tokio::time::sleep(LINGER)));
        }
        let mut dropped = [0u8; 16 * 1024];
        // Reads in one poll before the task yields (a client that never pauses does not hold
        // the worker thread).
        let mut turns = 16;
        loop {
            let expired = this
                .linger
                .as_mut()
                .is_none_or(|l| l.as_mut().poll(cx).is_ready());
            if expired || this.lingered > LINGER_BYTES {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut dropped);
            match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                // More of what the client sends: dropped.
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    this.lingered += buf.filled().len() as u64;
                    turns -= 1;
                    if turns == 0 {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
                // The client closed its side (or the connection failed): done.
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A response body that ends the busy phase when hyper is done with it.
struct Answered {
    body: Body,
    activity: Arc<Activity>,
}

impl Drop for Answered {
    fn drop(&mut self) {
        self.activity.request_finished();
    }
}

impl http_body::Body for Answered {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
