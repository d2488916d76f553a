//! The build script does three things:
//!
//! 1. Embeds the fixtures this program is built with (`src/embedded.rs`): every `*.json` of
//!    `fixtures/corpus/` and `fixtures/baselines/`, and `fixtures/coverage.json`, listed in
//!    `$OUT_DIR/embedded_fixtures.rs` as `FILES: &[(path relative to fixtures/, contents)]`, in path
//!    order.
//! 2. Embeds the built-in SDK adapters (`EMBEDDED_ADAPTERS`, relative to `adapters/`), listed in
//!    `$OUT_DIR/embedded_adapters.rs` as `ADAPTER_FILES` in the same shape, so that an installed
//!    program finds them too.
//! 3. Records the git commit relay-conformance is built from, for the reports' provenance
//!    (`provenance::kit_commit`): `RELAY_CONFORMANCE_COMMIT` if set, else what
//!    `git rev-parse HEAD` says; nothing when git or the repository is missing (a build from a
//!    crate archive).

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What is embedded, relative to `fixtures/`: directories (every `*.json` below them) and files.
const EMBEDDED_DIRS: [&str; 2] = ["corpus", "baselines"];
const EMBEDDED_FILES: [&str; 1] = ["coverage.json"];

/// The built-in adapters' files, relative to `adapters/`: each adapter, what it loads, and its
/// install script (the benchmark drivers are not embedded: `scripts/bench` runs them from the
/// repository).
const EMBEDDED_ADAPTERS: [&str; 10] = [
    "typescript/adapter.mjs",
    "typescript/sdk.mjs",
    "typescript/package.json",
    "typescript/package-lock.json",
    "typescript/install",
    "python/adapter.py",
    "python/sdk_venv.py",
    "python/sdk_client.py",
    "python/requirements.txt",
    "python/install",
];

fn main() -> io::Result<()> {
    embed_fixtures()?;
    embed_adapters()?;
    record_commit();
    Ok(())
}

/// A missing or unreadable fixture directory fails the build: a program without its corpus would
/// only fail later, at run time.
fn embed_fixtures() -> io::Result<()> {
    let root = manifest_dir()?.join("fixtures");
    println!("cargo::rerun-if-changed={}", root.display());

    let mut files = Vec::new();
    for dir in EMBEDDED_DIRS {
        collect_json(&root, &root.join(dir), &mut files)?;
    }
    for file in EMBEDDED_FILES {
        files.push((file.to_owned(), root.join(file).canonicalize()?));
    }
    files.sort();
    write_table("FILES", "fixtures/", &files, "embedded_fixtures.rs")
}

/// A missing adapter file fails the build, like a missing fixture directory.
fn embed_adapters() -> io::Result<()> {
    let root = manifest_dir()?.join("adapters");
    let mut files = Vec::new();
    for name in EMBEDDED_ADAPTERS {
        let file = root.join(name);
        println!("cargo::rerun-if-changed={}", file.display());
        let path = file.canonicalize().map_err(|error| {
            io::Error::new(error.kind(), format!("{}: {error}", file.display()))
        })?;
        files.push((name.to_owned(), path));
    }
    write_table("ADAPTER_FILES", "adapters/", &files, "embedded_adapters.rs")
}

fn manifest_dir() -> io::Result<PathBuf> {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| io::Error::other("CARGO_MANIFEST_DIR is not set: run me through cargo"))
}

/// Writes `$OUT_DIR/<out_file>`: a static `name` listing `files` as (name relative to `dir`,
/// `include_bytes!` of the file).
fn write_table(
    name: &str,
    dir: &str,
    files: &[(String, PathBuf)],
    out_file: &str,
) -> io::Result<()> {
    let mut code = format!(
        "/// The embedded files: (path relative to `{dir}`, contents).\npub(crate) static {name}: &[(&str, &[u8])] = &[\n"
    );
    for (file, path) in files {
        let path = path
            .to_str()
            .ok_or_else(|| io::Error::other(format!("not UTF-8: {}", path.display())))?;
        writeln!(code, "    ({file:?}, include_bytes!({path:?})),").map_err(io::Error::other)?;
    }
    code.push_str("];\n");
    let out = PathBuf::from(
        std::env::var_os("OUT_DIR").ok_or_else(|| io::Error::other("OUT_DIR is not set"))?,
    );
    std::fs::write(out.join(out_file), code)
}

/// Adds every `*.json` file below `dir`, named relative to `root` with `/` separators.
fn collect_json(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_json(root, &path, files)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            let name = path
                .strip_prefix(root)
                .map_err(io::Error::other)?
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push((name, path.canonicalize()?));
        }
    }
    Ok(())
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn record_commit() {
    println!("cargo::rerun-if-env-changed=RELAY_CONFORMANCE_COMMIT");
    if let Ok(commit) = std::env::var("RELAY_CONFORMANCE_COMMIT") {
        println!("cargo::rustc-env=RELAY_CONFORMANCE_COMMIT={commit}");
        return;
    }
    let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) else {
        return;
    };
    // Again when HEAD moves: HEAD itself, the branch it points to, and the packed refs.
    println!("cargo::rerun-if-changed={git_dir}/HEAD");
    if let Some(branch) = std::fs::read_to_string(format!("{git_dir}/HEAD"))
        .ok()
        .and_then(|head| {
            head.strip_prefix("ref: ")
                .map(|name| name.trim().to_owned())
        })
    {
        let branch_file = format!("{git_dir}/{branch}");
        if Path::new(&branch_file).exists() {
            println!("cargo::rerun-if-changed={branch_file}");
        }
    }
    if Path::new(&format!("{git_dir}/packed-refs")).exists() {
        println!("cargo::rerun-if-changed={git_dir}/packed-refs");
    }
    if let Some(commit) = git(&["rev-parse", "HEAD"]) {
        println!("cargo::rustc-env=RELAY_CONFORMANCE_COMMIT={commit}");
    }
}
