//! `anylabel config`: get, set, unset, list a setting of the config file, or print its path.

use std::io::Write;

use anyhow::Result;
use anylabel::config::{self, Config};
use anylabel::home::Home;
use anylabel::{exit_codes, progress};

use crate::cli::args::ConfigCommand;

pub(super) fn config_command(cmd: ConfigCommand) -> Result<u8> {
    let home = Home::from_env()?;
    match cmd {
        ConfigCommand::Path => outln!("{}", Config::path(&home).display()),
        ConfigCommand::Get { key, show_origin } => {
            let eff = Config::load(&home)?.effective(config::setting(&key)?)?;
            let Some(value) = eff.value else {
                progress::note(&format!(
                    "{key} is not set (built-in: {})",
                    eff.setting.builtin_help
                ));
                return Ok(exit_codes::ERROR);
            };
            if show_origin {
                outln!("{}\t{value}", eff.origin);
            } else {
                outln!("{value}");
                progress::note(&format!("{key} from {}", eff.origin));
            }
        }
        ConfigCommand::List => {
            let config = Config::load(&home)?;
            // Every row, a bad variable's too (named, the run's exit code 1): the list is
            // where one looks to fix it.
            let mut bad = 0;
            for st in config::SETTINGS {
                let (value, origin) = match config.effective(st) {
                    Ok(eff) => match eff.value {
                        Some(v) => (v, eff.origin.to_string()),
                        None => ("-".to_string(), format!("built-in: {}", st.builtin_help)),
                    },
                    Err(e) => {
                        bad += 1;
                        let v = std::env::var(st.env).unwrap_or_default();
                        (v, format!("INVALID: {e:#}"))
                    }
                };
                outln!("{:<15} {value:<14} {origin}", st.key);
            }
            if bad > 0 {
                return Ok(exit_codes::ERROR);
            }
        }
        ConfigCommand::Set { key, value } => {
            config::edit_file(&home, |text| Ok((config::set_in(text, &key, &value)?, ())))?;
            let st = config::setting(&key)?;
            progress::note(&format!(
                "{key} = {value} in {}",
                Config::path(&home).display()
            ));
            if std::env::var_os(st.env).is_some_and(|v| !v.is_empty()) {
                tracing::warn!("{} is set and overrides it", st.env);
            }
        }
        ConfigCommand::Unset { key } => {
            let removed = config::edit_file(&home, |text| config::unset_in(text, &key))?;
            if !removed {
                progress::note(&format!(
                    "{key} was not set in {}",
                    Config::path(&home).display()
                ));
            }
        }
    }
    Ok(exit_codes::SUCCESS)
}
