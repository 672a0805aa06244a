//! How close `infer` gets to the model's own speed.
//!
//! Measures, in one process on the same images, model and threads:
//! 1. the limit: ONNX Runtime's session alone, on batches letterboxed in advance;
//! 2. the pipeline: `infer` end to end (walk, decode, letterbox, inference, NMS, records),
//!    writing to a sink that discards;
//!
//! alternating the two `--rounds` times and printing the median of each and their ratio.
//!
//! ```text
//! cargo bench --bench pipeline -- [--model nudenet-320n] [--imgsz 640] [--batch 1]
//!                                 [--threads 0] [--workers 0] [--rounds 3] [DIR]
//! ```

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anylabel::decode::{DecodeOptions, decode_file};
use anylabel::engine::{Engine, EngineOptions, ModelInfo};
use anylabel::home::Home;
use anylabel::letterbox::{Letterbox, Preprocessor};
use anylabel::pipeline::{self, EngineSlot, InferOptions, Sink};
use anylabel::record::Record;
use anylabel::scan::{Input, scan};
use anylabel::{fetch, model, runtime};

struct Discard;

impl Sink for Discard {
    fn write(&mut self, _: &Record) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let mut model_name = "nudenet-320n".to_string();
    let mut imgsz = 640u32;
    let mut batch = 1usize;
    let mut threads = 0usize;
    let mut workers = 0usize;
    let mut rounds = 3usize;
    let mut dir = "fixtures/images".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().expect("a value after the flag");
        match a.as_str() {
            "--model" => model_name = value(),
            "--imgsz" => imgsz = value().parse()?,
            "--batch" => batch = value().parse()?,
            "--threads" => threads = value().parse()?,
            "--workers" => workers = value().parse()?,
            "--rounds" => rounds = value().parse()?,
            "--bench" => {}
            other if !other.starts_with('-') => dir = other.to_string(),
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    anylabel::progress::init(anylabel::progress::Verbosity::Quiet);
    let home = Home::from_env()?;
    let source = model::resolve(&model_name, &home, false)?;
    let env = runtime::environment(&home, false, runtime::Flavour::Cpu)?;
    let opts = EngineOptions {
        threads,
        ..Default::default()
    };
    let (engine, facts) = Engine::load(env, &source.onnx, &opts)?;
    let info = ModelInfo::new(&facts, &source, &fetch::sha256_file(&source.onnx)?)?;
    let mut slot = EngineSlot::Loaded(engine);
    let size = info.input_size(Some([imgsz, imgsz]))?;
    let [h, w] = size;
    let plane = 3 * h as usize * w as usize;
    let n = info.batch_size(batch);

    // The same images the pipeline reads, letterboxed once, in advance.
    let mut pre = Preprocessor::new();
    let mut tensors = Vec::new();
    for item in scan(vec![Input::Dir(dir.clone().into())]).flatten() {
        if let Ok(img) = decode_file(&item.path, &DecodeOptions::default()) {
            let lb = Letterbox::new(img.width, img.height, w, h);
            let mut t = vec![0f32; plane];
            pre.run(&img.pixels, &lb, &mut t)?;
            tensors.push(t);
        }
    }
    let images = tensors.len();
    let batches: Vec<Vec<f32>> = tensors
        .chunks(n)
        .map(|c| {
            let mut b: Vec<f32> = c.iter().flatten().copied().collect();
            b.resize(n * plane, 0.0);
            b
        })
        .collect();
    let mut out = Vec::new();
    slot.get()?
        .run(&batches[0], [n, 3, h as usize, w as usize], &mut Vec::new())?; // warm-up

    let opts = InferOptions {
        inputs: vec![Input::Dir(dir.clone().into())].into(),
        batch: n,
        workers,
        ..InferOptions::default()
    };
    let bar = indicatif::ProgressBar::hidden();
    // The machine's speed drifts (shared CPUs), so each round times the two back to back,
    // in alternating order, and the ratio is taken per round.
    let (mut limit, mut full, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let stop = AtomicBool::new(false);
    let shape = [n, 3, h as usize, w as usize];
    let mut time_limit = |slot: &mut EngineSlot| -> anyhow::Result<Duration> {
        let t = Instant::now();
        for b in &batches {
            slot.get()?.run(b, shape, &mut out)?;
        }
        Ok(t.elapsed())
    };
    for round in 0..rounds {
        let (l, f);
        if round % 2 == 0 {
            l = time_limit(&mut slot)?;
            f = pipeline::run(
                &mut slot,
                &info,
                size,
                &opts,
                None,
                &stop,
                &mut Discard,
                &bar,
            )?
            .elapsed;
        } else {
            f = pipeline::run(
                &mut slot,
                &info,
                size,
                &opts,
                None,
                &stop,
                &mut Discard,
                &bar,
            )?
            .elapsed;
            l = time_limit(&mut slot)?;
        }
        limit.push(l);
        full.push(f);
        ratios.push(l.as_secs_f64() / f.as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let rate = |d: &Duration| images as f64 / d.as_secs_f64();
    let mut l: Vec<f64> = limit.iter().map(rate).collect();
    let mut f: Vec<f64> = full.iter().map(rate).collect();
    println!(
        "{images} images from {dir}, {} at {w}×{h}, batch {n}, {rounds} rounds",
        info.id
    );
    println!(
        "  session alone (the limit): {:>7.2} images/s median ({:.2} .. {:.2})",
        median(&mut l),
        l[0],
        l[l.len() - 1]
    );
    println!(
        "  infer end to end:          {:>7.2} images/s median ({:.2} .. {:.2})",
        median(&mut f),
        f[0],
        f[f.len() - 1]
    );
    let r = median(&mut ratios);
    println!(
        "  infer / limit, per round:  {:>7.1} % median ({:.1} .. {:.1})",
        100.0 * r,
        100.0 * ratios[0],
        100.0 * ratios[ratios.len() - 1]
    );
    Ok(())
}
