//! The GPU kernels against the CPU on a GPU machine, in one run: prints one JSON object to
//! stdout and a table to stderr. `scripts/gpu-check-stage.sh` stages it with everything it
//! reads; docs/gpu.md says how to run it.
//!
//! ```text
//! cargo build --release --example gpu_check
//! target/release/examples/gpu_check [--images DIR] [--batch 8] [--repeat 11] [--iou 0.45]
//!     [--kept-dir DIR] BOXES.csv...
//! ```
//!
//! * letterbox: every image under DIR (default `fixtures/images`), in batches, through the
//!   GPU kernel and the CPU's `Preprocessor`: the largest difference in grey levels, whether
//!   the tensors are bit-identical, and the median time per image of each. GPU time is a
//!   batch from host images to the tensor on the GPU (packing into pinned memory, upload,
//!   kernel, synchronise); CPU time is one thread.
//! * nms: each CSV (`x1,y1,x2,y2,score,class_id`), agnostic and class-aware, through
//!   `GpuNms` and the CPU's `Nms`: whether the kept lists are equal (same boxes, same
//!   order) and the median time of each, host candidates in, kept indices out. With
//!   `--kept-dir`, the CPU's kept indices go to `DIR/<file stem>-<mode>.txt`, one a line,
//!   for `bench/torch_nms.py` to check torchvision against.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anylabel::decode::{DecodeOptions, RgbImage, decode_file};
use anylabel::gpu::letterbox::{GpuLetterbox, Pixels};
use anylabel::gpu::{self, Gpu, nms::GpuNms, nms::Ran};
use anylabel::letterbox::{Letterbox, Preprocessor};
use anylabel::nms::{Nms, NmsParams};
use anylabel::scan::{Input, scan};
use serde_json::{Value, json};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_ms(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e3
}

struct Args {
    images: PathBuf,
    batch: usize,
    repeat: usize,
    iou: f32,
    kept_dir: Option<PathBuf>,
    boxes: Vec<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        images: PathBuf::from("fixtures/images"),
        batch: 8,
        repeat: 11,
        iou: 0.45,
        kept_dir: None,
        boxes: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--images" => a.images = value().into(),
            "--batch" => a.batch = value().parse().expect("--batch N"),
            "--repeat" => a.repeat = value().parse().expect("--repeat N"),
            "--iou" => a.iou = value().parse().expect("--iou F"),
            "--kept-dir" => a.kept_dir = Some(value().into()),
            _ => a.boxes.push(arg.into()),
        }
    }
    a
}

/// The images under `dir`, decoded, in `infer`'s scan order.
fn images(dir: &Path) -> Vec<(String, RgbImage)> {
    scan(vec![Input::Dir(dir.to_path_buf())])
        .flatten()
        .filter_map(|item| {
            let im = decode_file(&item.path, &DecodeOptions::default()).ok()?;
            Some((item.path.display().to_string(), im))
        })
        .collect()
}

fn letterbox(gpu: &Gpu, a: &Args) -> Value {
    let images = images(&a.images);
    if images.is_empty() {
        return json!({"error": format!("no images under {}", a.images.display())});
    }
    let (w, h) = (640u32, 640u32);
    let plane = 3 * w as usize * h as usize;
    let mut lb = GpuLetterbox::new(gpu, a.batch, [h, w]).expect("GPU letterbox");
    let mut pre = Preprocessor::new();
    let mut cpu_out = vec![0f32; a.batch * plane];
    let (mut max_diff, mut identical, mut worst) = (0f32, true, String::new());
    let (mut gpu_ms, mut cpu_ms) = (Vec::new(), Vec::new());
    for chunk in images.chunks(a.batch) {
        let batch: Vec<&RgbImage> = chunk.iter().map(|(_, im)| im).collect();
        let pixels: Vec<Pixels> = batch.iter().map(|&im| Pixels::Host(im)).collect();
        let geometry: Vec<Letterbox> = batch
            .iter()
            .map(|im| Letterbox::new(im.width, im.height, w, h))
            .collect();
        let run_cpu = |pre: &mut Preprocessor, out: &mut [f32]| {
            for (i, (im, g)) in batch.iter().zip(&geometry).enumerate() {
                pre.run(&im.pixels, g, &mut out[i * plane..(i + 1) * plane])
                    .expect("CPU letterbox");
            }
        };
        run_cpu(&mut pre, &mut cpu_out);
        let got = {
            let (tensor, _) = lb.run(&pixels).expect("GPU letterbox");
            tensor.to_host().expect("copy back")
        };
        for (i, name) in chunk.iter().map(|(n, _)| n).enumerate() {
            let (g, c) = (
                &got[i * plane..(i + 1) * plane],
                &cpu_out[i * plane..(i + 1) * plane],
            );
            let d = g
                .iter()
                .zip(c)
                .map(|(x, y)| (x - y).abs() * 255.0)
                .fold(0.0, f32::max);
            identical &= g.iter().zip(c).all(|(x, y)| x.to_bits() == y.to_bits());
            if d > max_diff || worst.is_empty() {
                (max_diff, worst) = (max_diff.max(d), name.clone());
            }
        }
        let n = batch.len() as f64;
        for _ in 0..a.repeat {
            gpu_ms.push(
                time_ms(|| {
                    let (t, _) = lb.run(&pixels).expect("GPU letterbox");
                    t.stream().synchronize().expect("synchronise");
                }) / n,
            );
            cpu_ms.push(time_ms(|| run_cpu(&mut pre, &mut cpu_out)) / n);
        }
    }
    json!({
        "images": images.len(), "batch": a.batch, "size": [h, w],
        "max_grey_diff": max_diff, "worst_image": worst, "bit_identical": identical,
        "gpu_ms_per_image": median(gpu_ms), "cpu_ms_per_image": median(cpu_ms),
    })
}

