//! `anylabel import`: a YOLO, COCO, VOC or LabelMe dataset as result records.

use std::path::Path;

use anyhow::Result;
use anylabel::{exit_codes, progress};

use crate::cli::args::ImportArgs;

pub(super) fn import_command(args: ImportArgs) -> Result<u8> {
    use anylabel::import::{ImportOptions, import};
    let opts = ImportOptions {
        format: args.format.into(),
        path: args.path,
        images: args.images,
        classes: args.classes,
    };
    let mut out = anylabel::export::Output::open(args.output.as_deref().unwrap_or(Path::new("-")))?;
    let s = import(&opts, |r| {
        let w = out.writer();
        serde_json::to_writer(&mut *w, r)?;
        w.write_all(b"\n")?;
        Ok(())
    })?;
    out.finish()?;
    progress::note(&format!(
        "imported {} records ({} detections) from {}; {} could not be read",
        s.records,
        s.detections,
        opts.path.display(),
        s.failed
    ));
    Ok(if s.failed > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}
