//! TensorRT through ONNX Runtime's TensorRT provider: where its engines are kept, and the
//! shape profile they are built for.
//!
//! Building a TensorRT engine takes from seconds to minutes, so the provider is told to
//! keep engines and timing caches on disk, under `~/.anylabeling/trt/<key>/`. The key
//! covers everything an engine depends on: the model's sha256, the GPU's name, the
//! TensorRT version, the precision and the shape profile, so a new driver's GPU, a new
//! TensorRT or another `--batch` builds a new engine instead of loading a wrong one.
//!
//! A model with a free batch dimension gets one profile from batch 1 to `--batch` (opt =
//! max, the size full batches run at), so the last, short batch of a run needs no second
//! engine. The input's name for the profile is read from the ONNX file itself (a small
//! protobuf walk), since the session that would tell it is the one being configured.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

/// The precision TensorRT builds the engine at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Fp32,
    Fp16,
    /// INT8 with the ranges of a calibration table ([`crate::calib`]), FP16 where a layer
    /// has no INT8 kernel.
    Int8,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Fp16 => "fp16",
            Precision::Int8 => "int8",
        }
    }
}

/// The calibration table's file name in an engine's cache folder, as the provider is
/// told (`trt_int8_calibration_table_name`, read from `trt_engine_cache_path`).
pub const CALIBRATION_TABLE: &str = "calibration.flatbuffers";

/// `trt_profile_min_shapes`, `_opt_shapes` and `_max_shapes`: `name:1x3x640x640`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub min: String,
    pub opt: String,
    pub max: String,
}

/// What the provider is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrtOptions {
    pub precision: Precision,
    /// With INT8: the calibration table, copied into `cache_dir` as [`CALIBRATION_TABLE`].
    pub calibration: Option<PathBuf>,
    /// The engine and timing cache folder (`trt/<key>/`).
    pub cache_dir: PathBuf,
    pub profile: Option<Profile>,
}

/// The model's image input: its name and dimensions (`None`: free).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    pub dims: Vec<Option<i64>>,
}

/// The profile for an input with free dimensions: batch 1..`batch`, and `size`
/// (`[height, width]`) for a free height or width. `None` when every dimension is fixed.
pub fn profile(input: &Input, batch: usize, size: [u32; 2]) -> Option<Profile> {
    if input.dims.len() != 4 || input.dims.iter().all(Option::is_some) {
        return None;
    }
    let fixed = |i: usize, v: i64| input.dims[i].unwrap_or(v);
    let shape = |n: i64| {
        format!(
            "{}:{}x{}x{}x{}",
            input.name,
            fixed(0, n),
            fixed(1, 3),
            fixed(2, size[0] as i64),
            fixed(3, size[1] as i64)
        )
    };
    let batch = batch.max(1) as i64;
    Some(Profile {
        min: shape(1),
        opt: shape(batch),
        max: shape(batch),
    })
}

/// The cache folder's name: a digest of everything an engine depends on.
pub fn cache_key(
    model_sha256: &str,
    gpu: &str,
    trt_version: &str,
    precision: Precision,
    profile: Option<&Profile>,
    calibration_sha256: Option<&str>,
) -> String {
    let text = key_text(
        model_sha256,
        gpu,
        trt_version,
        precision,
        profile,
        calibration_sha256,
    );
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// The key in words, written beside the engine (`key.txt`).
pub fn key_text(
    model_sha256: &str,
    gpu: &str,
    trt_version: &str,
    precision: Precision,
    profile: Option<&Profile>,
    calibration_sha256: Option<&str>,
) -> String {
    format!(
        "model sha256 {model_sha256}\ngpu {gpu}\ntensorrt {trt_version}\nprecision {}\nprofile {}\n{}",
        precision.name(),
        profile.map_or("fixed".to_string(), |p| format!(
            "min {} opt {} max {}",
            p.min, p.opt, p.max
        )),
        calibration_sha256.map_or(String::new(), |c| format!("calibration sha256 {c}\n"))
    )
}

/// Whether a cache folder holds a built engine already.
pub fn has_engine(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".engine"))
    })
}

