//! NMS: anylabel's against the `powerboxesrs` crate's (plain and R-tree), on the same
//! clustered boxes with distinct scores, one class, IoU 0.45, at 1k, 10k and 100k boxes.
//!
//! ```text
//! cargo bench --bench nms
//! ```

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use anylabel::detections::Detections;
use anylabel::nms::{Nms, NmsParams, bench_boxes as clustered};

fn bench(cr: &mut Criterion) {
    let mut group = cr.benchmark_group("nms");
    group.sample_size(10);
    for n in [1_000usize, 10_000, 100_000] {
        let c = clustered(n, 42);
        let p = NmsParams {
            iou: 0.45,
            max_det: usize::MAX,
            agnostic: false,
            max_candidates: usize::MAX,
        };
        let flat: Vec<f32> = c.boxes.iter().flatten().copied().collect();
        let scores: Vec<f64> = c.scores.iter().map(|&s| s as f64).collect();
        let mut nms = Nms::new();
        let mut keep = Vec::new();
        nms.run(&c, &p, &mut keep);
        assert_eq!(
            powerboxesrs::nms::nms_slice(&flat, &scores, 0.45, 0.0),
            keep,
            "kept sets differ at {n}"
        );
        group.bench_with_input(BenchmarkId::new("anylabel", n), &n, |b, _| {
            b.iter(|| nms.run(&c, &p, &mut keep))
        });
        group.bench_with_input(BenchmarkId::new("powerboxes", n), &n, |b, _| {
            b.iter(|| powerboxesrs::nms::nms_slice(&flat, &scores, 0.45, 0.0))
        });
        group.bench_with_input(BenchmarkId::new("powerboxes_rtree", n), &n, |b, _| {
            b.iter(|| powerboxesrs::nms::rtree_nms_slice(&flat, &scores, 0.45, 0.0))
        });
    }
    group.finish();
}

/// A YOLOv8 output for 80 classes and 8400 anchors (640×640), as a real one looks: most
/// class scores are the sigmoid of a strongly negative logit, and 30 objects light up the
/// anchors around them for their class.
fn yolov8_output(seed: u64) -> Vec<f32> {
    let (classes, anchors) = (80usize, 8400usize);
    let mut rng = anylabel::rng::XorShift(seed | 1);
    let mut rnd = move || rng.unit_f32();
    let mut out = vec![0f32; (4 + classes) * anchors];
    for a in 0..anchors {
        out[a] = rnd() * 640.0;
        out[anchors + a] = rnd() * 640.0;
        out[2 * anchors + a] = 10.0 + rnd() * 200.0;
        out[3 * anchors + a] = 10.0 + rnd() * 200.0;
        for c in 0..classes {
            // logit ~ -9 ± 1.5 (roughly normal, from the sum of uniforms)
            let z = (rnd() + rnd() + rnd() + rnd() - 2.0) * 1.7;
            out[(4 + c) * anchors + a] = 1.0 / (1.0 + (9.0 - 1.5 * z).exp());
        }
    }
    for _ in 0..30 {
        let (class, x, y, w, h) = (
            (rnd() * 80.0) as usize,
            rnd() * 600.0,
            rnd() * 600.0,
            20.0 + rnd() * 200.0,
            20.0 + rnd() * 200.0,
        );
        let first = (rnd() * (anchors - 40) as f32) as usize;
        for a in first..first + 40 {
            out[a] = x + (rnd() - 0.5) * 8.0;
            out[anchors + a] = y + (rnd() - 0.5) * 8.0;
            out[2 * anchors + a] = w * (0.9 + 0.2 * rnd());
            out[3 * anchors + a] = h * (0.9 + 0.2 * rnd());
            out[(4 + class) * anchors + a] = 0.3 + 0.65 * rnd();
        }
    }
    out
}

/// Post-processing of one full YOLOv8 output on one core: decoding the head and NMS, at
/// the default --conf and at the cache's floor (what `infer` runs, to store results).
fn postprocess(cr: &mut Criterion) {
    use anylabel::head::{DecodeParams, Decoder, Head};
    let out = yolov8_output(7);
    let head = Head::Yolov8 {
        classes: 80,
        extra: 0,
    };
    let mut group = cr.benchmark_group("postprocess_yolov8_80x8400");
    for conf in [0.25f32, 0.01] {
        let params = DecodeParams {
            conf,
            allowed: None,
        };
        let p = NmsParams {
            iou: 0.45,
            max_det: 300,
            agnostic: false,
            max_candidates: 30_000,
        };
        let (mut decoder, mut nms, mut c, mut keep) = (
            Decoder::default(),
            Nms::new(),
            Detections::default(),
            Vec::new(),
        );
        group.bench_function(BenchmarkId::new("decode_and_nms_conf", conf), |b| {
            b.iter(|| {
                c.clear();
                decoder.decode(head, &out, [1, 84, 8400], 0, &params, &mut c);
                nms.run(&c, &p, &mut keep);
                keep.len()
            })
        });
        group.bench_function(BenchmarkId::new("decode_only_conf", conf), |b| {
            b.iter(|| {
                c.clear();
                decoder.decode(head, &out, [1, 84, 8400], 0, &params, &mut c);
                c.len()
            })
        });
        eprintln!("conf {conf}: {} candidates, {} kept", c.len(), keep.len());
    }
    group.finish();
}

criterion_group!(benches, bench, postprocess);
criterion_main!(benches);
