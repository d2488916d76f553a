//! `relay-conformance coverage`: what the corpus exercises in each generation of the broker's API,
//! where each item was verified, and (with `--check`) whether any item lost its fixtures.
//!
//! stdio fixtures count request types, error codes and event kinds; http fixtures count routes
//! (`POST /api/spawn`; a `ws_connect` is `GET /ws`), statuses by route (`POST /api/spawn 400`),
//! error codes of answer bodies and event kinds. What each item is read from:
//! [`relay_conformance::coverage`].

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use relay_conformance::coverage::{Coverage, render};
use relay_conformance::results::RunReport;

use crate::{EXIT_OK, EXIT_UNEXPECTED};

/// The arguments of `coverage`.
#[derive(Args)]
#[command(after_long_help = COUNTED)]
pub struct CoverageArgs {
    /// The fixture corpus directory (default: the corpus this program was built with).
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Run reports (`broker`/`client --format json --output FILE`): an item is verified on the
    /// implementations where one of its fixtures passed.
    #[arg(long = "results", value_name = "FILE")]
    results: Vec<PathBuf>,
    /// The output format.
    #[arg(long, value_enum, default_value = "text")]
    format: CoverageFormat,
    /// Write the output to this file instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// A coverage written earlier with `--format json`: exit 1 if an item it covers has no fixture
    /// now.
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
}

/// What `coverage --help` says is counted, per generation.
const COUNTED: &str = "\
What is counted, per generation (a fixture's `generation`):
  stdio  request types (`client` frames' `type`), error codes (`error` frames' `code`, and the
         `code` of a worker's error in `worker_error`) and event kinds (`event` frames' `kind`):
         every one the wire model knows, covered or not.
  http   routes (each `request`'s method and path mapped to its template, e.g.
         `DELETE /api/spawned/{name}`; a `ws_connect` is `GET /ws`; a path no route matches is
         not counted) and event kinds (`event` steps' `kind`): every one the route table and
         the model know, covered or not; statuses by route (`POST /api/spawn 400`: a
         `response` answers the oldest unanswered `request`; a refused `ws_connect` is
         `GET /ws 401`) and error codes (`code` or `error.code` of a `response` body): those
         some fixture expects.
An item is verified on the implementations (`--results`) where one of its fixtures passed.";

/// How `coverage` writes its output.
#[derive(Clone, Copy, ValueEnum)]
enum CoverageFormat {
    Text,
    Markdown,
    Json,
}

/// Computes, writes and checks the coverage.
pub fn run(args: CoverageArgs) -> anyhow::Result<u8> {
    let dir = match &args.fixtures {
        Some(dir) => dir.clone(),
        None => relay_conformance::embedded::BuiltIn::get()
            .context("cannot use the built-in fixtures")?
            .corpus(),
    };
    let loaded = relay_fixture::load_dir(&dir)
        .with_context(|| format!("cannot read the fixtures in {}", dir.display()))?;
    let mut fixtures = Vec::with_capacity(loaded.len());
    for (file, fixture) in loaded {
        fixtures.push(fixture.with_context(|| format!("{} does not load", file.display()))?);
    }
    let runs = args
        .results
        .iter()
        .map(|file| RunReport::load(file))
        .collect::<Result<Vec<_>, _>>()?;
    let coverage = Coverage::of(&fixtures, &runs);
    let output = match args.format {
        CoverageFormat::Text => render::text(&coverage),
        CoverageFormat::Markdown => render::markdown(&coverage),
        CoverageFormat::Json => serde_json::to_string_pretty(&coverage)? + "\n",
    };
    match &args.output {
        Some(file) => std::fs::write(file, output)
            .with_context(|| format!("cannot write {}", file.display()))?,
        None => print!("{output}"),
    }
    let Some(check) = &args.check else {
        return Ok(EXIT_OK);
    };
    let bytes = std::fs::read(check).with_context(|| format!("cannot read {}", check.display()))?;
    let earlier: Coverage = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a coverage written with --format json",
            check.display()
        )
    })?;
    let lost = coverage.lost_since(&earlier);
    if lost.is_empty() {
        eprintln!(
            "relay-conformance: coverage: no item covered in {} lost its fixtures",
            check.display()
        );
        return Ok(EXIT_OK);
    }
    for item in &lost {
        eprintln!(
            "relay-conformance: coverage: the {} {} `{}` lost its fixtures (it had {})",
            item.generation,
            item.kind.label(),
            item.name,
            item.fixtures.join(", ")
        );
    }
    Ok(EXIT_UNEXPECTED)
}
