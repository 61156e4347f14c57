//! Hearing what every process announces on a PostgreSQL channel (`pg_notify`), and saying
//! when that is in place. Realtime events and live notifications travel this way; on SQLite
//! (one process) they are handed over in-process and nothing needs to listen.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::db::Db;

/// Whether a listener hears its channel: a client is greeted only once it does, so that
/// what is announced after the greeting cannot be missed.
#[derive(Clone)]
pub struct Readiness(Arc<watch::Sender<bool>>);

impl Default for Readiness {
    fn default() -> Self {
        Readiness(Arc::new(watch::Sender::new(false)))
    }
}

impl Readiness {
    fn set(&self, ready: bool) {
        self.0.send_replace(ready);
    }

    /// Wait (at most `patience`) until the listener hears its channel; false if it does not
    /// by then.
    pub async fn wait(&self, patience: Duration) -> bool {
        let mut ready = self.0.subscribe();
        matches!(tokio::time::timeout(patience, ready.wait_for(|on| *on)).await, Ok(Ok(_)))
    }
}

/// Hand every payload announced on `channel` to `on_payload` until `stop`, reconnecting
/// when the connection is lost; `ready` says when the LISTEN is in place. On SQLite it is
/// ready at once and returns.
pub async fn listen<F, Fut>(
    db: &Db,
    channel: &'static str,
    what: &'static str,
    ready: &Readiness,
    mut stop: watch::Receiver<bool>,
    mut on_payload: F,
) where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let Db::Postgres(shared) = db else {
        ready.set(true);
        return;
    };
    // A listener keeps its connection for as long as it runs: it gets one of its own (same
    // settings as the shared pool's), so that each module listening does not take one of the
    // connections requests need.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with((*shared.connect_options()).clone());
    let pool = &pool;
    loop {
        ready.set(false);
        let connected = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(channel).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match connected.await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, channel, "{what} listener cannot LISTEN; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        ready.set(true);
        // The two-process tests wait for this line.
        tracing::info!(channel, "{what} listener is ready");
        loop {
            tokio::select! {
                n = listener.recv() => match n {
                    Ok(n) => on_payload(n.payload().to_string()).await,
                    Err(e) => {
                        tracing::warn!(error = %e, channel, "{what} listener lost its connection; reconnecting");
                        break;
                    }
                },
                _ = stop.changed() => return,
            }
        }
    }
}
