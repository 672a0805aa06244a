//! The suites that need no model: `nms`, `filter`, `io`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};

use super::{Better, Options, Out, Suite, median, median_ms, thousands};
use crate::decode::{DecodeOptions, decode_bytes};
use crate::filter::{Filter, Flags, Keep, Print, Run};
use crate::nms::{Nms, NmsParams, bench_boxes};
use crate::record::{Detection, Record};
use crate::scan::{WalkOptions, has_image_extension, walk_dir};

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Our NMS, one thread, on the clustered boxes `benches/nms.rs` uses.
pub(super) fn nms(opts: &Options, out: &mut Out) {
    let repeat = if opts.quick { 5 } else { 21 };
    let p = NmsParams {
        iou: 0.45,
        max_det: usize::MAX,
        agnostic: false,
        max_candidates: usize::MAX,
    };
    for n in [1_000usize, 10_000, 100_000] {
        let c = bench_boxes(n, 42);
        let mut nms = Nms::new();
        let mut keep = Vec::new();
        nms.run(&c, &p, &mut keep); // warm-up, and the kept count
        let kept = keep.len();
        let ms = median_ms(repeat, || nms.run(&c, &p, &mut keep));
        out.figure(
            Suite::Nms,
            format!("{} boxes", thousands(n)),
            ms,
            "ms",
            Better::Lower,
            format!(
                "median of {repeat} runs, one thread, one class, IoU 0.45, clustered boxes \
                 with distinct scores (nms::bench_boxes, seed 42); {} kept",
                thousands(kept)
            ),
        );
    }
    out.note(
        Suite::Nms,
        "Peers (ONNX Runtime's NonMaxSuppression, OpenCV, powerboxes) are not in the binary: \
         bench/nms_peers.py times them against ours on the same boxes (docs/performance.md).",
    );
}

/// Generated result records as JSONL: `n` records of 0 to 7 detections in 4 classes.
fn records_jsonl(n: usize) -> Vec<u8> {
    let labels = ["person", "car", "dog", "cat"];
    let mut rng = crate::rng::XorShift(0x9E37_79B9_7F4A_7C15u64);
    let mut rnd = move || rng.unit_f64();
    let mut buf = Vec::with_capacity(n * 300);
    for i in 0..n {
        let detections = (0..(rnd() * 8.0) as usize)
            .map(|_| {
                let class_id = (rnd() * 4.0) as u32 % 4;
                let (x, y) = (rnd() * 1500.0, rnd() * 900.0);
                Detection {
                    class_id,
                    label: labels[class_id as usize].into(),
                    score: rnd() as f32,
                    bbox: [
                        x as f32,
                        y as f32,
                        (x + 20.0 + rnd() * 300.0) as f32,
                        (y + 20.0 + rnd() * 200.0) as f32,
                    ],
                }
            })
            .collect();
        let r = Record {
            path: format!("set/{:03}/img_{i:07}.jpg", i / 1000),
            width: 1920,
            height: 1080,
            model: "bench@sha256:0000000000000000".into(),
            detections,
            error: None,
        };
        serde_json::to_writer(&mut buf, &r).expect("a record serializes");
        buf.push(b'\n');
    }
    buf
}

