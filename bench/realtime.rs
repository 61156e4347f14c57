//! Realtime fan-out benchmark (run by `bench/runtime.sh`), for any server speaking
//! PocketBase's SSE realtime protocol: `realtime BASE SUBSCRIBERS CREATES [TOKEN]`.
//!
//! Opens SUBSCRIBERS connections to `BASE/api/realtime`, each subscribed to `posts/*` (every
//! record of the collection), then creates CREATES records one after another (20 ms apart),
//! each carrying its send time in its title. Every subscriber notes when each event arrives.
//! Prints one line: the create calls' p50/p99 and the delivery latency p50/p99/max over every
//! (subscriber, event) pair, and how many of the expected deliveries arrived.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One subscriber: connect, subscribe, then record each event's delay until `stop`.
async fn subscriber(
    client: reqwest::Client,
    base: String,
    start: Instant,
    ready: tokio::sync::mpsc::Sender<()>,
    delays: Arc<Mutex<Vec<f64>>>,
) -> anyhow::Result<()> {
    let mut resp = client.get(format!("{base}/api/realtime")).send().await?.error_for_status()?;
    let mut buf = String::new();
    let mut subscribed = false;
    while let Some(chunk) = resp.chunk().await? {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut event = "";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            let parsed: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
            if event == "PB_CONNECT" && !subscribed {
                let client_id = parsed["clientId"].as_str().unwrap_or_default().to_string();
                client
                    .post(format!("{base}/api/realtime"))
                    .json(&json!({"clientId": client_id, "subscriptions": ["posts/*"]}))
                    .send()
                    .await?
                    .error_for_status()?;
                subscribed = true;
                let _ = ready.send(()).await;
            } else if let Some(sent) = parsed["record"]["title"]
                .as_str()
                .and_then(|t| t.strip_prefix("rt "))
                .and_then(|t| t.parse::<u64>().ok())
            {
                let now = start.elapsed().as_micros() as u64;
                delays.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(now.saturating_sub(sent) as f64 / 1000.0);
            }
        }
    }
    Ok(())
}

pub async fn run(base: &str, subscribers: usize, creates: usize, token: Option<&str>) -> anyhow::Result<()> {
    let start = Instant::now();
    let delays = Arc::new(Mutex::new(Vec::with_capacity(subscribers * creates)));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(subscribers.max(1));
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
    let mut tasks = Vec::new();
    for i in 0..subscribers {
        // One client per subscriber: its own connection, as browsers would have.
        let client = reqwest::Client::builder().http1_only().build()?;
        tasks.push(tokio::spawn(subscriber(client, base.to_string(), start, ready_tx.clone(), delays.clone())));
        if i % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(ready_tx);
    for _ in 0..subscribers {
        tokio::time::timeout(Duration::from_secs(60), ready_rx.recv())
            .await
            .map_err(|_| anyhow::anyhow!("subscribers did not all connect within 60 s"))?
            .ok_or_else(|| anyhow::anyhow!("a subscriber failed to connect or subscribe"))?;
    }
    let mut create_ms = Vec::with_capacity(creates);
    for _ in 0..creates {
        let sent = start.elapsed().as_micros() as u64;
        let mut req = client
            .post(format!("{base}/api/collections/posts/records"))
            .json(&json!({"title": format!("rt {sent}"), "views": 1, "published": true}));
        if let Some(t) = token {
            req = req.header("authorization", t);
        }
        let t0 = Instant::now();
        req.send().await?.error_for_status()?;
        create_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the last events arrive.
    let expected = subscribers * creates;
    for _ in 0..50 {
        if delays.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for t in &tasks {
        t.abort();
    }
    let mut d = delays.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    d.sort_by(f64::total_cmp);
    create_ms.sort_by(f64::total_cmp);
    println!(
        "subscribers={subscribers} creates={creates} create_p50_ms={:.2} create_p99_ms={:.2} delivery_p50_ms={:.2} delivery_p99_ms={:.2} delivery_max_ms={:.2} delivered={}/{}",
        percentile(&create_ms, 0.5),
        percentile(&create_ms, 0.99),
        percentile(&d, 0.5),
        percentile(&d, 0.99),
        d.last().copied().unwrap_or(f64::NAN),
        d.len(),
        expected
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: realtime_bench BASE SUBSCRIBERS CREATES [AUTHORIZATION]";
    let base = args.get(1).ok_or_else(|| anyhow::anyhow!(usage))?;
    let subscribers: usize = args.get(2).ok_or_else(|| anyhow::anyhow!(usage))?.parse()?;
    let creates: usize = args.get(3).ok_or_else(|| anyhow::anyhow!(usage))?.parse()?;
    run(base, subscribers, creates, args.get(4).map(String::as_str)).await
}
