//! What the load-error tests share: a scratch directory per test, a fixture document, and the
//! check that the loader rejects a document with the same error through a file and a string.

// Each test crate that includes this module uses only some of it.
#![allow(dead_code)]

use std::path::PathBuf;

use relay_fixture::{LoadError, load_file, load_str};
use serde_json::{Value, json};

/// A directory of its own for one test, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "relay-fixture-load-errors-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let file = self.0.join(relative);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, contents).unwrap();
        file
    }

    /// `error`'s `Display`, with this directory written `[TMP]`.
    pub fn redact(&self, error: &LoadError) -> String {
        error
            .to_string()
            .replace(&self.0.display().to_string(), "[TMP]")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A valid fixture document for `sides`, with this transcript.
pub fn fixture(sides: &[&str], transcript: Value) -> Value {
    json!({
        "format": "relay-fixture/1",
        "id": "bad/example",
        "summary": "A fixture the loader must reject.",
        "level": "MUST",
        "sides": sides,
        "transcript": transcript,
    })
}

/// Writes `text` as `bad.json` in a fresh directory, loads it, and returns the error (the loader must
/// reject it) and its redacted `Display`.
pub fn reject(name: &str, text: &str) -> (LoadError, String) {
    let dir = TempDir::new(name);
    let file = dir.write("bad.json", text);
    let error = match load_file(&file) {
        Ok(fixture) => panic!("{name}: the loader accepted {fixture:#?}"),
        Err(error) => error,
    };
    assert_eq!(error.file, file, "{name}: the error names the file");
    // The same text through `load_str` gives the same error.
    let again = load_str(text, &file).unwrap_err();
    assert_eq!(
        (&again.path, &again.reason),
        (&error.path, &error.reason),
        "{name}"
    );
    let shown = dir.redact(&error);
    assert!(shown.starts_with("[TMP]/bad.json: "), "{shown}");
    (error, shown)
}

pub fn reject_value(name: &str, document: &Value) -> (LoadError, String) {
    reject(name, &serde_json::to_string_pretty(document).unwrap())
}
