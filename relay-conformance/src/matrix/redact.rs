//! Takes this machine's directories out of what the matrix writes, so that a committed matrix
//! names no one's home, cache or scratch directory: paths below the working directory become
//! relative, and the relay-conformance cache, the temporary directory and the home directory
//! become `$RELAY_CONFORMANCE_CACHE/`, `$TMPDIR/` and `~/`.

use std::path::{Path, PathBuf};

use relay_fixture::verdict::Failure;

use super::{FixtureInfo, Run};
use crate::results::RunReport;

/// Replaces this machine's directories in text; see the [module docs](self).
///
/// The default replaces nothing; [`Redactor::of_this_machine`] has the rules of this machine.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// `(prefix, replacement)`, longest prefix first; each prefix ends with `/`.
    rules: Vec<(String, String)>,
}

impl Redactor {
    /// The rules of this machine: its working directory, the relay-conformance cache, the
    /// temporary directory and the home directory (each as given and canonical).
    pub fn of_this_machine() -> Self {
        let mut rules = Vec::new();
        let mut add = |dir: Option<PathBuf>, replacement: &str| {
            let Some(dir) = dir else { return };
            let canonical = std::fs::canonicalize(&dir).ok();
            for dir in [Some(dir), canonical].into_iter().flatten() {
                let mut prefix = dir.display().to_string();
                if prefix.len() <= 1 {
                    continue;
                }
                if !prefix.ends_with('/') {
                    prefix.push('/');
                }
                rules.push((prefix, replacement.to_owned()));
            }
        };
        add(std::env::current_dir().ok(), "");
        add(
            relay_install::default_cache_root().ok(),
            "$RELAY_CONFORMANCE_CACHE/",
        );
        add(Some(std::env::temp_dir()), "$TMPDIR/");
        add(std::env::var_os("HOME").map(PathBuf::from), "~/");
        rules.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        rules.dedup_by(|a, b| a.0 == b.0);
        Self { rules }
    }

    /// `text` with every rule's prefix replaced where a path starts with it (a bare directory,
    /// without its `/`, too).
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (prefix, replacement) in &self.rules {
            out = replace_paths(&out, prefix, replacement, false);
            let bare = prefix.trim_end_matches('/');
            let bare_replacement = match replacement.trim_end_matches('/') {
                "" => ".",
                other => other,
            };
            out = replace_paths(&out, bare, bare_replacement, true);
        }
        out
    }

    /// `path` with the rules applied.
    pub fn path(&self, path: &Path) -> PathBuf {
        PathBuf::from(self.text(&path.display().to_string()))
    }

    fn value(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) => *text = self.text(text),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| self.value(item)),
            serde_json::Value::Object(members) => {
                members.values_mut().for_each(|member| self.value(member));
            }
            _ => {}
        }
    }

    fn failure(&self, failure: &mut Failure) {
        failure.reason = self.text(&failure.reason);
        if let Some(actual) = &mut failure.actual {
            *actual = self.text(actual);
        }
        if let Some(expected) = &mut failure.expected {
            self.value(expected);
        }
        if let Some(mismatch) = &mut failure.mismatch {
            if let Some(actual) = &mut mismatch.actual {
                self.value(actual);
            }
            mismatch.expected = self.text(&mismatch.expected);
        }
    }

    /// A run's report with the rules applied: its baseline, and each result's file, id, failure
    /// and last lines.
    pub fn report(&self, report: &mut RunReport) {
        report.baseline = report.baseline.as_deref().map(|file| self.path(file));
        for result in &mut report.results {
            result.file = self.path(&result.file);
            result.id = self.text(&result.id);
            if let Some(error) = &mut result.load_error {
                *error = self.text(error);
            }
            if let Some(failure) = &mut result.failure {
                self.failure(failure);
            }
            for tail in [
                &mut result.sent_tail,
                &mut result.received_tail,
                &mut result.stderr_tail,
            ] {
                for line in tail.iter_mut() {
                    *line = self.text(line);
                }
            }
        }
    }

    /// A run with the rules applied: its report, or why it did not run.
    pub fn run(&self, run: &mut Run) {
        match run {
            Run::Ran(report) => self.report(report),
            Run::Unavailable(reason) => *reason = self.text(reason),
        }
    }

    /// A fixture's id with the rules applied (a fixture that did not load is known by its file).
    pub fn fixture(&self, fixture: &mut FixtureInfo) {
        fixture.id = self.text(&fixture.id);
        if let Some(file) = &mut fixture.file {
            *file = self.text(file);
        }
    }
}

/// `text` with `needle` replaced where a path starts with it (not preceded by a character of a
/// file name or a `/`), and, if `whole`, ends with it (not followed by a character of a file name).
fn replace_paths(text: &str, needle: &str, replacement: &str, whole: bool) -> String {
    let in_name = |c: char| c.is_alphanumeric() || matches!(c, '.' | '-' | '_');
    if needle.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        let after = &rest[at + needle.len()..];
        let starts = rest[..at]
            .chars()
            .next_back()
            .or_else(|| out.chars().next_back())
            .is_none_or(|c| !in_name(c) && c != '/');
        let ends = !whole || after.chars().next().is_none_or(|c| !in_name(c));
        out.push_str(&rest[..at]);
        out.push_str(if starts && ends { replacement } else { needle });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_replaces_whole_paths_only() {
        let redactor = Redactor {
            rules: vec![
                (
                    "/home/u/.cache/rc/".to_owned(),
                    "$RELAY_CONFORMANCE_CACHE/".to_owned(),
                ),
                ("/home/u/repo/".to_owned(), String::new()),
                ("/home/u/".to_owned(), "~/".to_owned()),
            ],
        };
        assert_eq!(
            redactor.text("at /home/u/repo/fixtures/x.json and /home/u/.cache/rc/brokers/3.2.5"),
            "at fixtures/x.json and $RELAY_CONFORMANCE_CACHE/brokers/3.2.5"
        );
        assert_eq!(
            redactor.text("cd /home/u/repo; ls /home/u/repo2"),
            "cd .; ls ~/repo2"
        );
        assert_eq!(redactor.text("/home/u"), "~");
        assert_eq!(
            redactor.text("HOME=/home/u/x/home/u/y"),
            "HOME=~/x/home/u/y",
            "only where a path starts"
        );
    }
}
