//! `matrix --from`: the matrix from JSON run reports written by separate jobs (`broker … --format
//! json`, `client … --format json`, possibly `--partition`ed), without running anything.
//!
//! Every report must say its implementation, its side and its generation, and be of this kit's
//! version and of the corpus the matrix shows (its digest): a report of another kit version or
//! another corpus is refused, not flagged, since its fixture ids or verdicts may mean something
//! else. The reports of one implementation (by its name) are merged into one run: they must agree
//! on its side, generation and broker version, a fixture reported twice is an error, and the
//! partitioned ones must be complete (for each `scheme` and `n` given, every `k` of `1..=n` exactly
//! once), so that a CI job whose report went missing is not read as fixtures not run.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use relay_fixture::Side;

use crate::partition::Partition;
use crate::results::{ReadReportError, RunContext, RunReport, Summary};

use super::redact::Redactor;
use super::{FixtureInfo, Implementation, Matrix, Meta, Role, Run};

/// The most run reports `matrix --from` reads.
pub const MAX_REPORTS: usize = 10_000;

/// How deep below a directory given to `--from` reports are looked for.
pub const MAX_DEPTH: usize = 8;

/// A run report and the file it was read from.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file.
    pub file: PathBuf,
    /// The report.
    pub report: RunReport,
}

