//! INT8 calibration for TensorRT (`--precision int8 --calib DIR`).
//!
//! TensorRT runs a layer in INT8 when it knows the range of the tensors around it. ONNX
//! Runtime's TensorRT provider reads those ranges from a calibration table
//! (`trt_int8_calibration_table_name`), in the FlatBuffers format that ONNX Runtime's own
//! Python tool writes (`onnxruntime.quantization`: `create_calibrator` with `MinMax`, then
//! `write_calibration_table`): a `TrtTable` of `KeyValue { key: tensor name, value: its
//! range as a decimal }`. This module makes that table:
//!
//! 1. the model with every node output among its graph outputs ([`with_all_outputs`], a
//!    protobuf edit of the ONNX file);
//! 2. that model on ONNX Runtime's CPU provider over the calibration images, letterboxed
//!    as `infer` letterboxes them, one at a time; for every float tensor (the graph input
//!    and every node output), its lowest and highest value over all images
//!    ([`calibrate`]);
//! 3. the table, each tensor's range being `max(|lowest|, |highest|)` ([`write_table`]).
//!
//! `tests/calib.rs` checks the ranges against ONNX Runtime's Python calibrator on the same
//! tensors, and reads the table back with ONNX Runtime's own FlatBuffers reader.
//!
//! The table is cached under `~/.anylabeling/trt/calib/`, keyed by the model's sha256, the
//! input size and the calibration images' contents ([`table_for`]): a second run with the
//! same `--calib` folder does not calibrate again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

use crate::decode::{DecodeOptions, decode_file};
use crate::letterbox::{Letterbox, Preprocessor};
use crate::trt::{bytes_of, fields, spans, string_of};

/// At most this many images of `--calib` are used (in scan order); ONNX Runtime's and
/// TensorRT's guides suggest a few hundred.
pub const MAX_IMAGES: usize = 1000;

/// The lowest and highest value each tensor took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ranges {
    pub ranges: BTreeMap<String, (f32, f32)>,
    /// How many images they were measured on.
    pub images: usize,
}

impl Ranges {
    fn update(&mut self, name: &str, values: &[f32]) {
        let (lo, hi) = values
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        if lo > hi {
            return; // an empty tensor, or only NaN
        }
        let e = self.ranges.entry(name.to_string()).or_insert((lo, hi));
        e.0 = e.0.min(lo);
        e.1 = e.1.max(hi);
    }

