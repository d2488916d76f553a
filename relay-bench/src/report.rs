//! The benchmark figures as a table of measures, ratios and targets: printed, and written as
//! Markdown (docs/BENCHMARKS.md) with the machine and the command that produced them.

use std::fmt::Write;
use std::time::Duration;

use super::{BenchError, BenchReport, ClientFigures};

/// A target and whether it was met.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What it asks, e.g. `relay-client round trip ≤ 1.5× the floor`.
    pub what: String,
    /// The measured value of the ratio, if measured.
    pub value: Option<f64>,
    /// The bound.
    pub bound: f64,
    /// Whether the ratio must be at most (`true`) or at least (`false`) the bound.
    pub at_most: bool,
}

impl Target {
    /// `MET`, `MISSED` or `not measured`.
    pub fn verdict(&self) -> &'static str {
        match self.value {
            Some(value)
                if (self.at_most && value <= self.bound)
                    || (!self.at_most && value >= self.bound) =>
            {
                "met"
            }
            Some(_) => "MISSED",
            None => "not measured",
        }
    }
}

fn percentile(samples: &[Duration], fraction: f64) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let last = sorted.len().checked_sub(1)?;
    sorted
        .get((last as f64 * fraction).round() as usize)
        .copied()
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn p50(samples: &Result<Vec<Duration>, BenchError>) -> Option<Duration> {
    samples
        .as_ref()
        .ok()
        .and_then(|samples| percentile(samples, 0.5))
}

fn latency(samples: &Result<Vec<Duration>, BenchError>, unit_ms: bool) -> String {
    match samples {
        Ok(samples) => match (percentile(samples, 0.5), percentile(samples, 0.99)) {
            (Some(p50), Some(p99)) if unit_ms => format!(
                "p50 {:.2} ms, p99 {:.2} ms",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3
            ),
            (Some(p50), Some(p99)) => {
                format!("p50 {:.1} µs, p99 {:.1} µs", micros(p50), micros(p99))
            }
            _ => "no samples".to_owned(),
        },
        Err(error) => format!("not measured: {error}"),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn shown_ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.2}×"))
}

fn secs(duration: Option<Duration>) -> Option<f64> {
    duration.map(|duration| duration.as_secs_f64())
}

/// The targets of issue 4 and 8, evaluated.
pub fn targets(report: &BenchReport) -> Vec<Target> {
    let floor = percentile(&report.floors.round_trip, 0.5);
    let relay = report.clients.first();
    let relay_p50 = relay.and_then(|client| p50(&client.round_trip));
    let mut targets = vec![Target {
        what: "relay-client round trip p50 ≤ 1.5× the echo floor".to_owned(),
        value: ratio(secs(relay_p50), secs(floor)),
        bound: 1.5,
        at_most: true,
    }];
    for (client, bound) in report.clients.iter().skip(1).zip([5.0, 10.0]) {
        targets.push(Target {
            what: format!(
                "relay-client round trip ≥ {bound}× faster than {}",
                client.name
            ),
            value: ratio(secs(p50(&client.round_trip)), secs(relay_p50)),
            bound,
            at_most: false,
        });
    }
    let ingest = relay.and_then(|client| client.ingest.as_ref().ok().map(|ingest| ingest.rate()));
    targets.push(Target {
        what: "relay-client ingest ≥ 0.5× parse-only".to_owned(),
        value: ratio(ingest, Some(report.floors.parse_only)),
        bound: 0.5,
        at_most: false,
    });
    targets.push(Target {
        what: format!(
            "mock-broker start-up p50 ≤ 0.2× the real broker {}'s",
            report.broker_version
        ),
        value: ratio(
            secs(p50(&report.mock_startup)),
            secs(p50(&report.broker_startup)),
        ),
        bound: 0.2,
        at_most: true,
    });
    let peaks: Vec<f64> = report
        .memory
        .iter()
        .filter_map(|run| run.as_ref().ok().map(|run| run.peak_rss_kib as f64))
        .collect();
    let flat = match (
        peaks.iter().copied().reduce(f64::min),
        peaks.iter().copied().reduce(f64::max),
    ) {
        (Some(low), Some(high)) if peaks.len() == report.memory.len() => Some(high / low),
        _ => None,
    };
    targets.push(Target {
        what: "relay-client memory flat: largest peak ≤ 1.5× the smallest, 10× the load".to_owned(),
        value: flat,
        bound: 1.5,
        at_most: true,
    });
    targets
}

fn ingest_cell(client: &ClientFigures) -> String {
    match &client.ingest {
        Ok(ingest) => format!(
            "{:.0} events/s; subscriber saw {} of {} by the response, {} in all",
            ingest.rate(),
            ingest.seen_at_response,
            ingest.events,
            ingest.seen_total
        ),
        Err(error) => format!("not measured: {error}"),
    }
}

