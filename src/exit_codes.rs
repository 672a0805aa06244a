//! Process exit codes, in one place so that `--help`, the README and the code agree.
//!
//! Scripts and CI jobs branch on these, so they are part of the interface: a run that
//! labelled every image it could, but met some it could not read, is not the same as a
//! run that could not start.

/// Every input was processed.
pub const SUCCESS: u8 = 0;
/// The command could not run: a missing or unusable model, no ONNX Runtime, an output that
/// cannot be written, an explicit backend (`--backend cuda|trt`) that cannot start. Nothing was labelled, or the run
/// stopped.
pub const ERROR: u8 = 1;
/// The command line was wrong (clap's own code for usage errors).
pub const USAGE: u8 = 2;
/// The run finished, but some inputs failed: each has a record with `error` set and a
/// warning on stderr. Everything else was labelled.
pub const PARTIAL: u8 = 3;

/// `bench --fail-on-regression PCT`: a figure got more than PCT percent worse than the
/// baseline's.
pub const REGRESSION: u8 = 4;

/// `doctor --require-gpu`: the GPU backend asked about cannot start on this machine.
pub const NO_GPU_BACKEND: u8 = 5;

/// Stopped by Ctrl-C (128 + SIGINT, as shells report it). What was computed is in the
/// cache; running the same command again finishes the job.
pub const INTERRUPTED: u8 = 130;

/// The text shown under `anylabel --help`.
pub const HELP: &str = "\
Exit codes:
  0  success: every input was processed
  1  error: the command could not run (model, runtime or output problem)
  2  usage error on the command line
  3  finished, but some inputs failed (their records carry `error`)
  4  bench --fail-on-regression: a figure got worse than the baseline by more than allowed
  5  doctor --require-gpu: the GPU backend asked about cannot start here
  130  interrupted (Ctrl-C); run the same command again to resume from the cache";