/// The reports cannot be merged into a matrix.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A report cannot be read.
    #[error(transparent)]
    Read(#[from] ReadReportError),
    /// A directory cannot be listed.
    #[error("cannot read the directory {}", dir.display())]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No report was found.
    #[error("no run reports (`*.json`) in {paths}")]
    NoReports {
        /// The paths given.
        paths: String,
    },
    /// More than [`MAX_REPORTS`] reports.
    #[error("more than {MAX_REPORTS} run reports")]
    TooMany,
    /// A report lacks a member the matrix needs.
    #[error("{} does not say its {member} (written by an older relay-conformance?): run it again with this one", file.display())]
    Missing {
        /// The report.
        file: PathBuf,
        /// The member: `kit_version`, `corpus_digest`, `side`, `generation`.
        member: &'static str,
    },
    /// A report of another kit version.
    #[error("{} was written by relay-conformance {found}, this is {expected}: merge reports of one kit version", file.display())]
    KitVersion {
        /// The report.
        file: PathBuf,
        /// Its kit version.
        found: String,
        /// This kit's.
        expected: String,
    },
    /// A report of another corpus.
    #[error("{} is of another corpus (digest {found}) than the matrix's ({expected}): give its corpus with --fixtures, or run it again", file.display())]
    Corpus {
        /// The report.
        file: PathBuf,
        /// Its corpus digest.
        found: String,
        /// The matrix's.
        expected: String,
    },
    /// Two reports of one implementation disagree on what it is.
    #[error("the reports of {implementation} disagree on its {member}: {detail}")]
    Disagree {
        /// The implementation.
        implementation: String,
        /// `side`, `generation` or `broker_version`.
        member: &'static str,
        /// Which report says what.
        detail: String,
    },
    /// A fixture reported twice for one implementation.
    #[error("{implementation}: `{id}` is reported twice, by {} and {}", first.display(), second.display())]
    Twice {
        /// The implementation.
        implementation: String,
        /// The fixture.
        id: String,
        /// The first report.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A partition given twice, or missing, for one implementation.
    #[error("{implementation}: {problem}")]
    Partitions {
        /// The implementation.
        implementation: String,
        /// What is wrong.
        problem: String,
    },
}

/// Reads the reports `paths` name: files, and the `*.json` files below directories (at most
/// [`MAX_DEPTH`] deep, in path order), at most [`MAX_REPORTS`] in all.
pub fn read_reports(paths: &[PathBuf]) -> Result<Vec<Source>, MergeError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            json_files(path, 0, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
        if files.len() > MAX_REPORTS {
            return Err(MergeError::TooMany);
        }
    }
    if files.is_empty() {
        return Err(MergeError::NoReports {
            paths: paths
                .iter()
                .map(|path| path.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    files
        .into_iter()
        .map(|file| {
            let report = RunReport::load(&file)?;
            Ok(Source { file, report })
        })
        .collect()
}

fn json_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), MergeError> {
    let error = |source| MergeError::Dir {
        dir: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(error)? {
        let path = entry.map_err(error)?.path();
        if path.is_dir() {
            if depth < MAX_DEPTH {
                json_files(&path, depth + 1, out)?;
            }
        } else if path.extension().is_some_and(|ext| ext == "json") {
            out.push(path);
            if out.len() > MAX_REPORTS {
                return Err(MergeError::TooMany);
            }
        }
    }
    Ok(())
}

/// What the reports are checked against.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// This kit's version.
    pub kit_version: &'a str,
    /// The corpus's digest.
    pub corpus_digest: &'a str,
}

/// The matrix of `fixtures` from `sources` (see the [module docs](self)): implementations in the
/// order of their first report, brokers first; each one's results in the order of `fixtures`
/// (results of fixtures not among them are left out); `redactor` applied and the last lines of
/// results that did not fail left out, as a run of the matrix does.
pub fn from_reports(
    sources: Vec<Source>,
    fixtures: Vec<FixtureInfo>,
    expected: &Expected<'_>,
    meta: Meta,
    redactor: &Redactor,
) -> Result<Matrix, MergeError> {
    for source in &sources {
        check(source, expected)?;
    }
    let mut groups: Vec<(String, Vec<Source>)> = Vec::new();
    for source in sources {
        let name = &source.report.implementation;
        match groups.iter_mut().find(|(group, _)| group == name) {
            Some((_, members)) => members.push(source),
            None => groups.push((name.clone(), vec![source])),
        }
    }
    let order: HashMap<&str, usize> = fixtures
        .iter()
        .enumerate()
        .map(|(index, fixture)| (fixture.id.as_str(), index))
        .collect();
    let mut implementations = Vec::new();
    for (name, members) in groups {
        let mut implementation = merge(&name, members, &order)?;
        redactor.run(&mut implementation.run);
        if let Run::Ran(report) = &mut implementation.run {
            super::plan::drop_tails_of_passes(report);
        }
        implementations.push(implementation);
    }
    implementations.sort_by_key(|implementation| implementation.role == Role::Client);
    Ok(Matrix {
        meta,
        fixtures,
        implementations,
    })
}

/// Checks that a report says what the matrix needs and is of this kit and corpus.
fn check(source: &Source, expected: &Expected<'_>) -> Result<(), MergeError> {
    let context = &source.report.context;
    let missing = |member| MergeError::Missing {
        file: source.file.clone(),
        member,
    };
    let kit_version = context
        .kit_version
        .as_deref()
        .ok_or_else(|| missing("kit_version"))?;
    if kit_version != expected.kit_version {
        return Err(MergeError::KitVersion {
            file: source.file.clone(),
            found: kit_version.to_owned(),
            expected: expected.kit_version.to_owned(),
        });
    }
    let digest = context
        .corpus_digest
        .as_deref()
        .ok_or_else(|| missing("corpus_digest"))?;
    if digest != expected.corpus_digest {
        return Err(MergeError::Corpus {
            file: source.file.clone(),
            found: digest.to_owned(),
            expected: expected.corpus_digest.to_owned(),
        });
    }
    context.side.ok_or_else(|| missing("side"))?;
    context.generation.ok_or_else(|| missing("generation"))?;
    Ok(())
}

/// The reports of one implementation, merged into its run.
fn merge(
    name: &str,
    members: Vec<Source>,
    order: &HashMap<&str, usize>,
) -> Result<Implementation, MergeError> {
    let first = &members[0];
    let context = &first.report.context;
    for other in &members[1..] {
        let theirs = &other.report.context;
        let disagree = |member, first: String, second: String| MergeError::Disagree {
            implementation: name.to_owned(),
            member,
            detail: format!(
                "{} says {first}, {} says {second}",
                members[0].file.display(),
                other.file.display()
            ),
        };
        if theirs.side != context.side {
            return Err(disagree(
                "side",
                format!("{:?}", context.side),
                format!("{:?}", theirs.side),
            ));
        }
        if theirs.generation != context.generation {
            return Err(disagree(
                "generation",
                format!("{:?}", context.generation),
                format!("{:?}", theirs.generation),
            ));
        }
        if theirs.broker_version != context.broker_version {
            return Err(disagree(
                "broker_version",
                format!("{:?}", context.broker_version),
                format!("{:?}", theirs.broker_version),
            ));
        }
    }
    let partitions = check_partitions(name, &members)?;
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut results = Vec::new();
    for member in &members {
        for result in &member.report.results {
            if let Some(first) = seen.insert(result.id.clone(), member.file.clone()) {
                return Err(MergeError::Twice {
                    implementation: name.to_owned(),
                    id: result.id.clone(),
                    first,
                    second: member.file.clone(),
                });
            }
            if order.contains_key(result.id.as_str()) {
                results.push(result.clone());
            }
        }
    }
    results.sort_by_key(|result| order.get(result.id.as_str()).copied());
    // A baseline entry is unused when no report used it.
    let unused_baseline_entries = first
        .report
        .unused_baseline_entries
        .iter()
        .filter(|entry| {
            members
                .iter()
                .all(|member| member.report.unused_baseline_entries.contains(entry))
        })
        .cloned()
        .collect();
    let duration: Duration = members
        .iter()
        .filter_map(|member| member.report.context.duration)
        .sum();
    let hostnames: HashSet<&Option<String>> = members
        .iter()
        .map(|member| &member.report.context.hostname)
        .collect();
    let merged_context = RunContext {
        started_at: members
            .iter()
            .filter_map(|member| member.report.context.started_at)
            .min(),
        duration: Some(duration),
        hostname: if hostnames.len() == 1 {
            context.hostname.clone()
        } else {
            None
        },
        partition: None,
        ..context.clone()
    };
    let role = match context.side {
        Some(Side::Client) => Role::Client,
        _ => Role::Broker,
    };
    let detail = match (members.len(), partitions.is_empty()) {
        (1, true) => format!("from {}", first.file.display()),
        (count, true) => format!("merged from {count} run reports"),
        (count, false) => format!(
            "merged from {count} run reports (partitions {})",
            partitions.join(", ")
        ),
    };
    let report = RunReport {
        implementation: name.to_owned(),
        context: merged_context,
        baseline: first.report.baseline.clone(),
        unused_baseline_entries,
        summary: Summary::of(&results),
        results,
    };
    Ok(Implementation {
        role,
        name: name.to_owned(),
        detail,
        broker_version: context.broker_version.clone(),
        duration_ms: Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
        run: Run::Ran(report),
    })
}

/// Checks that, for each partition scheme and count given, every partition is there exactly once;
/// the partitions' names, in order.
fn check_partitions(name: &str, members: &[Source]) -> Result<Vec<String>, MergeError> {
    let problem = |problem: String| MergeError::Partitions {
        implementation: name.to_owned(),
        problem,
    };
    let mut given: Vec<(Partition, &Path)> = members
        .iter()
        .filter_map(|member| Some((member.report.context.partition?, member.file.as_path())))
        .collect();
    given.sort_by_key(|(partition, _)| (partition.scheme.name(), partition.count, partition.index));
    for pair in given.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(problem(format!(
                "partition {} is given twice, by {} and {}",
                pair[0].0,
                pair[0].1.display(),
                pair[1].1.display()
            )));
        }
    }
    let mut schemes: Vec<(&str, u32)> = given
        .iter()
        .map(|(partition, _)| (partition.scheme.name(), partition.count))
        .collect();
    schemes.dedup();
    for (scheme, count) in schemes {
        let missing: Vec<String> = (1..=count)
            .filter(|index| {
                !given.iter().any(|(partition, _)| {
                    partition.scheme.name() == scheme
                        && partition.count == count
                        && partition.index == *index
                })
            })
            .map(|index| format!("{scheme}:{index}/{count}"))
            .collect();
        if !missing.is_empty() {
            return Err(problem(format!(
                "the reports of partitions {scheme}:k/{count} lack {}",
                missing.join(", ")
            )));
        }
    }
    Ok(given
        .iter()
        .map(|(partition, _)| partition.to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{FixtureResult, Status};

    const DIGEST: &str = "d1";

    fn report(name: &str, side: Side, partition: Option<&str>, ids: &[&str]) -> RunReport {
        let results: Vec<FixtureResult> = ids
            .iter()
            .map(|id| {
                let mut result = FixtureResult::pending_file(Path::new(id));
                result.status = Status::Pass;
                result
            })
            .collect();
        RunReport {
            implementation: name.to_owned(),
            context: RunContext {
                kit_version: Some(crate::provenance::KIT_VERSION.to_owned()),
                corpus_digest: Some(DIGEST.to_owned()),
                side: Some(side),
                generation: Some(relay_fixture::Generation::Stdio),
                partition: partition.map(|text| text.parse().unwrap()),
                duration: Some(Duration::from_millis(10)),
                ..RunContext::default()
            },
            baseline: None,
            unused_baseline_entries: Vec::new(),
            summary: Summary::of(&results),
            results,
        }
    }

    fn merged(reports: Vec<RunReport>) -> Result<Matrix, MergeError> {
        let sources = reports
            .into_iter()
            .enumerate()
            .map(|(index, report)| Source {
                file: PathBuf::from(format!("r{index}.json")),
                report,
            })
            .collect();
        let fixtures = ["a", "b", "c", "d"]
            .into_iter()
            .map(FixtureInfo::not_loaded)
            .collect();
        let expected = Expected {
            kit_version: crate::provenance::KIT_VERSION,
            corpus_digest: DIGEST,
        };
        from_reports(
            sources,
            fixtures,
            &expected,
            Meta::default(),
            &Redactor::default(),
        )
    }

    #[test]
    fn partitions_merge_into_one_run_in_fixture_order() {
        let matrix = merged(vec![
            report("relay-client", Side::Client, None, &["a", "b"]),
            report("mock-broker", Side::Broker, Some("2/2"), &["d", "b"]),
            report("mock-broker", Side::Broker, Some("1/2"), &["c", "a"]),
        ])
        .unwrap();
        let names: Vec<&str> = matrix
            .implementations
            .iter()
            .map(|implementation| implementation.name.as_str())
            .collect();
        assert_eq!(names, ["mock-broker", "relay-client"]);
        let broker = matrix.implementations[0].report().unwrap();
        let ids: Vec<&str> = broker.results.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d"]);
        assert_eq!(broker.summary.passed, 4);
        assert_eq!(broker.context.duration, Some(Duration::from_millis(20)));
        assert!(
            matrix.implementations[0]
                .detail
                .contains("count:1/2, count:2/2"),
            "{}",
            matrix.implementations[0].detail
        );
    }

    #[test]
    fn a_fixture_reported_twice_is_refused() {
        let error = merged(vec![
            report("mock-broker", Side::Broker, Some("1/2"), &["a", "b"]),
            report("mock-broker", Side::Broker, Some("2/2"), &["b", "c"]),
        ])
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("mock-broker: `b` is reported twice, by r0.json and r1.json"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_or_repeated_partition_is_refused() {
        let error = merged(vec![
            report("mock-broker", Side::Broker, Some("1/3"), &["a"]),
            report("mock-broker", Side::Broker, Some("3/3"), &["c"]),
        ])
        .unwrap_err();
        assert!(error.to_string().contains("lack count:2/3"), "{error}");
        let error = merged(vec![
            report("mock-broker", Side::Broker, Some("1/1"), &[]),
            report("mock-broker", Side::Broker, Some("count:1/1"), &[]),
        ])
        .unwrap_err();
        assert!(error.to_string().contains("given twice"), "{error}");
    }

    #[test]
    fn reports_of_another_kit_or_corpus_or_without_a_side_are_refused() {
        let mut other = report("mock-broker", Side::Broker, None, &["a"]);
        other.context.corpus_digest = Some("e2".to_owned());
        assert!(matches!(
            merged(vec![other]),
            Err(MergeError::Corpus { .. })
        ));
        let mut other = report("mock-broker", Side::Broker, None, &["a"]);
        other.context.kit_version = Some("0.0.1".to_owned());
        assert!(matches!(
            merged(vec![other]),
            Err(MergeError::KitVersion { .. })
        ));
        let mut other = report("mock-broker", Side::Broker, None, &["a"]);
        other.context.side = None;
        assert!(matches!(
            merged(vec![other]),
            Err(MergeError::Missing { member: "side", .. })
        ));
        let error = merged(vec![
            report("x", Side::Broker, None, &["a"]),
            report("x", Side::Client, None, &["b"]),
        ])
        .unwrap_err();
        assert!(matches!(error, MergeError::Disagree { member: "side", .. }));
    }
}
