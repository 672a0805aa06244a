//! The binary's edge: the command line as clap parses it ([`args`]), the config file's and
//! the environment's values made the flags' defaults ([`config_defaults`]), the
//! conversions of its enums into the library's ([`convert`]), and one file per command
//! that turns parsed arguments into the library's plain options, runs it and reports
//! ([`commands`]). Only this folder and `main.rs` know clap.

pub mod args;
pub mod commands;
pub mod config_defaults;
pub mod convert;

#[cfg(test)]
mod generated;
