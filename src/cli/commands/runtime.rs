//! `anylabel runtime`: find ONNX Runtime, or install the official build.

use std::io::Write;

use anyhow::{Result, bail};
use anylabel::home::Home;
use anylabel::{exit_codes, progress, runtime};

use crate::cli::args::RuntimeCommand;

pub(super) fn runtime_command(cmd: RuntimeCommand, offline: bool) -> Result<u8> {
    let home = Home::from_env()?;
    let rt = match cmd {
        RuntimeCommand::Install { gpu } => {
            if offline {
                let by = anylabel::fetch::offline_by();
                bail!(
                    "{by} forbids installing ONNX Runtime; run again with network access and without {by}"
                );
            }
            let flavour = if gpu {
                runtime::Flavour::Gpu
            } else {
                runtime::Flavour::Cpu
            };
            runtime::install(&home, flavour)?
        }
        RuntimeCommand::Path => runtime::ensure(&home, offline, runtime::Flavour::Cpu)?,
    };
    progress::note(&format!(
        "ONNX Runtime {} found through {}",
        rt.version
            .as_deref()
            .unwrap_or("(version not in the file name)"),
        rt.source
    ));
    outln!("{}", rt.library.display());
    Ok(exit_codes::SUCCESS)
}
