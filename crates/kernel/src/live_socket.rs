//! Liveness for long-lived WebSocket connections (collab editors, notification and app
//! realtime streams), as the reference Yjs server does it: the server pings every `every`,
//! and a peer that has not answered the last ping with a pong is dropped; every write is
//! bounded by the same delay. A WebSocket client answers pings by itself as it reads, so
//! this catches a peer that vanished (a laptop closed, a phone out of signal: its socket
//! stays open until the operating system gives up, which for an idle socket is never) and
//! one that stopped reading while it still sends (its writes would wait forever).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// How long a close frame may wait to be written: a peer that does not read it is dropped.
pub const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Why a connection was found unresponsive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unresponsive {
    /// The last ping went unanswered.
    NoPong,
    /// A write waited longer than the ping period (the peer stopped reading).
    WriteStalled,
}

impl Unresponsive {
    pub fn as_str(self) -> &'static str {
        match self {
            Unresponsive::NoPong => "no answer to the last ping",
            Unresponsive::WriteStalled => "a write waited too long",
        }
    }
}

/// One connection's ping timer and whether its last ping was answered.
pub struct Liveness {
    every: Option<Duration>,
    pings: Option<Interval>,
    answered: bool,
}

impl Liveness {
    /// Pings every `every` (none, or zero: never, and writes are not bounded).
    pub fn new(every: Option<Duration>) -> Liveness {
        let every = every.filter(|d| !d.is_zero());
        let pings = every.map(|every| {
            let mut pings = tokio::time::interval_at(Instant::now() + every, every);
            pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
            pings
        });
        Liveness { every, pings, answered: true }
    }

    /// The bound on a write.
    pub fn write_limit(&self) -> Option<Duration> {
        self.every
    }

    /// Waits for the next ping, or forever when the connection is never pinged.
    pub async fn ping_due(&mut self) {
        match &mut self.pings {
            Some(pings) => {
                pings.tick().await;
            }
            None => std::future::pending().await,
        }
    }

    /// A pong came in.
    pub fn answered(&mut self) {
        self.answered = true;
    }

    /// At a ping's time: the ping to send, or why the connection is to be dropped.
    pub fn ping(&mut self) -> Result<Message, Unresponsive> {
        if !self.answered {
            return Err(Unresponsive::NoPong);
        }
        self.answered = false;
        Ok(Message::Ping(Default::default()))
    }

    /// `ping_due`, `ping` and the write in one: what a connection's loop does at a tick.
    pub async fn send_ping(&mut self, socket: &mut WebSocket) -> Result<(), Sent> {
        let ping = self.ping().map_err(Sent::Unresponsive)?;
        send(socket, self.every, ping).await
    }
}

/// A write that did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// The connection is closed or broken.
    Closed,
    /// The peer is not answering or not reading.
    Unresponsive(Unresponsive),
}

/// The output of `write` if it completed within `limit` (none: no limit); `None` if the
/// peer left it waiting longer (it stopped reading).
pub async fn within<T>(limit: Option<Duration>, write: impl Future<Output = T>) -> Option<T> {
    match limit {
        // Completes without arming a timer when the socket takes the bytes at once.
        Some(limit) => tokio::time::timeout(limit, write).await.ok(),
        None => Some(write.await),
    }
}

/// Write `message` within `limit`.
pub async fn send(socket: &mut WebSocket, limit: Option<Duration>, message: Message) -> Result<(), Sent> {
    match within(limit, socket.send(message)).await {
        Some(Ok(())) => Ok(()),
        Some(Err(_)) => Err(Sent::Closed),
        None => Err(Sent::Unresponsive(Unresponsive::WriteStalled)),
    }
}

/// Close with `code` and `reason`, waiting at most `CLOSE_WAIT` for the frame to be taken.
pub async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = Message::Close(Some(CloseFrame { code, reason: reason.to_string().into() }));
    let _ = tokio::time::timeout(CLOSE_WAIT, socket.send(frame)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    // Periods short enough for a test; nothing below depends on how fast the machine is.
    const PERIOD: Duration = Duration::from_millis(5);

    #[tokio::test]
    async fn an_unanswered_ping_marks_the_connection_unresponsive() {
        let mut live = Liveness::new(Some(PERIOD));
        live.ping_due().await;
        assert!(matches!(live.ping(), Ok(Message::Ping(_))));
        live.ping_due().await;
        assert_eq!(live.ping().err(), Some(Unresponsive::NoPong));
    }

    #[tokio::test]
    async fn an_answered_ping_keeps_it() {
        let mut live = Liveness::new(Some(PERIOD));
        for _ in 0..3 {
            live.ping_due().await;
            assert!(live.ping().is_ok());
            live.answered();
        }
    }

    #[tokio::test]
    async fn without_a_period_nothing_is_pinged_or_bounded() {
        let mut live = Liveness::new(Some(Duration::ZERO));
        assert_eq!(live.write_limit(), None);
        let waited = tokio::time::timeout(Duration::from_millis(50), live.ping_due()).await;
        assert!(waited.is_err(), "a connection without a period is never pinged");
        assert_eq!(within(None, async { 7 }).await, Some(7));
        assert_eq!(within(Some(PERIOD), std::future::pending::<()>()).await, None);
    }
}
