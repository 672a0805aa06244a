//! `anylabel scan`: the images a run would label, one path a line.

use std::io::{BufWriter, Write};

use anyhow::Result;
use anylabel::exit_codes;
use anylabel::scan::scan;

use super::parse_inputs;
use crate::cli::args::ScanArgs;

pub(super) fn scan_command(args: ScanArgs) -> Result<u8> {
    use std::os::unix::ffi::OsStrExt;
    let inputs = parse_inputs(&args.inputs, &args.walk)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut errors = 0;
    let end = if args.print0 { b'\0' } else { b'\n' };
    for found in anylabel::shard::select(scan(inputs), args.shard) {
        match found {
            Ok(item) => {
                // The path's bytes as they are, so a name that is not UTF-8 can be read back.
                out.write_all(item.path.as_os_str().as_bytes())?;
                out.write_all(&[end])?;
            }
            Err(e) => {
                errors += 1;
                tracing::warn!("{}: {}", e.path.display(), e.reason);
            }
        }
    }
    out.flush()?;
    Ok(if errors > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}
