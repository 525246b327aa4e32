//! A one-line progress counter for long steps (`attaching 812/1585`),
//! redrawn in place with `\r` and erased when the step ends. Shown only
//! once a step has taken longer than [`DELAY`], so quick runs print
//! nothing, and redrawn at most every [`REDRAW`]. The caller decides
//! whether to show it at all (stderr is a terminal); the clock is passed
//! in so the throttling can be tested.

use std::io::Write;
use std::time::{Duration, Instant};

/// How long a step runs before its counter appears.
pub const DELAY: Duration = Duration::from_millis(300);
/// The shortest time between two redraws.
pub const REDRAW: Duration = Duration::from_millis(100);

/// The counter of one step (`attaching`, `releasing`) of `total` items.
#[derive(Debug)]
pub struct Progress<W: Write> {
    out: W,
    verb: &'static str,
    total: usize,
    started: Instant,
    last_drawn: Option<Instant>,
    /// The width of what is on the line now, to erase it.
    width: usize,
}

/// `attaching 812/1585`.
pub fn line(verb: &str, done: usize, total: usize) -> String {
    format!("{verb} {done}/{total}")
}

impl<W: Write> Progress<W> {
    pub fn new(out: W, verb: &'static str, total: usize, started: Instant) -> Progress<W> {
        Progress {
            out,
            verb,
            total,
            started,
            last_drawn: None,
            width: 0,
        }
    }

    /// `done` of the items are through at `now`; redraws when due.
    pub fn update(&mut self, done: usize, now: Instant) {
        if done >= self.total || now.saturating_duration_since(self.started) < DELAY {
            return;
        }
        if self
            .last_drawn
            .is_some_and(|last| now.saturating_duration_since(last) < REDRAW)
        {
            return;
        }
        let text = line(self.verb, done, self.total);
        // Shorter than the last line only if a count shrank: pad over it.
        let pad = self.width.saturating_sub(text.len());
        let _ = write!(self.out, "\r{text}{:pad$}", "");
        let _ = self.out.flush();
        self.width = self.width.max(text.len());
        self.last_drawn = Some(now);
    }

    /// Erases the line, if anything was drawn.
    pub fn finish(&mut self) {
        if self.width > 0 {
            let _ = write!(self.out, "\r{:width$}\r", "", width = self.width);
            let _ = self.out.flush();
            self.width = 0;
        }
    }
}

impl<W: Write> Drop for Progress<W> {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(updates: &[(usize, u64)]) -> String {
        let start = Instant::now();
        let mut out = Vec::new();
        {
            let mut progress = Progress::new(&mut out, "attaching", 1585, start);
            for &(done, ms) in updates {
                progress.update(done, start + Duration::from_millis(ms));
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quick_steps_print_nothing() {
        assert_eq!(drawn(&[(100, 10), (1000, 200), (1585, 290)]), "");
        // Done before the delay is over: nothing either.
        assert_eq!(drawn(&[(1585, 400)]), "");
    }

    #[test]
    fn slow_steps_redraw_in_place_and_are_erased() {
        let text = drawn(&[(10, 100), (812, 350), (900, 400), (1000, 460), (1585, 500)]);
        // 400 ms is within REDRAW of 350 ms: not drawn.
        assert_eq!(
            text,
            "\rattaching 812/1585\rattaching 1000/1585\r                   \r"
        );
    }

    #[test]
    fn a_shorter_line_covers_the_longer_one() {
        let start = Instant::now();
        let mut out = Vec::new();
        let mut progress = Progress::new(&mut out, "releasing", 2000, start);
        progress.update(1000, start + Duration::from_millis(400));
        progress.update(9, start + Duration::from_millis(600));
        drop(progress);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "\rreleasing 1000/2000\rreleasing 9/2000   \r                   \r"
        );
    }

    #[test]
    fn the_line() {
        assert_eq!(line("attaching", 812, 1585), "attaching 812/1585");
    }
}