/// The filter module's `Run` (what `anylabel filter` uses) on generated records, with
/// 1 to all threads.
pub(super) fn filter(opts: &Options, out: &mut Out) -> Result<()> {
    let n = if opts.quick { 20_000 } else { 100_000 };
    let repeat = if opts.quick { 3 } else { 7 };
    let jsonl = records_jsonl(n);
    let flags = Flags {
        class: vec!["person".into()],
        min_conf: Some(0.5),
        ..Flags::default()
    };
    let filter = Filter {
        rule: flags.to_rule().map_err(anyhow::Error::msg)?,
        keep: Keep::All,
        print: Print::Records,
    };
    for jobs in 1..=cores() {
        let mut matched = 0;
        let mut times: Vec<f64> = Vec::new();
        for _ in 0..repeat {
            let mut sink = std::io::sink();
            let t = Instant::now();
            let mut run = Run::new(&filter, jobs, true, &mut sink)?;
            run.feed("bench", &jsonl[..])?;
            matched = run.finish()?.matched;
            times.push(t.elapsed().as_secs_f64());
        }
        let secs = median(&mut times);
        out.figure(
            Suite::Filter,
            format!("{} records, {jobs} thread{}", thousands(n), plural(jobs)),
            n as f64 / secs,
            "records/s",
            Better::Higher,
            format!(
                "--class person --min-conf 0.5 on generated records (0-7 detections, 4 classes, \
                 {:.1} MB of JSONL in memory, {} matched), output discarded; median of {repeat} runs",
                jsonl.len() as f64 / 1e6,
                thousands(matched as usize)
            ),
        );
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Walking, decoding and reading files.
pub(super) fn io(opts: &Options, out: &mut Out) -> Result<()> {
    scan(opts, out)?;
    decode(opts, out)?;
    large_jpeg(opts, out)?;
    reads(opts, out)?;
    Ok(())
}

/// A generated tree of empty image files: sequential `walkdir` against our walk.
fn scan(opts: &Options, out: &mut Out) -> Result<()> {
    let (folders, per) = if opts.quick { (20, 100) } else { (100, 1000) };
    let repeat = if opts.quick { 3 } else { 7 };
    let tree = tempfile::tempdir().context("cannot make a temporary folder")?;
    for f in 0..folders {
        let dir = tree.path().join(format!("d{f:03}"));
        std::fs::create_dir(&dir)?;
        for i in 0..per {
            let ext = ["jpg", "png", "JPEG", "txt"][i % 4];
            std::fs::File::create(dir.join(format!("f{i:05}.{ext}")))?;
        }
    }
    let images = folders * (per - per / 4);
    let walkdir_count = || {
        walkdir::WalkDir::new(tree.path())
            .sort_by_file_name()
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file() && has_image_extension(e.path()))
            .count()
    };
    let ours = |threads: usize| {
        let walk = WalkOptions {
            threads,
            ..WalkOptions::default()
        };
        walk_dir(tree.path().to_path_buf(), true, walk)
            .filter(|r| r.is_ok())
            .count()
    };
    ensure!(walkdir_count() == images, "walkdir missed files");
    let what = format!(
        "a generated tree of {} empty files in {folders} folders, {} of them images; warm \
         page cache; sorted; median of {repeat} runs",
        thousands(folders * per),
        thousands(images)
    );
    let mut runs: Vec<(String, Box<dyn Fn() -> usize + '_>)> =
        vec![("walkdir, sequential".into(), Box::new(walkdir_count))];
    for threads in [1, cores()] {
        if threads == 1 || threads > 1 && cores() > 1 {
            runs.push((
                format!("ours, {threads} thread{}", plural(threads)),
                Box::new(move || ours(threads)),
            ));
        }
    }
    for (name, run) in runs {
        let mut count = 0;
        let ms = median_ms(repeat, || count = run());
        ensure!(
            count == images,
            "{name}: {count} images listed, not {images}"
        );
        out.figure(
            Suite::Io,
            format!("scan {} images: {name}", thousands(images)),
            ms,
            "ms",
            Better::Lower,
            what.clone(),
        );
    }
    Ok(())
}

/// The image files under `dir`, sorted.
fn images(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        bail!(
            "{}: no such folder (--images names the images to measure on)",
            dir.display()
        );
    }
    let found: Vec<PathBuf> = walk_dir(dir.to_path_buf(), true, WalkOptions::default())
        .filter_map(|r| r.ok().map(|i| i.path))
        .collect();
    ensure!(!found.is_empty(), "{}: no images", dir.display());
    Ok(found)
}

/// Our decoder on the images, by format, from memory: milliseconds per megapixel.
fn decode(opts: &Options, out: &mut Out) -> Result<()> {
    let repeat = if opts.quick { 3 } else { 11 };
    let files = images(&opts.images)?;
    for (format, exts) in [
        ("JPEG", &["jpg", "jpeg"][..]),
        ("PNG", &["png"][..]),
        ("WebP", &["webp"][..]),
    ] {
        let mut total_ms = 0.0;
        let mut megapixels = 0.0;
        let mut count = 0;
        for path in files.iter().filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
        }) {
            let bytes = std::fs::read(path)?;
            let Ok(img) = decode_bytes(&bytes, &DecodeOptions::default()) else {
                continue; // the fixtures hold broken files on purpose
            };
            megapixels += f64::from(img.width) * f64::from(img.height) / 1e6;
            total_ms += median_ms(repeat, || {
                let _ = decode_bytes(&bytes, &DecodeOptions::default());
            });
            count += 1;
        }
        if count == 0 {
            out.note(
                Suite::Io,
                format!(
                    "decode {format}: no {format} file under {}",
                    opts.images.display()
                ),
            );
            continue;
        }
        out.figure(
            Suite::Io,
            format!("decode {format}"),
            total_ms / megapixels,
            "ms/MP",
            Better::Lower,
            format!(
                "{count} file{} from {} ({megapixels:.2} megapixels), from memory, one \
                 thread, to RGB; per file the median of {repeat} runs",
                plural(count),
                opts.images.display()
            ),
        );
    }
    Ok(())
}

