//! Background work that must run in the order it was asked for, per key.
//!
//! Realtime events of one app must reach each subscriber in the order their writes
//! committed. A task spawned per event does not guarantee that: when the first event's
//! fan-out waits on a rule query, the second one's can overtake it. Each key gets one
//! worker that runs its jobs one after the other and exits after a quiet while; different
//! keys (apps) still run in parallel.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;

pub(crate) type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How long a key's worker waits for more jobs before it exits.
const IDLE: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub(crate) struct OrderedTasks {
    queues: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Job>>>>,
    idle: Duration,
}

impl Default for OrderedTasks {
    fn default() -> Self {
        OrderedTasks { queues: Arc::default(), idle: IDLE }
    }
}

impl OrderedTasks {
    /// Run `job` after every job already queued under `key`.
    pub(crate) fn run(&self, key: &str, job: Job) {
        // The lock is held while sending, so that a worker deciding to exit (under the same
        // lock) never leaves a job behind in its queue.
        let mut queues = self.lock();
        let job = match queues.get(key) {
            Some(sender) => match sender.send(job) {
                Ok(()) => return,
                // Its worker stopped (a job panicked): start a new one.
                Err(mpsc::error::SendError(job)) => job,
            },
            None => job,
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        let _ = sender.send(job);
        queues.insert(key.to_string(), sender);
        tokio::spawn(work(self.clone(), key.to_string(), receiver));
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Job>>> {
        // Nothing panics while holding this lock; a poisoned map is still consistent.
        self.queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[cfg(test)]
    fn workers(&self) -> usize {
        self.lock().len()
    }
}

async fn work(tasks: OrderedTasks, key: String, mut jobs: mpsc::UnboundedReceiver<Job>) {
    loop {
        match tokio::time::timeout(tasks.idle, jobs.recv()).await {
            Ok(Some(job)) => job.await,
            Ok(None) => return,
            Err(_idle) => {
                let mut queues = tasks.lock();
                if jobs.is_empty() {
                    queues.remove(&key);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_of_a_key_run_in_order_and_idle_workers_exit() {
        let tasks = OrderedTasks { idle: Duration::from_millis(100), ..OrderedTasks::default() };
        let (done, mut finished) = mpsc::unbounded_channel();
        for n in 0..5u64 {
            let done = done.clone();
            // Earlier jobs sleep longer: spawned separately, they would finish last.
            tasks.run(
                "app",
                Box::pin(async move {
                    tokio::time::sleep(Duration::from_millis(50 - n * 10)).await;
                    let _ = done.send(n);
                }),
            );
        }
        let mut order = Vec::new();
        for _ in 0..5 {
            order.push(finished.recv().await);
        }
        assert_eq!(order, [Some(0), Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(tasks.workers(), 1);
        // It exits once idle for 100 ms; when it gets to run after that is the machine's
        // business, so wait for it to happen (30 s at most), not for a fixed time.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tasks.workers() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(tasks.workers(), 0, "an idle worker exits");
        // A new job after that starts a new worker.
        let done = done.clone();
        tasks.run(
            "app",
            Box::pin(async move {
                let _ = done.send(9);
            }),
        );
        assert_eq!(finished.recv().await, Some(9));
    }
}
