//! The `anylabel` binary: parse the command line, hand it to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = anylabel::cli::Cli::parse();
    ExitCode::from(anylabel::app::run(cli))
}
