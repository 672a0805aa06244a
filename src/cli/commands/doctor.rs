//! `anylabel doctor`: the library's machine check, with `--require-gpu` as a backend.

use anyhow::Result;
use anylabel::backend::Kind;

use crate::cli::args::DoctorArgs;

pub(super) fn doctor_command(args: DoctorArgs, offline: bool) -> Result<u8> {
    anylabel::doctor::run(
        &anylabel::doctor::Options {
            json: args.json,
            require: args
                .require_gpu
                .as_deref()
                .map(|b| if b == "trt" { Kind::Trt } else { Kind::Cuda }),
            device: args.device,
        },
        offline,
    )
}