/// TensorRT's version from its library (`getInferLibVersion`, e.g. 100300 for 10.3.0),
/// else from the file name the library resolves to (`libnvinfer.so.10.3.0`).
pub fn version(libnvinfer: &Path) -> Option<String> {
    let c = std::ffi::CString::new(libnvinfer.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: dlopen of TensorRT's library and a call of its exported C function
    // `int32_t getInferLibVersion()`.
    let from_call = unsafe {
        let h = libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        if h.is_null() {
            None
        } else {
            let f = libc::dlsym(h, c"getInferLibVersion".as_ptr());
            (!f.is_null()).then(|| {
                let f: unsafe extern "C" fn() -> i32 = std::mem::transmute(f);
                f()
            })
        }
    };
    if let Some(v) = from_call.filter(|v| *v > 0) {
        // 10.x and later: MMmmpp (major*10000); earlier: Mmmpp (major*1000).
        let (major, rest) = if v >= 100_000 {
            (v / 10_000, v % 10_000)
        } else {
            (v / 1000, v % 1000)
        };
        return Some(format!("{major}.{}.{}", rest / 100, rest % 100));
    }
    let real = std::fs::canonicalize(libnvinfer).ok()?;
    let name = real.file_name()?.to_string_lossy().into_owned();
    name.split_once(".so.").map(|(_, v)| v.to_string())
}

/// The provider's settings for a model: the cache folder for its key (created, with the
/// key in words in `key.txt`), and the profile. Says on stderr when no engine is there
/// yet, since building one takes a while.
#[allow(clippy::too_many_arguments)]
pub fn options(
    home: &crate::home::Home,
    facts: &crate::backend::Facts,
    device: u32,
    model_sha256: &str,
    onnx: &Path,
    batch: usize,
    size: [u32; 2],
    precision: Precision,
    calibration: Option<(&Path, &str)>,
) -> Result<TrtOptions> {
    let gpu = facts
        .driver
        .driver()
        .and_then(|d| d.gpus.get(device as usize))
        .map_or_else(|| format!("GPU {device}"), |g| g.name.clone());
    let trt_version = facts
        .deps
        .iter()
        .find(|d| d.soname.starts_with("libnvinfer.so"))
        .and_then(|d| d.found.as_deref())
        .and_then(version)
        .unwrap_or_else(|| "unknown".to_string());
    let profile = match model_input(onnx) {
        Ok(input) => profile(&input, batch, size),
        Err(e) => {
            tracing::debug!("no TensorRT shape profile: {e:#}");
            None
        }
    };
    let calibration_sha = calibration.map(|c| c.1);
    let key = cache_key(
        model_sha256,
        &gpu,
        &trt_version,
        precision,
        profile.as_ref(),
        calibration_sha,
    );
    let dir = home.trt_dir().join(key);
    crate::home::Home::ensure_dir(&dir)?;
    let _ = std::fs::write(
        dir.join("key.txt"),
        key_text(
            model_sha256,
            &gpu,
            &trt_version,
            precision,
            profile.as_ref(),
            calibration_sha,
        ),
    );
    let calibration = match calibration {
        Some((table, _)) => {
            let to = dir.join(CALIBRATION_TABLE);
            std::fs::copy(table, &to).with_context(|| {
                format!("cannot copy the calibration table to {}", to.display())
            })?;
            Some(to)
        }
        None => None,
    };
    if !has_engine(&dir) {
        crate::progress::note(&format!(
            "TensorRT {trt_version} is building an engine for this model on {gpu} at {} \
             (once per model, GPU, TensorRT version, precision and batch; it can take minutes); \
             it is kept in {}",
            precision.name(),
            dir.display()
        ));
    }
    Ok(TrtOptions {
        precision,
        calibration,
        cache_dir: dir,
        profile,
    })
}

/// Reads the model's first graph input that is not an initializer.
pub fn model_input(onnx: &Path) -> Result<Input> {
    let bytes = std::fs::read(onnx).map_err(|e| anyhow!("cannot read {}: {e}", onnx.display()))?;
    input_from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", onnx.display()))
}

/// One protobuf field: its number and value.
pub(crate) enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

pub(crate) fn varint(b: &[u8], at: &mut usize) -> Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at).ok_or_else(|| anyhow!("a truncated ONNX file"))?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    bail!("a damaged ONNX file (a varint is too long)")
}

/// One top-level protobuf field: its number, the bytes of the whole field, and those of
/// its payload (a varint's bytes, a fixed value's, or a length-delimited field's contents).
pub(crate) struct Span {
    pub num: u64,
    wire: u64,
    pub whole: std::ops::Range<usize>,
    pub payload: std::ops::Range<usize>,
}

/// The fields of one protobuf message, where they lie in `b`.
pub(crate) fn spans(b: &[u8]) -> Result<Vec<Span>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < b.len() {
        let start = at;
        let key = varint(b, &mut at)?;
        let (num, wire) = (key >> 3, key & 7);
        let from = at;
        match wire {
            0 => {
                varint(b, &mut at)?;
            }
            1 => at += 8,
            5 => at += 4,
            2 => {
                let len = varint(b, &mut at)? as usize;
                let payload = at;
                at = at
                    .checked_add(len)
                    .filter(|&e| e <= b.len())
                    .ok_or_else(|| anyhow!("a truncated ONNX file"))?;
                out.push(Span {
                    num,
                    wire,
                    whole: start..at,
                    payload: payload..at,
                });
                continue;
            }
            _ => bail!("not an ONNX model (protobuf wire type {wire})"),
        }
        if at > b.len() {
            bail!("a truncated ONNX file");
        }
        out.push(Span {
            num,
            wire,
            whole: start..at,
            payload: from..at,
        });
    }
    Ok(out)
}

/// The fields of one protobuf message.
pub(crate) fn fields(b: &[u8]) -> Result<Vec<(u64, Field<'_>)>> {
    spans(b)?
        .into_iter()
        .map(|s| {
            let field = match s.wire {
                0 => {
                    let mut at = s.payload.start;
                    Field::Varint(varint(b, &mut at)?)
                }
                2 => Field::Bytes(&b[s.payload]),
                _ => Field::Fixed,
            };
            Ok((s.num, field))
        })
        .collect()
}

