//! The JUnit XML report: one test suite, one test case per fixture (named by id, with its level as
//! the class name), failures and errors with the failing step and the last lines each way.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};

use crate::report::text;
use crate::results::{Expectation, RunReport, Status};

/// The run as JUnit XML.
pub fn render(run: &RunReport) -> String {
    let mut suite = TestSuite::new(run.implementation.as_str());
    for result in &run.results {
        let details = || text::fixture_line(result);
        let status = match (&result.expectation, result.status) {
            (Expectation::Known(reason) | Expectation::KnownFlaky(reason), _) => {
                let mut status = TestCaseStatus::skipped();
                let kind = match result.expectation {
                    Expectation::KnownFlaky(_) => "known flaky",
                    _ => "known failure",
                };
                status.set_message(format!("{kind}: {reason}"));
                status.set_description(details());
                status
            }
            (Expectation::Stale(reason), _) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(format!(
                    "passes, but the baseline lists it as a known failure ({reason}): remove the entry"
                ));
                status
            }
            (Expectation::AsIs, Status::Pass) => {
                // A flaky pass: its failed attempts become <flakyFailure>/<flakyError>.
                let mut status = TestCaseStatus::success();
                status.add_reruns(result.failed_attempts.iter().map(|attempt| {
                    let mut rerun = TestRerun::new(match attempt.status {
                        Status::Error => NonSuccessKind::Error,
                        _ => NonSuccessKind::Failure,
                    });
                    if let Some(failure) = &attempt.failure {
                        rerun.set_message(failure.reason.clone());
                    }
                    rerun.set_time(attempt.duration);
                    rerun
                }));
                status
            }
            (Expectation::AsIs, Status::Skip) => {
                let mut status = TestCaseStatus::skipped();
                if let Some(failure) = &result.failure {
                    status.set_message(failure.reason.clone());
                }
                status
            }
            (Expectation::AsIs, kind @ (Status::Fail | Status::Error)) => {
                let mut status = TestCaseStatus::non_success(match kind {
                    Status::Error => NonSuccessKind::Error,
                    _ => NonSuccessKind::Failure,
                });
                if let Some(failure) = &result.failure {
                    status.set_message(failure.reason.clone());
                }
                status.set_description(details());
                status
            }
        };
        let mut case = TestCase::new(result.id.as_str(), status);
        case.set_classname(
            result
                .level
                .map_or_else(|| "unloaded".to_owned(), |level| level.to_string()),
        );
        case.set_time(result.duration);
        suite.add_test_case(case);
    }
    let mut report = Report::new("relay-conformance");
    report.add_test_suite(suite);
    report
        .to_string()
        .unwrap_or_else(|error| format!("<!-- the report cannot be serialised: {error} -->\n"))
}
