//! `anylabel export`: records as label files (YOLO, COCO, VOC, LabelMe...) or an HTML gallery.

use anyhow::{Result, bail};
use anylabel::{exit_codes, progress};

use crate::cli::args::ExportArgs;

pub(super) fn export_command(args: ExportArgs) -> Result<u8> {
    use anylabel::export::{ExportOptions, Format};
    let Some(format) = Option::<Format>::from(args.format) else {
        return export_html(args);
    };
    if args.beside_images && format != Format::Labelme {
        bail!("--beside-images is for --format labelme");
    }
    if args.overwrite && format != Format::Labelme {
        bail!("--overwrite is for --format labelme (the other formats always replace their files)");
    }
    let output = args.output.unwrap_or_else(|| args.root.clone());
    if format.writes_per_image() && output.as_os_str() == "-" {
        bail!(
            "--format {} writes a folder of files; -o - (stdout) is for the single-file formats",
            format.name()
        );
    }
    let opts = ExportOptions {
        format,
        output,
        root: args.root,
        beside_images: args.beside_images,
        overwrite: args.overwrite,
    };
    let records = anylabel::record::Records::open(&args.input)?;
    let t = std::time::Instant::now();
    let s = anylabel::export::export(records, &opts)?;
    let mut line = format!(
        "exported {} of {} records ({} detections) as {} in {:.2} s",
        s.written,
        s.records,
        s.detections,
        format.name(),
        t.elapsed().as_secs_f64()
    );
    for (n, what) in [
        (
            s.skipped_failed,
            "skipped: their images could not be labelled",
        ),
        (s.refused, "refused: their paths would escape the output"),
        (
            s.refused_by_format,
            "refused by the format (each named above)",
        ),
        (
            s.kept,
            "not written: their label files were saved by another tool and are kept (--overwrite replaces them)",
        ),
        (
            s.no_size,
            "refused: they have boxes but no image size to place them in",
        ),
        (s.bad_lines, "input lines are not records"),
    ] {
        if n > 0 {
            line.push_str(&format!("; {n} {what}"));
        }
    }
    progress::note(&line);
    Ok(if s.partial() {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}

/// `export --format html`: the gallery of `anylabel::report`.
fn export_html(args: ExportArgs) -> Result<u8> {
    if args.beside_images {
        bail!("--beside-images is for --format labelme");
    }
    let Some(out) = args.output.filter(|o| o.as_os_str() != "-") else {
        bail!("--format html writes a folder: give it with -o FOLDER");
    };
    let mut bad_lines = 0usize;
    let records = anylabel::record::Records::open(&args.input)?.filter_map(|r| match r {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!("{e:#}");
            bad_lines += 1;
            None
        }
    });
    let t = std::time::Instant::now();
    let s = anylabel::report::write_gallery(
        records,
        &args.root,
        &out,
        &anylabel::report::GalleryOptions::default(),
    )?;
    let mut line = format!(
        "wrote a gallery of {} images ({} detections, {} page{}) in {:.2} s: {}",
        s.images,
        s.detections,
        s.pages,
        if s.pages == 1 { "" } else { "s" },
        t.elapsed().as_secs_f64(),
        s.index.display()
    );
    for (n, what) in [
        (s.failed, "could not be labelled"),
        (s.no_thumbnail, "could not be read for a thumbnail"),
        (bad_lines, "input lines are not records"),
    ] {
        if n > 0 {
            line.push_str(&format!("; {n} {what}"));
        }
    }
    progress::note(&line);
    Ok(if s.failed + s.no_thumbnail + bad_lines > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}
