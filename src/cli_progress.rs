//! The CLI's progress bars, drawn on stderr only when it is a terminal (a pipeline's log gets the summary
//! line alone): while `slawatch import` reads a large report (fed by its count of bytes read), and while
//! `slawatch sync defectdojo` pages through findings (fed by the sync's count).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Files smaller than this are read too fast for a bar to mean anything.
const SHOWN_FROM_BYTES: u64 = 4 * 1024 * 1024;
const REDRAW_EVERY: Duration = Duration::from_millis(150);

/// A bar following `bytes_read` up to the file's size, until `finish`.
pub struct ReadProgress {
    bar: ProgressBar,
    follower: Option<tokio::task::JoinHandle<()>>,
}

impl ReadProgress {
    #[must_use]
    pub fn show(size: u64, bytes_read: Arc<AtomicU64>) -> Self {
        if size < SHOWN_FROM_BYTES {
            return Self { bar: ProgressBar::hidden(), follower: None };
        }
        let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{wide_bar} {bytes}/{total_bytes} read ({bytes_per_sec}, {eta} left)")
        {
            bar.set_style(style);
        }
        // Drawn at once, so even a file read faster than the first redraw shows what is being read.
        bar.tick();
        let follower = {
            let bar = bar.clone();
            tokio::spawn(async move {
                loop {
                    bar.set_position(bytes_read.load(Ordering::Relaxed));
                    tokio::time::sleep(REDRAW_EVERY).await;
                }
            })
        };
        Self { bar, follower: Some(follower) }
    }

    /// Stops following and clears the bar (the summary line follows it).
    pub fn finish(self) {
        if let Some(follower) = self.follower {
            follower.abort();
        }
        self.bar.finish_and_clear();
    }
}

/// A bar counting `what` (findings synced) towards a total that may change while it runs.
pub struct CountProgress {
    bar: ProgressBar,
}

impl CountProgress {
    #[must_use]
    pub fn show(what: &str) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template(&format!("{{wide_bar}} {{pos}}/{{len}} {what} ({{per_sec}}, {{eta}} left)"))
        {
            bar.set_style(style);
        }
        Self { bar }
    }

    /// `done` of `total`.
    pub fn set(&self, done: u64, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    /// Clears the bar (the summary line follows it).
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
