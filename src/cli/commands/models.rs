//! `anylabel models`: the built-in catalogue: list, fetch, path.

use std::io::Write;

use anyhow::{Result, anyhow};
use anylabel::home::Home;
use anylabel::{catalogue, exit_codes};

use crate::cli::args::ModelsCommand;

pub(super) fn models_command(cmd: ModelsCommand, offline: bool) -> Result<u8> {
    let home = Home::from_env()?;
    let entry = |name: &str| {
        catalogue::find(name).ok_or_else(|| {
            anyhow!(
                "no catalogue model is called {name}; the catalogue has {}",
                catalogue::names()
            )
        })
    };
    match cmd {
        ModelsCommand::List => {
            for e in catalogue::CATALOGUE {
                let state = if e.is_fetched(&home) {
                    "fetched"
                } else {
                    "not fetched"
                };
                outln!(
                    "{:<20} {:<12} {:<12} {}",
                    e.name,
                    e.licence,
                    state,
                    e.summary
                );
            }
        }
        ModelsCommand::Fetch { names } => {
            let entries: Vec<_> = names.iter().map(|n| entry(n)).collect::<Result<_>>()?;
            for e in entries {
                outln!("{}", e.ensure(&home, offline)?.display());
            }
        }
        ModelsCommand::Path { name } => {
            outln!("{}", entry(&name)?.ensure(&home, offline)?.display())
        }
    }
    Ok(exit_codes::SUCCESS)
}