pub(crate) fn bytes_of<'a, 'f>(
    fs: &'f [(u64, Field<'a>)],
    num: u64,
) -> impl Iterator<Item = &'a [u8]> + 'f {
    fs.iter().filter_map(move |(n, f)| match f {
        Field::Bytes(b) if *n == num => Some(*b),
        _ => None,
    })
}

pub(crate) fn string_of(fs: &[(u64, Field<'_>)], num: u64) -> Option<String> {
    bytes_of(fs, num)
        .next()
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// ModelProto.graph (7) → GraphProto.input (11) → ValueInfoProto { name (1), type (2) →
/// TypeProto.tensor_type (1) → shape (2) → dim (1) { dim_value (1) | dim_param (2) } };
/// GraphProto.initializer (5) → TensorProto.name (8).
fn input_from_bytes(b: &[u8]) -> Result<Input> {
    let model = fields(b)?;
    let graph = bytes_of(&model, 7)
        .next()
        .ok_or_else(|| anyhow!("not an ONNX model (no graph)"))?;
    let graph = fields(graph)?;
    let initializers: Vec<String> = bytes_of(&graph, 5)
        .filter_map(|t| fields(t).ok().and_then(|f| string_of(&f, 8)))
        .collect();
    for value_info in bytes_of(&graph, 11) {
        let vi = fields(value_info)?;
        let name = string_of(&vi, 1).unwrap_or_default();
        if initializers.contains(&name) {
            continue;
        }
        let mut dims = Vec::new();
        if let Some(ty) = bytes_of(&vi, 2).next() {
            let ty = fields(ty)?;
            if let Some(tensor) = bytes_of(&ty, 1).next() {
                let tensor = fields(tensor)?;
                if let Some(shape) = bytes_of(&tensor, 2).next() {
                    for dim in bytes_of(&fields(shape)?, 1) {
                        let d = fields(dim)?;
                        dims.push(d.iter().find_map(|(n, f)| match f {
                            Field::Varint(v) if *n == 1 && *v as i64 > 0 => Some(*v as i64),
                            _ => None,
                        }));
                    }
                }
            }
        }
        return Ok(Input { name, dims });
    }
    bail!("the model's graph has no input")
}

/// The ONNX models under `tests/models` (at least one), for unit tests that read models.
#[cfg(test)]
pub(crate) fn test_models() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models");
    let models: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
        .collect();
    assert!(!models.is_empty(), "no .onnx file in {}", dir.display());
    models
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_input_of_the_test_models() {
        for p in test_models() {
            let input = model_input(&p).unwrap();
            assert!(!input.name.is_empty(), "{}", p.display());
            assert_eq!(input.dims.len(), 4, "{}: {input:?}", p.display());
        }
        assert!(input_from_bytes(b"\x08\x07").is_err());
        assert!(input_from_bytes(b"not a model at all").is_err());
    }

    #[test]
    fn a_free_batch_gets_a_profile_up_to_the_batch_size() {
        let input = Input {
            name: "images".into(),
            dims: vec![None, Some(3), None, None],
        };
        let p = profile(&input, 8, [480, 640]).unwrap();
        assert_eq!(p.min, "images:1x3x480x640");
        assert_eq!(p.opt, "images:8x3x480x640");
        assert_eq!(p.max, "images:8x3x480x640");
        let fixed = Input {
            name: "images".into(),
            dims: vec![Some(1), Some(3), Some(640), Some(640)],
        };
        assert_eq!(profile(&fixed, 8, [640, 640]), None);
    }

    #[test]
    fn the_cache_key_changes_with_everything_an_engine_depends_on() {
        let p = Profile {
            min: "i:1x3x640x640".into(),
            opt: "i:4x3x640x640".into(),
            max: "i:4x3x640x640".into(),
        };
        let (fp16, int8, h200, v) = (Precision::Fp16, Precision::Int8, "NVIDIA H200", "10.13.0");
        let base = cache_key("ab", h200, v, fp16, Some(&p), None);
        assert_eq!(base.len(), 16);
        assert_eq!(base, cache_key("ab", h200, v, fp16, Some(&p), None));
        let others = [
            cache_key("cd", h200, v, fp16, Some(&p), None),
            cache_key("ab", "NVIDIA H100", v, fp16, Some(&p), None),
            cache_key("ab", h200, "10.14.1", fp16, Some(&p), None),
            cache_key("ab", h200, v, Precision::Fp32, Some(&p), None),
            cache_key("ab", h200, v, fp16, None, None),
            cache_key("ab", h200, v, int8, Some(&p), Some("c1")),
            // A calibration table changes the key whatever the precision says.
            cache_key("ab", h200, v, fp16, Some(&p), Some("c1")),
        ];
        for other in others {
            assert_ne!(base, other);
        }
        // INT8 engines differ by their calibration table.
        assert_ne!(
            cache_key("ab", h200, v, int8, Some(&p), Some("c1")),
            cache_key("ab", h200, v, int8, Some(&p), Some("c2"))
        );
    }
}