/// The measures as Markdown tables.
pub fn markdown(report: &BenchReport, machine: &str, command: &str, date: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Measured {date} on {machine}, in one run of:\n\n```sh\n{command}\n```\n"
    );
    let _ = writeln!(
        out,
        "Every client talks to the same mock-broker release build playing the same fixtures: {} `list_agents` round trips one at a time, {} pipelined, and one request answered after a flood of {} `worker_stream` events. The floors are measured in the same run: a round trip through `cat` (a line written to a child process, read back and typed; it takes turns with relay-client's, 100 each, so both see the same machine), the same pipelined, and framing and typing the flood from memory. Ratios are to the floor, and between clients. The other SDKs run in their own processes, after relay-client's turns: their ratios assume the machine did not change in between, and on a virtual machine whose idle CPUs take tens of microseconds to wake, the floor itself moves from run to run, so compare their rows over several runs.\n",
        report.round_trips, report.pipelined, report.events
    );
    let floor = percentile(&report.floors.round_trip, 0.5);
    let relay_p50 = report
        .clients
        .first()
        .and_then(|client| p50(&client.round_trip));
    let _ = writeln!(
        out,
        "## Request round trip\n\n| client | latency | × floor | × relay-client |\n| --- | --- | --- | --- |"
    );
    let _ = writeln!(
        out,
        "| floor: `cat` echo | {} | 1.00× | |",
        latency(&Ok(report.floors.round_trip.clone()), false)
    );
    for client in &report.clients {
        let p = p50(&client.round_trip);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            client.name,
            latency(&client.round_trip, false),
            shown_ratio(ratio(secs(p), secs(floor))),
            shown_ratio(ratio(secs(p), secs(relay_p50)))
        );
    }
    let _ = writeln!(
        out,
        "\n## Pipelined throughput\n\n| client | requests/s | floor ÷ client |\n| --- | --- | --- |"
    );
    let floor_rate = report.floors.pipelined.as_ref().ok().copied();
    match &report.floors.pipelined {
        Ok(rate) => {
            let _ = writeln!(out, "| floor: `cat` echo | {rate:.0} lines/s | 1.00× |");
        }
        Err(error) => {
            let _ = writeln!(out, "| floor: `cat` echo | not measured: {error} | |");
        }
    }
    for client in &report.clients {
        let rate = client.pipelined.as_ref().ok().copied();
        let shown = match &client.pipelined {
            Ok(rate) => format!("{rate:.0}"),
            Err(error) => format!("not measured: {error}"),
        };
        let _ = writeln!(
            out,
            "| {} | {shown} | {} |",
            client.name,
            shown_ratio(ratio(floor_rate, rate))
        );
    }
    let _ = writeln!(
        out,
        "\n## Event ingest\n\n| client | rate | × parse-only |\n| --- | --- | --- |"
    );
    let _ = writeln!(
        out,
        "| floor: parse-only | {:.0} events/s | 1.00× |",
        report.floors.parse_only
    );
    for client in &report.clients {
        let rate = client.ingest.as_ref().ok().map(|ingest| ingest.rate());
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            client.name,
            ingest_cell(client),
            shown_ratio(ratio(rate, Some(report.floors.parse_only)))
        );
    }
    let _ = writeln!(
        out,
        "\n## Start-up to hello_ack\n\n| broker | time | × real broker |\n| --- | --- | --- |"
    );
    let real = p50(&report.broker_startup);
    let _ = writeln!(
        out,
        "| mock-broker | {} | {} |",
        latency(&report.mock_startup, true),
        shown_ratio(ratio(secs(p50(&report.mock_startup)), secs(real)))
    );
    let _ = writeln!(
        out,
        "| agent-relay-broker {} (stand-in Relaycast on 127.0.0.1) | {} | 1.00× |",
        report.broker_version,
        latency(&report.broker_startup, true)
    );
    let _ = writeln!(out, "\n## The corpus against the real broker\n");
    match &report.corpus {
        Ok(run) => {
            let _ = writeln!(
                out,
                "{} fixtures against agent-relay-broker {}, {} at a time: {:.1} s wall time ({} passed, {} failed, {} errors, {} skipped; no baseline applied, so known failures count as failed).",
                run.fixtures,
                report.broker_version,
                run.jobs,
                run.wall.as_secs_f64(),
                run.summary.passed,
                run.summary.failed,
                run.summary.errors,
                run.summary.skipped
            );
        }
        Err(error) => {
            let _ = writeln!(out, "Not measured: {error}");
        }
    }
    let _ = writeln!(
        out,
        "\n## relay-client memory\n\nAgainst an in-process broker over an in-memory pipe, in a process of its own; a subscriber consumes the events; requests 64 at a time.\n\n| events | requests | subscriber saw | peak RSS |\n| --- | --- | --- | --- |"
    );
    for run in &report.memory {
        match run {
            Ok(run) => {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.1} MiB |",
                    run.events,
                    run.requests,
                    run.seen,
                    run.peak_rss_kib as f64 / 1024.0
                );
            }
            Err(error) => {
                let _ = writeln!(out, "| | | not measured: {error} | |");
            }
        }
    }
    let _ = writeln!(
        out,
        "\n## Targets\n\n| target | measured | verdict |\n| --- | --- | --- |"
    );
    for target in targets(report) {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            target.what,
            shown_ratio(target.value),
            target.verdict()
        );
    }
    let _ = write!(out, "{}", speedup_bounds(report));
    out
}

