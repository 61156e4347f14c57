//! The HTTP listener: accepts connections and serves each with hyper's HTTP/1 (with
//! upgrades, for WebSockets), with a deadline on reading a request's headers.
//!
//! `axum::serve` sets no timer on hyper, so hyper's header read timeout never runs: a client
//! that opened a connection and then sent nothing, or a request's headers one byte at a
//! time (slowloris), held its connection, its task and a file for as long as it liked, and a
//! few thousand of them exhausted the server's files. Here a connection has
//! `header_read_timeout_secs` (30 s, PocketBase's `ReadHeaderTimeout`) to send a request's
//! headers, counted from when the server starts waiting for them (so a keep-alive connection
//! idle that long is closed too, as hyper does), and is closed within a quarter of that more.
//! Bodies, responses and upgraded streams (WebSocket, SSE) have no such deadline: those have
//! their own rules.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::middleware::PathRewrite;

/// Serve `service` on `listener` until `shutdown` resolves; then stop accepting, let every
/// connection finish its request in flight (streams end on the server's own stop signal),
/// and return once all are closed.
pub async fn serve(
    listener: TcpListener,
    service: PathRewrite,
    header_read_timeout: Option<Duration>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (closing_tx, closing_rx) = watch::channel(false);
    // Every connection's task holds a receiver of `done`: when all are dropped, all are done.
    let (done, _) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tokio::select! {
                    () = accept_failed(e) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        // Answers are small and complete: sent at once instead of waiting on Nagle.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let service = service.clone();
        let closing = closing_rx.clone();
        let running = done.subscribe();
        tokio::spawn(async move {
            serve_connection(stream, remote, service, header_read_timeout, closing).await;
            drop(running);
        });
    }
    drop(listener);
    closing_tx.send_replace(true);
    done.closed().await;
    Ok(())
}

/// An accept that failed: a connection reset before it was accepted is nothing; anything
/// else (out of files, of memory) is logged, and accepting pauses a moment rather than spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "could not accept a connection; pausing for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    service: PathRewrite,
    header_read_timeout: Option<Duration>,
    mut closing: watch::Receiver<bool>,
) {
    // The client's address, as `axum::serve` with connect info gives it.
    let service = tower::ServiceExt::map_request(service, move |request: hyper::Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(remote));
        request
    });
    let deadline = HeaderDeadline::default();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(deadline.clone()).header_read_timeout(header_read_timeout);
    let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)).with_upgrades();
    let mut connection = std::pin::pin!(connection);
    // One coarse tick per connection wakes it when its header deadline has passed.
    let mut tick = header_read_timeout.map(|timeout| {
        let every = (timeout / 4).max(Duration::from_millis(50));
        tokio::time::interval_at(tokio::time::Instant::now() + every, every)
    });
    let mut shutting_down = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => return log_end(result),
            // The guard `wait_for` returns is dropped at once (it is not `Send`).
            () = async { let _ = closing.wait_for(|closing| *closing).await; }, if !shutting_down => {
                // Finish the request in flight, then close. The loop goes on: a connection
                // still waiting for headers (one that sent nothing yet) is not idle to hyper,
                // and only its header deadline, woken by the tick, ends it.
                connection.as_mut().graceful_shutdown();
                shutting_down = true;
            }
            () = async {
                match tick.as_mut() {
                    Some(tick) => {
                        tick.tick().await;
                    }
                    None => std::future::pending().await,
                }
            } => deadline.wake_if_due(),
        }
    }
}

/// hyper's timer for one connection's header read timeout, cheap per request. hyper arms its
/// timer for every request it waits for; with hyper-util's `TokioTimer` that is a timer
/// registered in tokio's wheel and dropped again per request on a kept-alive connection,
/// which cost 7-9 % of the requests per second of `GET /healthz`. This one only records the
/// deadline and the waker of the request being waited for; the connection's coarse tick
/// wakes it once that deadline has passed, and hyper then finds it expired.
#[derive(Clone, Default)]
struct HeaderDeadline(Arc<Mutex<Option<(Instant, Waker)>>>);

impl HeaderDeadline {
    fn wake_if_due(&self) {
        let due = self.0.lock().ok().and_then(|mut waiting| match waiting.as_ref() {
            Some((at, _)) if Instant::now() >= *at => waiting.take(),
            _ => None,
        });
        if let Some((_, waker)) = due {
            waker.wake();
        }
    }
}

impl hyper::rt::Timer for HeaderDeadline {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Deadline { at: deadline, waiting: self.0.clone() })
    }
}

/// A deadline hyper waits on: ready once passed.
struct Deadline {
    at: Instant,
    waiting: Arc<Mutex<Option<(Instant, Waker)>>>,
}

impl Future for Deadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            return Poll::Ready(());
        }
        if let Ok(mut waiting) = self.waiting.lock() {
            match waiting.as_mut() {
                Some((at, waker)) if *at == self.at && waker.will_wake(cx.waker()) => {}
                _ => *waiting = Some((self.at, cx.waker().clone())),
            }
        }
        Poll::Pending
    }
}

impl hyper::rt::Sleep for Deadline {}

impl Drop for Deadline {
    fn drop(&mut self) {
        // The headers came (or the connection ended): nothing to wake for this one.
        if let Ok(mut waiting) = self.waiting.lock()
            && waiting.as_ref().is_some_and(|(at, _)| *at == self.at)
        {
            *waiting = None;
        }
    }
}

fn log_end(result: hyper::Result<()>) {
    if let Err(e) = result {
        tracing::trace!(error = %e, "connection ended with an error");
    }
}