    /// The range TensorRT is given for each tensor: `max(|lowest|, |highest|)`.
    pub fn amax(&self) -> impl Iterator<Item = (&str, f32)> {
        self.ranges
            .iter()
            .map(|(k, &(lo, hi))| (k.as_str(), lo.abs().max(hi.abs())))
    }
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A length-delimited field: `num`, then `payload`.
fn push_bytes(out: &mut Vec<u8>, num: u64, payload: &[u8]) {
    push_varint(out, (num << 3) | 2);
    push_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// The model `onnx` (an ONNX file's bytes) with every node output among its graph
/// outputs (ValueInfoProto with the name alone: ONNX Runtime infers the type), after the
/// outputs it has. Also gives the graph's inputs that are not initializers.
pub fn with_all_outputs(onnx: &[u8]) -> Result<(Vec<u8>, Vec<String>)> {
    // ModelProto.graph (7) → GraphProto { node (1) → NodeProto.output (2), initializer (5)
    // → TensorProto.name (8), input (11) and output (12) → ValueInfoProto.name (1) }.
    let model = spans(onnx)?;
    let graph_at = model
        .iter()
        .position(|f| f.num == 7)
        .ok_or_else(|| anyhow!("not an ONNX model (no graph)"))?;
    let graph = &onnx[model[graph_at].payload.clone()];
    let g = fields(graph)?;
    let initializers: Vec<String> = bytes_of(&g, 5)
        .filter_map(|t| fields(t).ok().and_then(|f| string_of(&f, 8)))
        .collect();
    let name_of = |vi: &[u8]| fields(vi).ok().and_then(|f| string_of(&f, 1));
    let inputs: Vec<String> = bytes_of(&g, 11)
        .filter_map(name_of)
        .filter(|n| !initializers.contains(n))
        .collect();
    let mut have: std::collections::HashSet<String> =
        bytes_of(&g, 12).filter_map(name_of).collect();
    let mut added = Vec::new();
    for node in bytes_of(&g, 1) {
        let node = fields(node)?;
        for out in bytes_of(&node, 2) {
            let name = String::from_utf8_lossy(out).into_owned();
            if !name.is_empty() && have.insert(name.clone()) {
                added.push(name);
            }
        }
    }
    let mut new_graph = graph.to_vec();
    for name in &added {
        let mut vi = Vec::new();
        push_bytes(&mut vi, 1, name.as_bytes());
        push_bytes(&mut new_graph, 12, &vi);
    }
    let mut out = Vec::with_capacity(onnx.len() + new_graph.len() - graph.len() + 16);
    for (i, field) in model.iter().enumerate() {
        if i == graph_at {
            push_bytes(&mut out, field.num, &new_graph);
        } else {
            out.extend_from_slice(&onnx[field.whole.clone()]);
        }
    }
    Ok((out, inputs))
}

/// Measures the ranges of every float tensor of the model at `onnx` over `tensors`, each
/// one image letterboxed to `[1, 3, h, w]` (`shape`), on ONNX Runtime's CPU provider.
/// `each` is called after every image (a progress bar).
pub fn calibrate_tensors(
    env: &ort::environment::Environment,
    onnx: &Path,
    shape: [usize; 4],
    tensors: impl IntoIterator<Item = Result<Vec<f32>>>,
    mut each: impl FnMut(),
) -> Result<Ranges> {
    use ort::value::TensorRef;
    let bytes = std::fs::read(onnx).with_context(|| format!("cannot read {}", onnx.display()))?;
    let (augmented, inputs) =
        with_all_outputs(&bytes).map_err(|e| anyhow!("{}: {e}", onnx.display()))?;
    let input_name = inputs
        .first()
        .cloned()
        .ok_or_else(|| anyhow!("{}: the graph has no input", onnx.display()))?;
    // Unoptimised, as ONNX Runtime's calibrator runs it: TensorRT is given the ranges of
    // the graph's own tensors, computed node by node (fusions round differently).
    let mut session = ort::session::Session::builder(env)
        .and_then(|b| {
            b.with_optimization_level(ort::session::builder::GraphOptimizationLevel::Disable)
                .map_err(Into::into)
        })
        .and_then(|mut b| b.commit_from_memory(&augmented))
        .map_err(|e| {
            anyhow!(
                "ONNX Runtime cannot load {} for calibration: {e}",
                onnx.display()
            )
        })?;
    let mut ranges = Ranges::default();
    for tensor in tensors {
        let tensor = tensor?;
        ranges.update(&input_name, &tensor);
        let input = TensorRef::from_array_view((shape.map(|d| d as i64), &tensor[..]))
            .map_err(|e| anyhow!("cannot pass an image to ONNX Runtime: {e}"))?;
        let outputs = session
            .run(ort::inputs![input])
            .map_err(|e| anyhow!("ONNX Runtime failed to run the model for calibration: {e}"))?;
        for (name, value) in outputs.iter() {
            // Integer tensors (shapes, indices) have no INT8 range.
            if let Ok((_, values)) = value.try_extract_tensor::<f32>() {
                ranges.update(name, values);
            }
        }
        ranges.images += 1;
        each();
    }
    if ranges.images == 0 {
        bail!("no calibration image could be read");
    }
    Ok(ranges)
}

/// The first `MAX_IMAGES` images of `dir`, in scan order.
pub fn images_in(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        bail!("--calib {}: not a folder", dir.display());
    }
    let images: Vec<PathBuf> = crate::scan::scan(vec![crate::scan::Input::Dir(dir.to_path_buf())])
        .filter_map(|item| item.ok().map(|i| i.path))
        .take(MAX_IMAGES)
        .collect();
    if images.is_empty() {
        bail!("--calib {}: no images in it", dir.display());
    }
    Ok(images)
}

/// Decodes and letterboxes one image to `[w, h]` as `infer` does.
pub fn letterboxed(path: &Path, [w, h]: [u32; 2]) -> Result<Vec<f32>> {
    let opts = DecodeOptions {
        reduce_for: Some([w, h]),
        ..DecodeOptions::default()
    };
    let img = decode_file(path, &opts).map_err(|e| anyhow!("{}: {}", path.display(), e.reason))?;
    let lb = Letterbox::of_image(&img, w, h);
    let mut out = vec![0f32; 3 * w as usize * h as usize];
    Preprocessor::new()
        .run(&img.pixels, &lb, &mut out)
        .map_err(|e| anyhow!("{}: cannot letterbox it: {e}", path.display()))?;
    Ok(out)
}

/// [`calibrate_tensors`] over the images at `paths`, letterboxed to `size` (`[h, w]`); an
/// image that does not decode is skipped with a warning.
pub fn calibrate(
    env: &ort::environment::Environment,
    onnx: &Path,
    paths: &[PathBuf],
    [h, w]: [u32; 2],
    each: impl FnMut(),
) -> Result<Ranges> {
    let tensors = paths.iter().filter_map(|p| match letterboxed(p, [w, h]) {
        Ok(t) => Some(Ok(t)),
        Err(e) => {
            tracing::warn!("calibration: {e:#}; skipped");
            None
        }
    });
    calibrate_tensors(env, onnx, [1, 3, h as usize, w as usize], tensors, each)
}

/// The calibration table ONNX Runtime's TensorRT provider reads: FlatBuffers
/// `TrtTable { dict: [KeyValue { key, value }] }`, keys sorted, each value the tensor's
/// range as a decimal.
pub fn write_table(ranges: &Ranges) -> Vec<u8> {
    let mut b = flatbuffers::FlatBufferBuilder::with_capacity(64 * ranges.ranges.len() + 64);
    let entries: Vec<_> = ranges
        .amax()
        .map(|(key, amax)| {
            let key = b.create_string(key);
            let value = b.create_string(&format!("{amax}"));
            let table = b.start_table();
            b.push_slot_always(4, key); // KeyValue.key
            b.push_slot_always(6, value); // KeyValue.value
            b.end_table(table)
        })
        .collect();
    let dict = b.create_vector(&entries);
    let table = b.start_table();
    b.push_slot_always(4, dict); // TrtTable.dict
    let root = b.end_table(table);
    b.finish(root, None);
    b.finished_data().to_vec()
}

/// The calibration table for the model (`model_sha256`, at `onnx`) at `size` (`[h, w]`)
/// from the images of `dir`: from the cache under `cache_dir` when these images were
/// calibrated before, else measured (with a progress bar) and cached. Gives the table's
/// path and its sha256.
pub fn table_for(
    env: &ort::environment::Environment,
    cache_dir: &Path,
    model_sha256: &str,
    onnx: &Path,
    dir: &Path,
    size: [u32; 2],
) -> Result<(PathBuf, String)> {
    let paths = images_in(dir)?;
    let mut key = Sha256::new();
    key.update(model_sha256.as_bytes());
    key.update(format!("{}x{}", size[0], size[1]).as_bytes());
    for p in &paths {
        let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        key.update(xxhash_rust::xxh3::xxh3_128(&bytes).to_le_bytes());
    }
    let key = hex::encode(key.finalize());
    let file = cache_dir.join(format!("{}.flatbuffers", &key[..32]));
    if let Ok(table) = std::fs::read(&file) {
        tracing::debug!("calibration table from the cache: {}", file.display());
        return Ok((file, hex::encode(Sha256::digest(&table))));
    }
    crate::home::Home::ensure_dir(cache_dir)?;
    crate::progress::note(&format!(
        "calibrating for INT8 on {} images of {} (once per model, size and image set; kept in {})",
        paths.len(),
        dir.display(),
        cache_dir.display()
    ));
    let bar = if crate::progress::enabled() {
        let bar = indicatif::ProgressBar::new(paths.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "  calibrating {bar:40.cyan/blue} {pos}/{len} images, eta {eta}",
            )
            .expect("valid template"),
        );
        crate::progress::activate(&bar);
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let ranges = calibrate(env, onnx, &paths, size, || bar.inc(1));
    bar.finish_and_clear();
    crate::progress::clear();
    let ranges = ranges?;
    let table = write_table(&ranges);
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, &table)
        .and_then(|()| std::fs::rename(&tmp, &file))
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok((file, hex::encode(Sha256::digest(&table))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_every_node_output_and_keeps_the_rest_of_the_model() {
        for p in crate::trt::test_models() {
            let bytes = std::fs::read(&p).unwrap();
            let (out, inputs) = with_all_outputs(&bytes).unwrap();
            assert!(!inputs.is_empty(), "{}", p.display());
            let before = fields(&bytes).unwrap();
            let after = fields(&out).unwrap();
            // Every field but the graph is byte for byte the same, in the same order.
            assert_eq!(before.len(), after.len());
            let g0 = fields(bytes_of(&before, 7).next().unwrap()).unwrap();
            let g1 = fields(bytes_of(&after, 7).next().unwrap()).unwrap();
            let nodes: usize = bytes_of(&g0, 1)
                .map(|n| bytes_of(&fields(n).unwrap(), 2).count())
                .sum();
            assert_eq!(bytes_of(&g1, 1).count(), bytes_of(&g0, 1).count());
            assert!(bytes_of(&g1, 12).count() >= nodes, "{}", p.display());
            assert_eq!(
                crate::trt::model_input(&p).unwrap().name,
                inputs[0],
                "{}",
                p.display()
            );
        }
        assert!(with_all_outputs(b"not a model").is_err());
    }

    #[test]
    fn ranges_keep_the_extremes_and_skip_nan() {
        let mut r = Ranges::default();
        r.update("a", &[0.5, -2.0, f32::NAN]);
        r.update("a", &[3.0]);
        r.update("b", &[f32::NAN]);
        assert_eq!(r.ranges["a"], (-2.0, 3.0));
        assert!(!r.ranges.contains_key("b"));
        assert_eq!(r.amax().collect::<Vec<_>>(), vec![("a", 3.0)]);
    }
}
