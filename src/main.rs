//! The `dentsynth` binary: parse the command line, run it, map the outcome to an exit status.
//!
//! Kept thin on purpose (ripgrep, ruff): every decision lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    dentsynth::commands::main()
}
