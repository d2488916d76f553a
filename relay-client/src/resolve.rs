//! Finding the broker executable.
//!
//! In order: an explicit path; the `AGENT_RELAY_BIN` environment variable (the convention of the
//! upstream integration harness); `~/.agent-relay/bin/agent-relay-broker` (where the SDKs install
//! it); `agent-relay-broker` on `PATH`.

use std::path::{Path, PathBuf};

use crate::errors::ClientError;

/// The environment variable naming the broker executable.
pub const BINARY_ENV: &str = "AGENT_RELAY_BIN";

/// The broker's file name.
pub const BINARY_NAME: &str = "agent-relay-broker";

/// The broker executable to use: `explicit` (with `~` expanded) if given, else `$AGENT_RELAY_BIN`,
/// else `~/.agent-relay/bin/agent-relay-broker`, else `agent-relay-broker` on `PATH`.
pub fn resolve_binary(explicit: Option<&Path>) -> Result<PathBuf, ClientError> {
    if let Some(path) = explicit {
        let path = expand_home(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(ClientError::BinaryNotFound(format!(
                "broker binary not found: {}",
                path.display()
            )))
        };
    }
    let mut looked = Vec::new();
    if let Some(path) = std::env::var_os(BINARY_ENV).map(PathBuf::from) {
        if path.is_file() {
            return Ok(path);
        }
        looked.push(format!("${BINARY_ENV}={}", path.display()));
    }
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from) {
        let path = home.join(".agent-relay/bin").join(BINARY_NAME);
        if path.is_file() {
            return Ok(path);
        }
        looked.push(path.display().to_string());
    }
    if let Some(path) = find_on_path(BINARY_NAME) {
        return Ok(path);
    }
    looked.push(format!("{BINARY_NAME} on PATH"));
    Err(ClientError::BinaryNotFound(format!(
        "looked at {}; give a path or install one",
        looked.join(", ")
    )))
}

fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_owned(),
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
