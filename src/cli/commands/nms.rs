//! `anylabel nms`: NMS on a CSV of boxes, or again on a results file.

use std::io::{BufWriter, Write};

use anyhow::{Context, Result, anyhow};
use anylabel::exit_codes;

use crate::cli::args::{NmsArgs, NmsFormat};

pub(super) fn nms_command(args: NmsArgs) -> Result<u8> {
    use anylabel::nms::{Nms, NmsParams};
    let name = match args.input.to_str() {
        Some("-") => "<stdin>".to_string(),
        _ => args.input.display().to_string(),
    };
    let mut input = Vec::new();
    if args.input.as_os_str() == "-" {
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut input)
            .context("cannot read stdin")?;
    } else {
        input = std::fs::read(&args.input).with_context(|| format!("cannot read {name}"))?;
    }
    let params = NmsParams {
        iou: args.iou,
        max_det: args.max_det.unwrap_or(usize::MAX),
        agnostic: args.agnostic,
        max_candidates: usize::MAX,
    };
    let conf = args.conf.unwrap_or(f32::NEG_INFINITY);
    let mut nms = Nms::new();
    let mut keep = Vec::new();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    // Past a UTF-8 byte order mark, which the record reader skips too.
    let is_jsonl = input
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&input)
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        == Some(&b'{');
    if !is_jsonl {
        let all = anylabel::boxes::read_csv(&input[..]).map_err(|e| anyhow!("{name}: {e}"))?;
        // --conf first, remembering each survivor's row.
        let rows: Vec<usize> = (0..all.len()).filter(|&i| all.scores[i] > conf).collect();
        let c = all.select(&rows);
        nms.run(&c, &params, &mut keep);
        match args.format {
            NmsFormat::Lines => {
                for &k in &keep {
                    writeln!(out, "{}", rows[k])?;
                }
            }
            NmsFormat::Json => {
                let kept: Vec<usize> = keep.iter().map(|&k| rows[k]).collect();
                writeln!(out, "{}", serde_json::to_string(&kept)?)?;
            }
        }
    } else {
        let mut records = Vec::new();
        for r in anylabel::record::Records::new(&name, &input[..]) {
            let mut r = r?;
            let dets = r.to_detections().above(conf);
            nms.run(&dets, &params, &mut keep);
            r.set_detections(&dets.select(&keep));
            match args.format {
                NmsFormat::Lines => {
                    serde_json::to_writer(&mut out, &r)?;
                    out.write_all(b"\n")?;
                }
                NmsFormat::Json => records.push(r),
            }
        }
        if args.format == NmsFormat::Json {
            writeln!(out, "{}", serde_json::to_string(&records)?)?;
        }
    }
    out.flush()?;
    Ok(exit_codes::SUCCESS)
}
