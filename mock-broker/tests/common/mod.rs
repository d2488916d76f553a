//! The test client: starts `mock-broker` (or anything else) with piped stdio, writes lines to it and
//! reads its stdout and stderr on threads, so that every read has a deadline and no test can hang.
//!
//! Each child runs in a process group of its own; dropping a [`Session`] kills that group (the child
//! and, in record mode, the broker it started) and reaps the child, so that a failing test leaves no
//! process behind.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The deadline of a wait that should succeed: generous, for a loaded 2-core machine.
pub const LONG: Duration = Duration::from_secs(20);

/// The mock-broker binary under test.
pub fn bin() -> &'static Path {
    assert_cmd::cargo::cargo_bin!("mock-broker")
}

/// This crate's directory.
pub fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    crate_dir().join("tests/fixtures").join(name)
}

/// A fixture of the workspace corpus (`fixtures/corpus/`).
pub fn corpus(name: &str) -> PathBuf {
    crate_dir().join("fixtures/corpus").join(name)
}

/// `mock-broker init` as the SDKs start the broker, playing `fixture`.
pub fn init(fixture: &Path) -> Command {
    let mut command = Command::new(bin());
    command
        .args([
            "init",
            "--name",
            "lead",
            "--channels",
            "general",
            "--fixture",
        ])
        .arg(fixture);
    command
}

/// `mock-broker init` playing `fixture` and writing its verdict to `report`.
pub fn init_with_report(fixture: &Path, report: &Path) -> Command {
    let mut command = init(fixture);
    command.arg("--report").arg(report);
    command
}

/// A directory under Cargo's temporary directory for tests, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "mock-broker-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads and parses a `--report` verdict.
pub fn read_report(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("no report at {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("bad report {text}: {error}"))
}

/// What the stdout reader thread saw.
enum Chunk {
    Bytes(Instant, Vec<u8>),
    Eof,
}

/// What happens to the child's stderr.
pub enum StderrMode {
    /// Read it on a thread as it comes, as a well-behaved client does.
    Drain,
    /// Never read it while the child runs (a client that forgets to).
    Ignore,
}

enum ErrSide {
    Draining(Receiver<Vec<u8>>),
    Ignored(Option<ChildStderr>),
}

/// Why a read gave no line.
#[derive(Debug, PartialEq, Eq)]
pub enum NoLine {
    /// Nothing (or no complete line) came before the deadline.
    Timeout,
    /// Stdout ended.
    Eof,
}

/// A running child, with its stdio in the test's hands.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<Chunk>,
    /// Bytes received on stdout and not consumed yet.
    pending: Vec<u8>,
    /// When the last byte of `pending` arrived.
    last_arrival: Option<Instant>,
    eof: bool,
    stderr: ErrSide,
    status: Option<ExitStatus>,
}

impl Session {
    /// Starts `command` with piped stdio, in a process group of its own.
    pub fn start(mut command: Command, stderr: StderrMode) -> Self {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        let stdin = child.stdin.take();
        let mut out = child.stdout.take().expect("piped stdout");
        let (sender, stdout) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = vec![0; 256 * 1024];
            loop {
                match out.read(&mut buffer) {
                    Ok(0) | Err(_) => {
                        let _ = sender.send(Chunk::Eof);
                        return;
                    }
                    Ok(read) => {
                        let chunk = Chunk::Bytes(Instant::now(), buffer[..read].to_vec());
                        if sender.send(chunk).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let err = child.stderr.take().expect("piped stderr");
        let stderr = match stderr {
            StderrMode::Drain => ErrSide::Draining(drain(err)),
            StderrMode::Ignore => ErrSide::Ignored(Some(err)),
        };
        Self {
            child,
            stdin,
            stdout,
            pending: Vec::new(),
            last_arrival: None,
            eof: false,
            stderr,
            status: None,
        }
    }

    /// Starts `command` and drains its stderr.
    pub fn spawn(command: Command) -> Self {
        Self::start(command, StderrMode::Drain)
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Writes `line` and a newline to the child's stdin.
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    /// Writes `bytes` to the child's stdin, as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|error| {
                panic!(
                    "writing {:?} to the child failed: {error}",
                    String::from_utf8_lossy(bytes)
                )
            });
    }

    /// Sends the child `signal` (only while it is not reaped, so its id is still its own).
    pub fn signal(&mut self, signal: nix::sys::signal::Signal) {
        assert!(self.status.is_none(), "the child has already been reaped");
        let pid = i32::try_from(self.child.id()).expect("a pid");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).expect("send a signal");
    }

