//! The `anylabel` binary: parse the command line, with the config file's and the
//! environment's defaults applied, and hand it to the library.

use std::process::ExitCode;

use anylabel::cli::{Cli, Command};
use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    let (cmd, config_error) = anylabel::config::command_with_config(Cli::command());
    let matches = cmd.get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some(e) = config_error
        && !matches!(cli.command, Command::Config(_))
    {
        eprintln!("error: {e:#}");
        return ExitCode::from(anylabel::exit_codes::ERROR);
    }
    ExitCode::from(anylabel::app::run(cli))
}
