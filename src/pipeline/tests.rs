//! The pipeline's stages on a fake [`Model`], without ONNX Runtime: scan order, a file
//! that does not decode, cache hits that never load the model, a closed output and Ctrl-C.

use std::io::{Error, ErrorKind};
use std::path::Path;

use anyhow::bail;

use super::*;
use crate::backend::Kind;
use crate::cache::Cache;
use crate::engine::OutputTo;
use crate::head::Head;
use crate::scan::Input as ScanInput;

/// Model input side, in pixels.
const SIDE: usize = 32;

/// A YOLOv8-shaped model (one class, two anchors) that sees its input: anchor 0 is a box
/// in the middle of the input scored by the mean of the image's pixels, anchor 1 scores 0.
/// A uniform grey square image `v` thus gets one detection of score `v / 255`.
struct Fake {
    batches: usize,
    shapes: Option<([usize; 4], [usize; 3])>,
}

impl Model for Fake {
    fn backend(&self) -> Kind {
        Kind::Cpu
    }

    fn device(&self) -> u32 {
        0
    }

    fn last_shapes(&self) -> Option<([usize; 4], [usize; 3])> {
        self.shapes
    }

    fn set_last_shapes(&mut self, shapes: Option<([usize; 4], [usize; 3])>) {
        self.shapes = shapes;
    }

    fn run(&mut self, input: &[f32], shape: [usize; 4], out: &mut Vec<f32>) -> Result<[usize; 3]> {
        self.batches += 1;
        let [n, c, h, w] = shape;
        let plane = c * h * w;
        let anchors = 2;
        out.clear();
        for i in 0..n {
            let mean = input[i * plane..(i + 1) * plane].iter().sum::<f32>() / plane as f32;
            let centre = SIDE as f32 / 2.0;
            // Rows cx, cy, w, h, score; one value an anchor.
            out.extend([centre, 0.0, centre, 0.0, 8.0, 0.0, 8.0, 0.0, mean, 0.0]);
        }
        Ok([n, 5, anchors])
    }

    fn run_into(
        &mut self,
        input: &[f32],
        shape: [usize; 4],
        out: &mut [f32],
        _dims: [usize; 3],
    ) -> Result<[usize; 3]> {
        let mut v = Vec::new();
        let dims = self.run(input, shape, &mut v)?;
        out.copy_from_slice(&v);
        Ok(dims)
    }

    unsafe fn run_on_gpu(
        &mut self,
        _: u64,
        _: u32,
        _: [usize; 4],
        _: OutputTo,
    ) -> Result<[usize; 3]> {
        bail!("the fake model runs on the CPU")
    }
}

fn info() -> ModelInfo {
    ModelInfo {
        id: "fake@sha256:0000000000000000".into(),
        sha256: "0".repeat(64),
        input_dims: [None, Some(SIDE), Some(SIDE)],
        class_names: vec!["thing".into()],
        head: Head::Yolov8 {
            classes: 1,
            extra: 0,
        },
        head_from_config: false,
    }
}

/// Collects records; with `fail_at`, that write (0-based) fails as a closed pipe.
#[derive(Default)]
struct Collect {
    records: Vec<Record>,
    fail_at: Option<usize>,
}

impl Sink for Collect {
    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        if self.fail_at == Some(self.records.len()) {
            return Err(Error::from(ErrorKind::BrokenPipe));
        }
        self.records.push(record.clone());
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Three grey squares and a file that is not an image, in a folder.
fn images(dir: &Path) {
    for (name, v) in [("c.png", 100u8), ("a.png", 200), ("b.png", 150)] {
        image::RgbImage::from_pixel(16, 16, image::Rgb([v, v, v]))
            .save(dir.join(name))
            .unwrap();
    }
    std::fs::write(dir.join("bad.jpg"), b"not a jpeg at all").unwrap();
}

fn options(dir: &Path) -> InferOptions {
    InferOptions {
        inputs: vec![ScanInput::Dir(dir.to_path_buf())].into(),
        workers: 2,
        ..InferOptions::default()
    }
}

fn run_with(
    slot: &mut EngineSlot<Fake>,
    opts: &InferOptions,
    cache: Option<&mut CacheRun>,
    stop: bool,
    sink: &mut Collect,
) -> Summary {
    let stop = AtomicBool::new(stop);
    let size = [SIDE as u32, SIDE as u32];
    let bar = ProgressBar::hidden();
    run(slot, &info(), size, opts, cache, &stop, sink, &bar).unwrap()
}

fn fake() -> EngineSlot<'static, Fake> {
    EngineSlot::Loaded(Fake {
        batches: 0,
        shapes: None,
    })
}

