//! The `probedex` binary: parse arguments, run, print errors, exit with the
//! documented code (see `probedex::error`).

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use probedex::cli::Cli;
use probedex::commands::{self, Io, Outcome, RunError};
use probedex::error::ExitStatus;
use probedex::output::text::printable;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let stderr = io::stderr();
    let mut err = stderr.lock();

    let result = commands::run(
        &cli,
        &mut Io {
            out: &mut out,
            err: &mut err,
        },
    );
    let flushed = out.flush();
    let status = match (result, flushed) {
        (Ok(Outcome::Matched), Ok(())) => ExitStatus::Success,
        (Ok(Outcome::NothingMatched), Ok(())) => ExitStatus::NothingMatched,
        (Ok(Outcome::Refused), Ok(())) => ExitStatus::Refused,
        (Err(RunError::Failed(e)), _) => {
            // Names from a captured tree may hold terminal escapes.
            let _ = writeln!(err, "probedex: {}", printable(&e.message));
            e.status
        }
        // `probedex list | head` closes the pipe early: not an error.
        (Err(RunError::Output(e)), _) | (Ok(_), Err(e))
            if e.kind() == io::ErrorKind::BrokenPipe =>
        {
            ExitStatus::Success
        }
        (Err(RunError::Output(e)), _) | (Ok(_), Err(e)) => {
            let _ = writeln!(err, "probedex: cannot write the output: {e}");
            ExitStatus::BadInput
        }
    };
    ExitCode::from(status.code())
}
