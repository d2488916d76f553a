//! The JUnit XML report, after the conventions CI systems read (those of cargo-nextest's):
//!
//! - one `<testsuite>` per run, named after the implementation, with the run's `timestamp` (its
//!   start), `hostname` and `time`, and the kit's version and the baseline as properties;
//! - one `<testcase>` per fixture: `name` the fixture's id, `classname` its *area* (the id's first
//!   path segment, e.g. `lifecycle`: the suite already names the implementation, and CI systems
//!   group test cases by class; the implementation for an id without a `/`), `time` in seconds; a
//!   fixture that does not load has the class `unloaded`;
//! - an unexpected failure or error: `<failure>` / `<error>` with a `message` (the reason's first
//!   line), a `type` (`FAIL`, `ERROR`, or `STALE` for a baseline entry that now passes) and the
//!   details as text (the failing step, expected and actual, the last lines each way);
//! - a flaky pass (passed after failed attempts, `--retries`): a passing test case with a
//!   `<flakyFailure>` / `<flakyError>` per failed attempt, as nextest writes them;
//! - a skip, a known failure or a known flaky failure: `<skipped>` with no attributes and as its
//!   text the reason (a known one's first line is the baseline's, e.g. `known failure: …`, then
//!   the failure).
//!
//! The document validates against the common Jenkins JUnit XSD (`junit-10.xsd`, checked by
//! `scripts/validate-junit`): that is why `<testsuites>` has no `skipped` attribute, and why a
//! flaky attempt's duration is in its text rather than in a `time` attribute.

use std::fmt::Write;

use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite, XmlString,
};

use crate::provenance;
use crate::report::text;
use crate::results::{Expectation, FixtureResult, RunReport, Status};

/// The class name of a fixture that does not load (its id is its file).
const UNLOADED_CLASS: &str = "unloaded";

/// The run as JUnit XML.
pub fn render(run: &RunReport) -> String {
    let mut suite = TestSuite::new(run.implementation.as_str());
    if let Some(started) = run.context.started_at {
        suite.extra.insert(
            XmlString::new("timestamp"),
            XmlString::new(humantime::format_rfc3339_millis(started).to_string()),
        );
    }
    let hostname = run.context.hostname.as_deref().unwrap_or("localhost");
    suite
        .extra
        .insert(XmlString::new("hostname"), XmlString::new(hostname));
    let total: std::time::Duration = run.results.iter().map(|result| result.duration).sum();
    suite.set_time(run.context.duration.unwrap_or(total));
    let version = run
        .context
        .kit_version
        .as_deref()
        .unwrap_or(provenance::KIT_VERSION);
    suite.add_property(Property::new("relay-conformance.version", version));
    if let Some(baseline) = &run.baseline {
        suite.add_property(Property::new("baseline", baseline.display().to_string()));
    }
    for result in &run.results {
        let mut case = test_case(result);
        case.set_classname(class_name(run, result));
        suite.add_test_case(case);
    }
    let mut report = Report::new("relay-conformance");
    report.add_test_suite(suite);
    match report.to_string() {
        Ok(xml) => without_testsuites_skipped(&xml),
        Err(error) => format!("<!-- the report cannot be serialised: {error} -->\n"),
    }
}

/// One fixture's test case.
fn test_case(result: &FixtureResult) -> TestCase {
    let status = match (&result.expectation, result.status) {
        (Expectation::Known(_) | Expectation::KnownFlaky(_), _) => {
            // The baseline's word, then the failure (its step, expected and actual).
            let mut text = result.expectation.describe().unwrap_or_default();
            if let Some(failure) = &result.failure {
                let _ = write!(text, "\n{failure}");
            }
            skipped(text)
        }
        (Expectation::Stale(reason), _) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(format!(
                    "passes, but the baseline lists it as a known failure ({reason}): remove the entry"
                ))
                .set_type("STALE");
            status
        }
        (Expectation::AsIs, Status::Pass) => {
            // A flaky pass: its failed attempts become <flakyFailure>/<flakyError>.
            let mut status = TestCaseStatus::success();
            let total = result.failed_attempts.len() + 1;
            status.add_reruns(result.failed_attempts.iter().enumerate().map(
                |(number, attempt)| {
                    let mut rerun = TestRerun::new(kind(attempt.status));
                    rerun.set_type(attempt.status.label());
                    let mut details = format!(
                        "attempt {} of {total}: {} ({} ms)\n",
                        number + 1,
                        attempt.status.label(),
                        attempt.duration.as_millis()
                    );
                    if let Some(failure) = &attempt.failure {
                        rerun.set_message(first_line(&failure.reason));
                        let _ = write!(details, "{failure}");
                    }
                    rerun.set_description(details);
                    rerun
                },
            ));
            status
        }
        (Expectation::AsIs, Status::Skip) => skipped(
            result
                .failure
                .as_ref()
                .map_or_else(|| "skipped".to_owned(), |failure| failure.reason.clone()),
        ),
        (Expectation::AsIs, failed @ (Status::Fail | Status::Error)) => {
            let mut status = TestCaseStatus::non_success(kind(failed));
            status.set_type(failed.label());
            if let Some(failure) = &result.failure {
                status.set_message(first_line(&failure.reason));
            }
            status.set_description(text::fixture_line(result));
            status
        }
    };
    let mut case = TestCase::new(result.id.as_str(), status);
    case.set_time(result.duration);
    case
}

/// `<skipped>` with `text` and no attributes.
fn skipped(text: String) -> TestCaseStatus {
    let mut status = TestCaseStatus::skipped();
    status.set_description(text);
    status
}

fn kind(status: Status) -> NonSuccessKind {
    match status {
        Status::Error => NonSuccessKind::Error,
        Status::Pass | Status::Fail | Status::Skip => NonSuccessKind::Failure,
    }
}

/// The test case's class: the fixture's area, its id's first path segment; the implementation for
/// an id without one; `unloaded` for a fixture that does not load.
fn class_name<'r>(run: &'r RunReport, result: &'r FixtureResult) -> &'r str {
    if result.load_error.is_some() || result.level.is_none() {
        return UNLOADED_CLASS;
    }
    match result.id.split_once('/') {
        Some((area, _)) => area,
        None => &run.implementation,
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// `xml` without the `skipped` attribute quick-junit writes on `<testsuites>`, which the Jenkins
/// XSD does not allow (the suites keep theirs).
fn without_testsuites_skipped(xml: &str) -> String {
    let Some(start) = xml.find("<testsuites ") else {
        return xml.to_owned();
    };
    let end = xml[start..].find('>').map_or(xml.len(), |end| start + end);
    let tag = &xml[start..end];
    let Some(at) = tag.find(" skipped=\"") else {
        return xml.to_owned();
    };
    let value_end = tag[at + " skipped=\"".len()..]
        .find('"')
        .map_or(tag.len(), |close| at + " skipped=\"".len() + close + 1);
    format!("{}{}{}", &xml[..start + at], &tag[value_end..], &xml[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_testsuites_tag_loses_its_skipped_attribute_only() {
        let xml = "<?xml version=\"1.0\"?>\n<testsuites name=\"r\" tests=\"2\" skipped=\"1\" failures=\"0\">\n<testsuite name=\"s\" skipped=\"1\"/>\n</testsuites>\n";
        assert_eq!(
            without_testsuites_skipped(xml),
            "<?xml version=\"1.0\"?>\n<testsuites name=\"r\" tests=\"2\" failures=\"0\">\n<testsuite name=\"s\" skipped=\"1\"/>\n</testsuites>\n"
        );
    }
}