#[test]
fn records_come_in_scan_order_and_a_bad_file_keeps_its_record() {
    let dir = tempfile::tempdir().unwrap();
    images(dir.path());
    for batch in [1, 3] {
        let mut sink = Collect::default();
        let opts = InferOptions {
            batch,
            ..options(dir.path())
        };
        let s = run_with(&mut fake(), &opts, None, false, &mut sink);
        let paths: Vec<&str> = sink.records.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            ["a.png", "b.png", "bad.jpg", "c.png"],
            "batch {batch}"
        );
        assert_eq!((s.images, s.failed, s.detections), (4, 1, 3));
        let bad = &sink.records[2];
        assert!(bad.error.is_some() && bad.detections.is_empty(), "{bad:?}");
        // The fake's box in the middle of the 32-pixel input is the middle of the 16-pixel
        // image, scored by the image's grey.
        let a = &sink.records[0];
        assert_eq!((a.width, a.height), (16, 16));
        assert_eq!(a.detections[0].bbox, [6.0, 6.0, 10.0, 10.0]);
        assert_eq!(a.detections[0].label, "thing");
        assert!((a.detections[0].score - 200.0 / 255.0).abs() < 1e-5);
        assert!(sink.records[3].detections[0].score < sink.records[1].detections[0].score);
    }
}

#[test]
fn a_second_run_is_answered_by_the_cache_without_loading_the_model() {
    let dir = tempfile::tempdir().unwrap();
    images(dir.path());
    let db = dir.path().join("cache.db");
    let opts = options(dir.path());
    let cache_run = || CacheRun::new(Cache::open(&db).unwrap(), &info(), [32, 32], &opts).unwrap();

    let mut first = Collect::default();
    let mut slot = fake();
    let s = run_with(&mut slot, &opts, Some(&mut cache_run()), false, &mut first);
    assert_eq!((s.cache_hits, s.model_loaded), (0, true));
    let EngineSlot::Loaded(model) = &slot else {
        panic!("the model was loaded")
    };
    assert!(model.batches > 0);

    let mut second = Collect::default();
    let mut never = EngineSlot::<Fake>::Lazy(Box::new(|| bail!("the model was loaded")));
    let s = run_with(
        &mut never,
        &opts,
        Some(&mut cache_run()),
        false,
        &mut second,
    );
    // The file that does not decode is known too.
    assert_eq!((s.cache_hits, s.failed, s.model_loaded), (4, 1, false));
    assert_eq!(second.records, first.records);

    // Another --conf is answered from the cache as a fresh run answers it.
    let strict = InferOptions {
        conf: 0.5,
        ..opts.clone()
    };
    let mut cached = Collect::default();
    run_with(
        &mut never,
        &strict,
        Some(&mut cache_run()),
        false,
        &mut cached,
    );
    let mut fresh = Collect::default();
    run_with(&mut fake(), &strict, None, false, &mut fresh);
    assert_eq!(cached.records, fresh.records);
    assert_eq!(
        cached
            .records
            .iter()
            .map(|r| r.detections.len())
            .sum::<usize>(),
        2
    );
}

#[test]
fn a_closed_output_ends_the_run_quietly() {
    let dir = tempfile::tempdir().unwrap();
    images(dir.path());
    let mut sink = Collect {
        fail_at: Some(1),
        ..Collect::default()
    };
    let opts = InferOptions {
        batch: 1,
        ..options(dir.path())
    };
    let s = run_with(&mut fake(), &opts, None, false, &mut sink);
    assert!(s.stopped_early);
    assert_eq!(sink.records.len(), 1);
}

#[test]
fn the_stop_flag_ends_the_run_at_a_batch_boundary() {
    let dir = tempfile::tempdir().unwrap();
    images(dir.path());
    let mut sink = Collect::default();
    let opts = InferOptions {
        batch: 1,
        ..options(dir.path())
    };
    let s = run_with(&mut fake(), &opts, None, true, &mut sink);
    assert!(s.interrupted, "{s:?}");
    // The first batch runs and is written whole; nothing after it.
    assert_eq!(sink.records.len(), 1);
    assert_eq!(sink.records[0].path, "a.png");
}