/// A generated 12-megapixel JPEG (textured, so that it costs what a photo costs to decode)
/// decoded and letterboxed to 640, at full size and reduced as `infer` decodes it.
fn large_jpeg(opts: &Options, out: &mut Out) -> Result<()> {
    use crate::letterbox::{Letterbox, Preprocessor};
    let repeat = if opts.quick { 3 } else { 9 };
    let (w, h) = (4000u32, 3000u32);
    let mut rng = crate::rng::XorShift(0x2545_f491_4f6c_dd1d);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let noise = (rng.next_u64() >> 59) as f32; // 0..31
        let v = |f: f32, p: f32| (128.0 + 80.0 * (f + p).sin() + noise - 16.0) as u8;
        image::Rgb([
            v(x as f32 / 90.0, 0.0),
            v(y as f32 / 70.0, 1.0),
            v((x + y) as f32 / 150.0, 2.0),
        ])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
        .encode_image(&img)
        .context("cannot encode the test JPEG")?;
    let jpeg = jpeg.into_inner();
    let mut pre = Preprocessor::new();
    let mut input = vec![0f32; 3 * 640 * 640];
    for (name, reduce_for) in [
        ("full size (--exact-decode)", None),
        ("reduced, as infer decodes it", Some([640, 640])),
    ] {
        let decode = DecodeOptions {
            reduce_for,
            ..DecodeOptions::default()
        };
        let mut run = || -> Result<()> {
            let img = decode_bytes(&jpeg, &decode).map_err(|e| anyhow::anyhow!("{e}"))?;
            let lb = Letterbox::of_image(&img, 640, 640);
            pre.run(&img.pixels, &lb, &mut input)
        };
        run()?;
        let ms = median_ms(repeat, || {
            let _ = run();
        });
        out.figure(
            Suite::Io,
            format!("decode + letterbox a 12 MP JPEG to 640: {name}"),
            ms,
            "ms",
            Better::Lower,
            format!(
                "a generated 4000×3000 JPEG ({:.1} MB, quality 92), from memory, one thread; \
                 median of {repeat} runs",
                jpeg.len() as f64 / 1e6
            ),
        );
    }
    Ok(())
}

/// Reading the images' bytes with the page cache emptied of them first
/// (`posix_fadvise(POSIX_FADV_DONTNEED)`), and again warm.
fn reads(opts: &Options, out: &mut Out) -> Result<()> {
    use std::os::fd::AsRawFd;
    let repeat = if opts.quick { 3 } else { 7 };
    let files = images(&opts.images)?;
    let read_all = |drop_first: bool| -> Result<(f64, u64)> {
        if drop_first {
            for p in &files {
                let f = std::fs::File::open(p)?;
                // SAFETY: a valid open descriptor; the call only drops clean cached pages.
                unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
            }
        }
        let t = Instant::now();
        let mut bytes = 0;
        for p in &files {
            bytes += crate::decode::read_file(p).map_or(0, |b| b.len() as u64);
        }
        Ok((t.elapsed().as_secs_f64(), bytes))
    };
    for (name, cold) in [("uncached", true), ("cached", false)] {
        read_all(false)?; // warm, and written back
        let mut rates = Vec::new();
        let mut total = 0;
        for _ in 0..repeat {
            let (secs, bytes) = read_all(cold)?;
            total = bytes;
            rates.push(bytes as f64 / 1e6 / secs);
        }
        out.figure(
            Suite::Io,
            format!("read {name}"),
            median(&mut rates),
            "MB/s",
            Better::Higher,
            format!(
                "the {} files under {} ({:.1} MB), read whole one after the other{}; median \
                 of {repeat} runs",
                files.len(),
                opts.images.display(),
                total as f64 / 1e6,
                if cold {
                    ", each dropped from the page cache first (POSIX_FADV_DONTNEED; on a \
                     virtual machine the host may still cache them)"
                } else {
                    ", from the page cache"
                }
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_records_read_back() {
        let jsonl = records_jsonl(50);
        let text = std::str::from_utf8(&jsonl).unwrap();
        assert_eq!(text.lines().count(), 50);
        for line in text.lines() {
            let r: Record = serde_json::from_str(line).unwrap();
            assert!(r.detections.len() < 8);
        }
    }
}