    /// Gives mock-broker time to finish the step whose output the client has just read, before a
    /// signal. tokio completes a write on its blocking pool (the write, then a flush), so the client
    /// reads a line a moment before the player counts its step as done; a signal in between is
    /// taken as one that came before the step had passed.
    pub fn settle(&mut self) {
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Closes the child's stdin.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits up to `timeout` for one more chunk of stdout; false if none came.
    fn receive(&mut self, deadline: Instant) -> bool {
        if self.eof {
            return false;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.stdout.recv_timeout(left) {
            Ok(Chunk::Bytes(at, bytes)) => {
                self.pending.extend_from_slice(&bytes);
                self.last_arrival = Some(at);
                true
            }
            Ok(Chunk::Eof) | Err(RecvTimeoutError::Disconnected) => {
                self.eof = true;
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
        }
    }

    /// The next stdout line (without its newline) within `timeout`.
    pub fn try_read_line(&mut self, timeout: Duration) -> Result<Vec<u8>, NoLine> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.pending.iter().position(|byte| *byte == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..=end).collect();
                line.pop();
                return Ok(line);
            }
            if !self.receive(deadline) {
                return Err(if self.eof {
                    NoLine::Eof
                } else {
                    NoLine::Timeout
                });
            }
        }
    }

    /// The next stdout line as text; panics if none comes within [`LONG`].
    pub fn read_line(&mut self) -> String {
        match self.try_read_line(LONG) {
            Ok(line) => String::from_utf8(line).expect("a UTF-8 line"),
            Err(why) => {
                let pending = String::from_utf8_lossy(&self.pending).into_owned();
                panic!(
                    "no line from the child ({why:?}); pending {pending:?}; stderr: {}",
                    self.stderr_so_far()
                )
            }
        }
    }

    /// The next stdout line as text, and when its last bytes arrived; panics as
    /// [`read_line`](Self::read_line) does.
    pub fn read_line_at(&mut self) -> (String, Instant) {
        let line = self.read_line();
        (line, self.last_arrival.expect("bytes arrived"))
    }

    /// Exactly `count` bytes of stdout, and when the last of them arrived; panics if they do not
    /// come within [`LONG`] or more came with them.
    pub fn read_bytes(&mut self, count: usize) -> (Vec<u8>, Instant) {
        let deadline = Instant::now() + LONG;
        while self.pending.len() < count {
            if !self.receive(deadline) {
                panic!(
                    "expected {count} bytes, got {:?} ({})",
                    String::from_utf8_lossy(&self.pending),
                    if self.eof { "end of stdout" } else { "timeout" }
                );
            }
        }
        let bytes: Vec<u8> = self.pending.drain(..count).collect();
        let at = self.last_arrival.expect("bytes arrived");
        (bytes, at)
    }

    /// Panics if any stdout byte arrives within `period`.
    pub fn expect_silence(&mut self, period: Duration) {
        let deadline = Instant::now() + period;
        assert!(
            self.pending.is_empty(),
            "unexpected output: {:?}",
            String::from_utf8_lossy(&self.pending)
        );
        while Instant::now() < deadline {
            if self.receive(deadline) {
                panic!(
                    "expected silence, got {:?}",
                    String::from_utf8_lossy(&self.pending)
                );
            }
            if self.eof {
                break;
            }
        }
    }

    /// The rest of stdout, up to its end (which must come within [`LONG`]).
    pub fn read_to_end(&mut self) -> Vec<u8> {
        let deadline = Instant::now() + LONG;
        while !self.eof {
            if !self.receive(deadline) && !self.eof {
                panic!(
                    "stdout did not end; pending {:?}",
                    String::from_utf8_lossy(&self.pending)
                );
            }
        }
        std::mem::take(&mut self.pending)
    }

