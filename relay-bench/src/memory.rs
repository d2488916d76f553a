//! relay-client's peak memory through a flood of events and through many requests, against an
//! in-process broker over an in-memory pipe (a fixture of a million steps would weigh more than the
//! client). Run in a process of its own (`relay-bench memory`), which reports its peak
//! resident set size.

use std::time::Duration;

use futures_util::StreamExt;
use relay_client::{ClientOptions, RelayClient};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::BenchError;
use super::fixtures::FLOOD_EVENT;

/// Requests in flight at once in the requests run.
const IN_FLIGHT: usize = 64;

/// What a memory run did, and the process's peak resident set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MemoryFigures {
    /// Events flooded.
    pub events: usize,
    /// Requests answered.
    pub requests: usize,
    /// Events the subscriber saw.
    pub seen: usize,
    /// Peak resident set size (VmHWM), KiB.
    pub peak_rss_kib: u64,
}

/// Makes `requests` requests (at least one) through relay-client, the first answered after a flood
/// of `events` events that a subscriber consumes; returns the figures with the process's peak
/// resident set.
pub async fn run(events: usize, requests: usize) -> Result<MemoryFigures, BenchError> {
    let (client_side, broker_side) = tokio::io::duplex(1 << 16);
    let (client_read, client_write) = tokio::io::split(client_side);
    let (broker_read, mut broker_write) = tokio::io::split(broker_side);
    let broker = tokio::spawn(async move {
        let mut lines = BufReader::new(broker_read).lines();
        let mut flooded = false;
        while let Some(line) = lines.next_line().await? {
            let Ok(frame) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let id = frame["request_id"].clone();
            // The flood comes before the answer to the first request, so the subscriber (which
            // subscribes after the handshake) can see all of it.
            if frame["type"] != "hello" && !flooded {
                flooded = true;
                for _ in 0..events {
                    broker_write.write_all(FLOOD_EVENT.as_bytes()).await?;
                    broker_write.write_all(b"\n").await?;
                }
            }
            let answer = if frame["type"] == "hello" {
                serde_json::json!({"v": 1, "type": "hello_ack", "request_id": id,
                    "payload": {"broker_version": "3.0.0", "protocol_version": 1, "workspace_key": "rk_live_bench"}})
            } else {
                serde_json::json!({"v": 1, "type": "ok", "request_id": id, "payload": {"result": {"agents": []}}})
            };
            let mut bytes = answer.to_string().into_bytes();
            bytes.push(b'\n');
            broker_write.write_all(&bytes).await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let options = ClientOptions::new().request_timeout(Duration::from_secs(60));
    let client = RelayClient::connect(client_read, client_write, options)
        .await
        .map_err(|error| BenchError::Run(format!("relay-client did not connect: {error}")))?;
    let mut stream = client.events();
    let counter = tokio::spawn(async move {
        let mut seen = 0;
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(2), stream.next()).await {
            seen += 1;
        }
        seen
    });
    // At least one request, after which the events come.
    let requests = requests.max(1);
    let mut answered = 0;
    while answered < requests {
        let batch = IN_FLIGHT.min(requests - answered);
        let calls = (0..batch).map(|_| client.list_agents());
        for result in futures_util::future::join_all(calls).await {
            result.map_err(|error| BenchError::Run(format!("relay-client: {error}")))?;
        }
        answered += batch;
    }
    let seen = counter
        .await
        .map_err(|error| BenchError::Run(error.to_string()))?;
    let _ = client.close().await;
    broker.abort();
    Ok(MemoryFigures {
        events,
        requests,
        seen,
        peak_rss_kib: peak_rss_kib()?,
    })
}

/// The process's peak resident set size, from `/proc/self/status`.
fn peak_rss_kib() -> Result<u64, BenchError> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| BenchError::Setup("no VmHWM in /proc/self/status".to_owned()))
}