/// What the "faster than an SDK" targets would take, against the floor every client pays: a client
/// `bound` times faster than an SDK needs a round trip of the SDK's divided by `bound`.
fn speedup_bounds(report: &BenchReport) -> String {
    let Some(floor) = percentile(&report.floors.round_trip, 0.5) else {
        return String::new();
    };
    let mut out = String::new();
    for (client, bound) in report.clients.iter().skip(1).zip([5.0, 10.0]) {
        let Some(sdk) = p50(&client.round_trip) else {
            continue;
        };
        let needed = sdk.as_secs_f64() / bound;
        let _ = writeln!(
            out,
            "\n{bound}× faster than {} (p50 {:.1} µs) means a round trip of {:.1} µs, {:.2}× the `cat` echo floor ({:.1} µs) that a round trip through a child process costs any client.",
            client.name,
            micros(sdk),
            needed * 1e6,
            needed / floor.as_secs_f64(),
            micros(floor)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryFigures;
    use crate::{Floors, Ingest};

    fn micros(n: u64) -> Vec<Duration> {
        vec![Duration::from_micros(n); 5]
    }

    fn client(name: &str, round_trip_us: u64) -> ClientFigures {
        ClientFigures {
            name: name.to_owned(),
            round_trip: Ok(micros(round_trip_us)),
            pipelined: Ok(1000.0),
            ingest: Ok(Ingest {
                events: 100,
                seen_at_response: 100,
                seen_total: 100,
                seconds: 0.001,
            }),
        }
    }

    fn report() -> BenchReport {
        let memory = |peak_rss_kib| {
            Ok(MemoryFigures {
                events: 10,
                requests: 1,
                seen: 10,
                peak_rss_kib,
            })
        };
        BenchReport {
            round_trips: 5,
            pipelined: 5,
            events: 100,
            floors: Floors {
                round_trip: micros(10),
                pipelined: Ok(2000.0),
                parse_only: 250_000.0,
            },
            clients: vec![
                client("relay-client", 14),
                client("ts", 50),
                client("py", 100),
            ],
            mock_startup: Ok(vec![Duration::from_millis(1); 3]),
            broker_version: "3.2.5".to_owned(),
            broker_startup: Ok(vec![Duration::from_millis(8); 3]),
            corpus: Err(BenchError::Setup("skipped".to_owned())),
            memory: vec![memory(1000), memory(1100)],
        }
    }

    #[test]
    fn targets_are_judged_from_the_figures() {
        let verdicts: Vec<(String, &str)> = targets(&report())
            .iter()
            .map(|target| (target.what.clone(), target.verdict()))
            .collect();
        let verdict = |prefix: &str| {
            verdicts
                .iter()
                .find(|(what, _)| what.starts_with(prefix))
                .map(|(_, verdict)| *verdict)
        };
        assert_eq!(verdict("relay-client round trip p50"), Some("met")); // 1.4x
        assert_eq!(
            verdict("relay-client round trip ≥ 5× faster than ts"),
            Some("MISSED")
        ); // 3.6x
        assert_eq!(
            verdict("relay-client round trip ≥ 10× faster than py"),
            Some("MISSED")
        ); // 7.1x
        assert_eq!(verdict("relay-client ingest"), Some("MISSED")); // 100k/s of 250k: 0.4x
        assert_eq!(verdict("mock-broker start-up"), Some("met")); // 0.125x
        assert_eq!(verdict("relay-client memory flat"), Some("met")); // 1.1x
    }

    #[test]
    fn the_markdown_says_what_an_sdk_speed_target_would_take() {
        let text = markdown(
            &report(),
            "a machine",
            "relay-conformance bench",
            "2026-11-24",
        );
        assert!(
            text.contains("| relay-client | p50 14.0 µs, p99 14.0 µs | 1.40× | 1.00× |"),
            "{text}"
        );
        assert!(
            text.contains("5× faster than ts (p50 50.0 µs) means a round trip of 10.0 µs, 1.00× the `cat` echo floor (10.0 µs)"),
            "{text}"
        );
        assert!(text.contains("Not measured: skipped"), "{text}");
    }
}
