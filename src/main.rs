//! The `anylabel` binary: parse the command line, with the config file's and the
//! environment's defaults applied, and hand it to the command layer ([`cli::commands`]),
//! which calls the library.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use cli::args::{Cli, Command};

fn main() -> ExitCode {
    let (cmd, config_error) = cli::config_defaults::command_with_config(Cli::command());
    // A bad config file or variable stops every command but `config` (which can fix it).
    let config_failed = |e: &anyhow::Error| {
        eprintln!("error: {e:#}");
        ExitCode::from(anylabel::exit_codes::ERROR)
    };
    let matches = match cmd.try_get_matches() {
        Ok(m) => m,
        // It is the error to show, not what its failure left missing (`infer.model` set
        // there makes --model optional).
        Err(e) => match &config_error {
            Some(ce) if is_missing_argument(&e) && !config_command() => return config_failed(ce),
            _ => e.exit(),
        },
    };
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some(e) = &config_error
        && !matches!(cli.command, Command::Config(_))
    {
        return config_failed(e);
    }
    ExitCode::from(cli::commands::run(cli))
}

/// Whether clap stopped for a missing argument, which the bad config may have been meant
/// to give (other usage errors are the user's, and shown as they are).
fn is_missing_argument(e: &clap::Error) -> bool {
    e.kind() == clap::error::ErrorKind::MissingRequiredArgument
}

/// Whether the command line is `anylabel [options] config ...`, which runs on a bad config
/// so that it can fix it.
fn config_command() -> bool {
    std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .is_some_and(|a| a == "config")
}