    /// Asserts that stdout ends with nothing more on it.
    pub fn expect_end_of_output(&mut self) {
        let rest = self.read_to_end();
        assert!(
            rest.is_empty(),
            "unexpected output after the transcript: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    /// Waits up to `timeout` for the child to exit; kills it and panics if it does not.
    pub fn wait_within(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.status = Some(status);
                    return status;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    self.kill();
                    let pending = String::from_utf8_lossy(&self.pending).into_owned();
                    panic!(
                        "the child did not exit within {timeout:?}; stdout pending {pending:?}; stderr: {}",
                        self.stderr_so_far()
                    );
                }
                Err(error) => panic!("waiting for the child failed: {error}"),
            }
        }
    }

    /// Waits up to [`LONG`] for the child to exit.
    pub fn wait(&mut self) -> ExitStatus {
        self.wait_within(LONG)
    }

    /// Waits for the child to exit with `code`.
    pub fn expect_exit_code(&mut self, code: i32) {
        let status = self.wait();
        assert_eq!(
            status.code(),
            Some(code),
            "exit status {status:?}; stderr: {}",
            self.stderr()
        );
    }

    /// All of stderr. Call it once the child has exited: it waits up to [`LONG`] for stderr to end.
    pub fn stderr(&mut self) -> String {
        String::from_utf8_lossy(&self.stderr_bytes()).into_owned()
    }

    /// All of stderr, as bytes (see [`stderr`](Self::stderr)).
    pub fn stderr_bytes(&mut self) -> Vec<u8> {
        match &mut self.stderr {
            ErrSide::Draining(receiver) => {
                let bytes = receiver.recv_timeout(LONG).unwrap_or_default();
                self.stderr = ErrSide::Draining(mpsc::channel().1);
                bytes
            }
            ErrSide::Ignored(err) => match err.take() {
                Some(err) => drain(err).recv_timeout(LONG).unwrap_or_default(),
                None => Vec::new(),
            },
        }
    }

    /// For diagnostics of a failing test: stderr if the child has ended, else a note.
    fn stderr_so_far(&mut self) -> String {
        match self.child.try_wait() {
            Ok(Some(_)) => self.stderr(),
            _ => "(the child is still running)".to_owned(),
        }
    }

    /// Kills the child's process group and reaps the child. The group is only signalled while the
    /// child is not reaped yet: until then its id (the group's id) cannot belong to anyone else.
    fn kill(&mut self) {
        if self.status.is_some() {
            return;
        }
        if let Ok(pgid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.kill();
        if let Ok(status) = self.child.wait() {
            self.status = Some(status);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stdin = None;
        // Also ends a broker that record mode started, should the test fail before the recorder exits.
        self.kill();
    }
}

/// Reads `from` to its end on a thread; the receiver gets everything at once.
fn drain(mut from: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        let _ = sender.send(bytes);
    });
    receiver
}

/// `text` with this crate's directory replaced by `[CRATE]`, for snapshots.
pub fn redact_paths(text: &str) -> String {
    let dir = crate_dir().to_string_lossy().into_owned();
    text.replace(&dir, "[CRATE]")
}

/// The hello frame a client sends, with `request_id`.
pub fn hello(request_id: &str) -> String {
    format!(
        r#"{{"v":1,"type":"hello","request_id":"{request_id}","payload":{{"client_name":"relay-conformance","client_version":"0.1.0"}}}}"#
    )
}

/// A request frame of `request_type` with `request_id` and `payload` (JSON text).
pub fn request(request_type: &str, request_id: &str, payload: &str) -> String {
    format!(r#"{{"v":1,"type":"{request_type}","request_id":"{request_id}","payload":{payload}}}"#)
}

/// The `hello_ack` line the fixtures under `tests/fixtures/` produce for `request_id`.
pub fn hello_ack(request_id: &str) -> String {
    format!(
        r#"{{"v":1,"type":"hello_ack","request_id":"{request_id}","payload":{{"broker_version":"3.2.5","protocol_version":1,"workspace_key":"rk_live_4721747ef5bf38e7a115956c5e9392a6"}}}}"#
    )
}
