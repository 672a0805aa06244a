//! Times anylabel's NMS and the `powerboxesrs` crate's (plain and R-tree) on CSV box files,
//! on one thread, and checks that they keep the same boxes. `bench/nms_peers.py` runs it
//! next to ONNX Runtime's and OpenCV's NMS on the same files.
//!
//! ```text
//! cargo run --release --example nms_time -- [--iou 0.45] [--repeat 5] BOXES.csv...
//! ```
//! Prints one JSON object per file: {"file", "boxes", "kept", "anylabel_ms", "powerboxes_ms",
//! "powerboxes_rtree_ms", "same_as_powerboxes"}, times being medians of the repeats.

use std::time::Instant;

use anylabel::nms::{Nms, NmsParams};

fn median_ms(repeat: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..repeat)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let (mut iou, mut repeat, mut files) = (0.45f32, 5usize, Vec::new());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iou" => iou = args.next().unwrap().parse().unwrap(),
            "--repeat" => repeat = args.next().unwrap().parse().unwrap(),
            _ => files.push(a),
        }
    }
    for file in files {
        let c = anylabel::boxes::read_csv(&std::fs::read(&file).unwrap()).unwrap();
        let p = NmsParams {
            iou,
            max_det: usize::MAX,
            agnostic: false,
            max_candidates: usize::MAX,
        };
        let mut nms = Nms::new();
        let mut keep = Vec::new();
        let ours = median_ms(repeat, || nms.run(&c, &p, &mut keep));
        // powerboxes takes one class, f64 scores and flat xyxy boxes; converting is not timed.
        let flat: Vec<f32> = c.boxes.iter().flatten().copied().collect();
        let scores: Vec<f64> = c.scores.iter().map(|&s| s as f64).collect();
        let mut pb = Vec::new();
        let plain = median_ms(repeat, || {
            pb = powerboxesrs::nms::nms_slice(&flat, &scores, iou as f64, 0.0)
        });
        let mut pbr = Vec::new();
        let rtree = median_ms(repeat, || {
            pbr = powerboxesrs::nms::rtree_nms_slice(&flat, &scores, iou as f64, 0.0)
        });
        let single_class = c.class_ids.iter().all(|&k| k == c.class_ids[0]);
        let same = single_class && pb == keep && pbr == keep;
        println!(
            "{}",
            serde_json::json!({
                "file": file, "boxes": c.len(), "kept": keep.len(), "anylabel_ms": ours,
                "powerboxes_ms": plain, "powerboxes_rtree_ms": rtree, "same_as_powerboxes": same,
            })
        );
    }
}
