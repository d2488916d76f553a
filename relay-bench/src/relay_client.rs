//! relay-client against mock-broker: pipelined requests, and event ingest with a subscriber counting
//! beside it (its round trips are measured with the floors, in [`crate::round_trip`]).

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use relay_client::{ClientOptions, RelayClient};

use super::{BenchError, Ingest, check_report};

/// Starts relay-client with mock-broker playing `fixture`, its verdict to `report`.
pub(super) async fn start(
    mock: &Path,
    fixture: &Path,
    report: &Path,
) -> Result<RelayClient, BenchError> {
    let options = ClientOptions::new()
        .binary(mock)
        .binary_args([
            "--fixture".to_owned(),
            fixture.display().to_string(),
            "--report".to_owned(),
            report.display().to_string(),
        ])
        .broker_name("bench")
        .verify_binary(false)
        .install_missing(false)
        .request_timeout(Duration::from_secs(60));
    RelayClient::start(options)
        .await
        .map_err(|error| BenchError::Run(format!("relay-client did not start: {error}")))
}

/// Ends the play (closes the broker's stdin) and checks mock-broker's verdict.
pub(super) async fn finish(client: RelayClient, report: &Path) -> Result<(), BenchError> {
    let _ = client.close().await;
    check_report(report)
}

/// A failed request, as a benchmark error.
pub(super) fn failed(error: relay_client::ClientError) -> BenchError {
    BenchError::Run(format!("relay-client: {error}"))
}

/// `count` requests issued at once: requests per second.
pub async fn pipelined(
    mock: &Path,
    fixture: &Path,
    report: &Path,
    count: usize,
) -> Result<f64, BenchError> {
    let client = start(mock, fixture, report).await?;
    let started = Instant::now();
    let calls = (0..count).map(|_| client.list_agents());
    for result in futures_util::future::join_all(calls).await {
        result.map_err(failed)?;
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    finish(client, report).await?;
    Ok(rate)
}

/// One request answered after `events` events, a subscriber counting them.
pub async fn ingest(
    mock: &Path,
    fixture: &Path,
    report: &Path,
    events: usize,
) -> Result<Ingest, BenchError> {
    let client = start(mock, fixture, report).await?;
    let mut stream = client.events();
    let (seen_tx, seen_rx) = tokio::sync::watch::channel(0_usize);
    let counter = tokio::spawn(async move {
        let mut seen = 0;
        // Idle this long only if events were lost: the flood takes well under a second.
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(1), stream.next()).await {
            seen += 1;
            seen_tx.send_replace(seen);
        }
        seen
    });
    // The broker answers after the flood and the reader dispatches in order: when the answer
    // arrives, every event has been read, typed and published.
    let started = Instant::now();
    client.list_agents().await.map_err(failed)?;
    let seconds = started.elapsed().as_secs_f64();
    let seen_at_response = *seen_rx.borrow();
    let seen_total = counter
        .await
        .map_err(|error| BenchError::Run(error.to_string()))?;
    finish(client, report).await?;
    Ok(Ingest {
        events,
        seen_at_response,
        seen_total,
        seconds,
    })
}