fn nms(gpu: &Gpu, a: &Args) -> Vec<Value> {
    let mut gpu_nms = GpuNms::new(gpu).expect("GPU NMS");
    let mut cpu_nms = Nms::new();
    let mut rows = Vec::new();
    for file in &a.boxes {
        let c = anylabel::boxes::read_csv(&std::fs::read(file).expect("box file"))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (mode, agnostic) in [("agnostic", true), ("class-aware", false)] {
            let p = NmsParams {
                iou: a.iou,
                max_det: usize::MAX,
                agnostic,
                max_candidates: usize::MAX,
            };
            let (mut kg, mut kc) = (Vec::new(), Vec::new());
            // The first run allocates the GPU buffers; it is not timed.
            let ran = gpu_nms.run(&c, &p, &mut kg).expect("GPU NMS");
            cpu_nms.run(&c, &p, &mut kc);
            let same = kg == kc;
            let gpu_ms = median(
                (0..a.repeat)
                    .map(|_| {
                        time_ms(|| {
                            gpu_nms.run(&c, &p, &mut kg).expect("GPU NMS");
                        })
                    })
                    .collect(),
            );
            let cpu_ms = median(
                (0..a.repeat)
                    .map(|_| time_ms(|| cpu_nms.run(&c, &p, &mut kc)))
                    .collect(),
            );
            if let Some(dir) = &a.kept_dir {
                let stem = file.file_stem().unwrap().to_string_lossy();
                let text: String = kc.iter().map(|k| format!("{k}\n")).collect();
                std::fs::write(dir.join(format!("{stem}-{mode}.txt")), text).expect("kept file");
            }
            rows.push(json!({
                "file": file.display().to_string(), "boxes": c.len(), "mode": mode,
                "kept": kc.len(), "same_as_cpu": same,
                "ran": match ran { Ran::Gpu => "gpu".to_string(), Ran::Cpu(why) => format!("cpu: {why}") },
                "gpu_ms": gpu_ms, "cpu_ms": cpu_ms,
            }));
        }
    }
    rows
}

fn main() {
    let a = args();
    if let Err(why) = gpu::available() {
        println!("{}", json!({"error": format!("no GPU: {why}")}));
        eprintln!("no GPU: {why}");
        std::process::exit(2);
    }
    let gpu = Gpu::new(0).expect("GPU 0");
    if let Some(dir) = &a.kept_dir {
        std::fs::create_dir_all(dir).expect("--kept-dir");
    }
    let lb = letterbox(&gpu, &a);
    let rows = nms(&gpu, &a);
    let ok =
        lb["bit_identical"] == json!(true) && rows.iter().all(|r| r["same_as_cpu"] == json!(true));
    println!(
        "{}",
        json!({"gpu": gpu.name(), "ok": ok, "letterbox": lb, "nms": rows})
    );
    eprintln!("GPU: {}", gpu.name());
    eprintln!(
        "letterbox, {} images in batches of {}: max difference {} grey levels ({}), bit-identical: {}; \
         per image GPU {:.3} ms, CPU (one thread) {:.3} ms",
        lb["images"],
        lb["batch"],
        lb["max_grey_diff"],
        lb["worst_image"],
        lb["bit_identical"],
        lb["gpu_ms_per_image"].as_f64().unwrap_or(f64::NAN),
        lb["cpu_ms_per_image"].as_f64().unwrap_or(f64::NAN),
    );
    eprintln!(
        "{:>8} {:>12} {:>7} {:>10} {:>10} {:>8}  file",
        "boxes", "mode", "kept", "GPU ms", "CPU ms", "same"
    );
    for r in &rows {
        eprintln!(
            "{:>8} {:>12} {:>7} {:>10.3} {:>10.3} {:>8}  {} ({})",
            r["boxes"],
            r["mode"].as_str().unwrap_or(""),
            r["kept"],
            r["gpu_ms"].as_f64().unwrap_or(f64::NAN),
            r["cpu_ms"].as_f64().unwrap_or(f64::NAN),
            r["same_as_cpu"],
            r["file"].as_str().unwrap_or(""),
            r["ran"].as_str().unwrap_or(""),
        );
    }
    if !ok {
        std::process::exit(1);
    }
}
