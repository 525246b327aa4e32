//! Renderers: text (bpftrace-compatible lists and the rich `show` view),
//! JSON, and C. They write to `&mut dyn Write` and never touch the system.

pub mod attach;
pub mod c;
pub mod diff;
pub mod features;
pub mod gen;
pub mod json;
pub mod kernel;
pub mod progress;
pub mod sample;
pub mod sec;
pub mod text;
pub mod user;

use std::io::IsTerminal;

use crate::cli::ColorChoice;

/// Whether to colour, decided once from `--color`, the terminal and `NO_COLOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

impl Style {
    pub fn plain() -> Style {
        Style { color: false }
    }

    /// `auto` colours only when stdout is a terminal, `NO_COLOR` is unset
    /// (<https://no-color.org>) and `TERM` is not `dumb`.
    pub fn detect(choice: ColorChoice) -> Style {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        };
        Style { color }
    }

    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}
