//! The progress display: a spinner or a byte bar on stderr when it is a terminal, nothing
//! otherwise.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

/// Whether the installer shows its progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// On stderr when stderr is a terminal; hidden otherwise (the default).
    #[default]
    Auto,
    /// Never.
    Hidden,
}

/// One install's progress display. Cheap to clone; every clone drives the same display.
#[derive(Debug, Clone)]
pub(crate) struct Reporter {
    bar: ProgressBar,
}

impl Reporter {
    pub(crate) fn new(mode: Progress) -> Self {
        let target = match mode {
            Progress::Auto if std::io::stderr().is_terminal() => ProgressDrawTarget::stderr(),
            Progress::Auto | Progress::Hidden => ProgressDrawTarget::hidden(),
        };
        // Whatever path the install takes, the line is cleared when the last clone drops.
        let bar = ProgressBar::with_draw_target(None, target).with_finish(ProgressFinish::AndClear);
        Self { bar }
    }

    /// A step of unknown length: a spinner with a message.
    pub(crate) fn step(&self, message: String) {
        self.bar.set_message(message);
        self.bar.unset_length();
        self.bar.set_position(0);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            self.bar.set_style(style);
        }
        self.bar.enable_steady_tick(Duration::from_millis(100));
    }

    /// A step measured in bytes, of a known or unknown total.
    pub(crate) fn bytes(&self, message: String, total: Option<u64>) {
        self.bar.set_message(message);
        match total {
            Some(total) => self.bar.set_length(total),
            None => self.bar.unset_length(),
        }
        self.bar.set_position(0);
        let template = if total.is_some() {
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})"
        } else {
            "{spinner} {msg} {bytes} ({bytes_per_sec})"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
    }

    /// Counts bytes of a [`bytes`](Self::bytes) step.
    pub(crate) fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    /// Clears the display.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
