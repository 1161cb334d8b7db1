//! Limits on a request that the connection layer cannot answer in the right envelope: a body
//! that does not arrive in time (`408 request-timeout`), and a request still running when the
//! shutdown grace ends (`503 unavailable`, its handler dropped where it stands). Both answers
//! are in the face's envelope and close the connection. So does any answer given before the
//! request's body was read to its end (an upload refused at once, say): what is left of the
//! body would otherwise be read as the next request, or the client would reuse a connection
//! the server is about to close.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use tokio::sync::watch;
use tokio::time::Sleep;

use super::error;
use crate::domain::codes;
use crate::service::ServiceError;

/// Seconds a client is told to wait before retrying a request cut by shutdown.
const RETRY_AFTER_SECS: u64 = 1;

#[derive(Clone)]
pub struct RequestLimits {
    /// Time for a whole request body to arrive, counted from its head.
    pub body_read_timeout: Duration,
    /// Becomes `true` when the shutdown grace is over: running requests are answered 503.
    pub cut: watch::Receiver<bool>,
}

/// `router` with the limits applied to every route and fallback.
pub fn with_limits(router: Router, limits: RequestLimits) -> Router {
    router.layer(axum::middleware::from_fn_with_state(limits, guard))
}

async fn guard(State(limits): State<RequestLimits>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let timed_out = Arc::new(AtomicBool::new(false));
    // Whether the request has a body not yet read to its end.
    let unread = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        if body.is_end_stream() {
            body
        } else {
            unread.store(true, Ordering::Release);
            Body::new(DeadlineBody {
                inner: body,
                deadline: Box::pin(tokio::time::sleep(limits.body_read_timeout)),
                timed_out: Arc::clone(&timed_out),
                unread: Arc::clone(&unread),
            })
        }
    });
    let response = tokio::select! {
        biased;
        response = next.run(request) => response,
        () = cut(limits.cut) => {
            let error = ServiceError::unavailable(
                "the server is stopping and could not finish this request in time; retry",
            );
            let mut response = closing(error::for_path(&path, error));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            return response;
        }
    };
    if timed_out.load(Ordering::Acquire) {
        let error = ServiceError::client(
            &codes::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {} s",
                limits.body_read_timeout.as_secs()
            ),
        );
        return closing(error::for_path(&path, error));
    }
    if unread.load(Ordering::Acquire) {
        return closing(response);
    }
    response
}

/// Resolves when the cut is signalled; never if its sender is gone without signalling.
async fn cut(mut cut: watch::Receiver<bool>) {
    if cut.wait_for(|cut| *cut).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request body that fails once its deadline passes before its end.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    timed_out: Arc<AtomicBool>,
    /// Cleared once the body has been read to its end.
    unread: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if frame.is_none() || this.inner.is_end_stream() {
                this.unread.store(false, Ordering::Release);
            }
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.timed_out.store(true, Ordering::Release);
            let timeout = io::Error::new(io::ErrorKind::TimedOut, "request body read timeout");
            return Poll::Ready(Some(Err(axum::Error::new(timeout))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
