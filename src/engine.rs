//! The model as ONNX Runtime runs it, and what anylabel knows about it.
//!
//! [`Engine::load`] opens the ONNX file, checks that its input is an image batch and reads
//! what the file says about itself into [`ModelFacts`] (a model whose output shape
//! depends on the input size is run once on a blank input to learn it). The facts are
//! kept in the result cache, so a later run whose images are all cached never loads the
//! model. [`ModelInfo::new`] combines the facts with the model config into what a run uses
//! (class names, the output head); everything that can be wrong with a model is found
//! there or in `load`, before any image is read.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{TensorElementType, TensorRef, ValueType};
use serde::{Deserialize, Serialize};

use crate::backend::{Kind, Reason, Skip};
use crate::head::{Head, HeadHints, fmt_shape};
use crate::model::{ModelSource, parse_metadata_names};
use crate::trt::{Precision, TrtOptions};

/// How to run the session.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Intra-op threads; 0 lets ONNX Runtime choose (one per physical core).
    pub threads: usize,
    /// The backends to try, in order ([`crate::backend::plan`]); empty: the CPU. Where one
    /// of several fails to start, the next is tried and the failure kept in
    /// [`Engine::failed`]; where the last (or only) one fails, that is the error.
    pub backends: Vec<Kind>,
    /// The GPU (`--device`).
    pub device: u32,
    /// The TensorRT provider's settings, for [`Kind::Trt`].
    pub trt: Option<TrtOptions>,
}

/// A dimension of the model's input: fixed by the model, or free.
pub type Dim = Option<usize>;

/// What an ONNX detection model says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFacts {
    /// `[batch, height, width]` of the input as the model declares them.
    pub input_dims: [Dim; 3],
    /// The first output's shape: declared, or seen on a probe run when it depends on the
    /// input size.
    pub output_shape: Vec<Dim>,
    /// Ultralytics metadata: `names`, `imgsz`, `end2end`, `task`.
    pub names: Option<Vec<String>>,
    pub imgsz: Option<[u32; 2]>,
    pub end2end: Option<bool>,
    pub task: Option<String>,
}

/// The model as one run uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// `name@sha256:<16 hex>`, written into every record.
    pub id: String,
    pub sha256: String,
    pub input_dims: [Dim; 3],
    /// From the config, else the metadata, filled up to the head's class count.
    pub class_names: Vec<String>,
    pub head: Head,
    /// Whether the model config made the head other than the model file alone gives:
    /// results are then another set, kept apart in the cache.
    pub head_from_config: bool,
}

impl ModelInfo {
    /// Combines the file's facts with the config; fails for models we cannot label with.
    pub fn new(facts: &ModelFacts, source: &ModelSource, sha256: &str) -> Result<ModelInfo> {
        let path = source.onnx.display();
        if let Some(task) = facts.task.as_deref()
            && task != "detect"
            && task != "segment"
        {
            bail!(
                "model {path} is an Ultralytics '{task}' model; anylabel labels with detection models (task 'detect')"
            );
        }
        let config = source.config.as_ref();
        let mut class_names = config
            .and_then(|c| c.classes.as_ref())
            .map(|c| c.names())
            .or_else(|| facts.names.clone())
            .unwrap_or_default();
        let hints = HeadHints {
            model_type: config
                .and_then(|c| c.model_type.as_ref())
                .map(|t| t.to_lowercase()),
            classes: (!class_names.is_empty()).then_some(class_names.len()),
            end2end: facts.end2end,
        };
        let head = Head::recognise(&facts.output_shape, &hints)
            .map_err(|e| anyhow!("the model's output is not a detection head we know: {e}"))?;
        // The head the model file alone gives (its shape and metadata); a config's `type`
        // may read the output otherwise ([B, N, 6]: YOLOv5 or NMS-free).
        let natural = Head::recognise(
            &facts.output_shape,
            &HeadHints {
                model_type: None,
                classes: facts.names.as_ref().map(Vec::len).filter(|&n| n > 0),
                end2end: facts.end2end,
            },
        )
        .ok();
        if let Some(n) = head.classes() {
            if class_names.len() > n {
                tracing::warn!(
                    "{} class names are given but the model scores {n} classes; the extra names are ignored",
                    class_names.len()
                );
                class_names.truncate(n);
            }
            for i in class_names.len()..n {
                class_names.push(format!("class_{i}"));
            }
        }
        Ok(ModelInfo {
            id: format!("{}@sha256:{}", source.name, &sha256[..16]),
            sha256: sha256.to_string(),
            input_dims: facts.input_dims,
            class_names,
            head,
            head_from_config: natural != Some(head),
        })
    }

    /// The batch size the model takes: its fixed one, or `wanted`.
    pub fn batch_size(&self, wanted: usize) -> usize {
        self.input_dims[0].unwrap_or(wanted.max(1))
    }

    /// The input size `[height, width]` to use: the model's fixed one (an explicit size
    /// that differs is an error), else `wanted`, else 640.
    pub fn input_size(&self, wanted: Option<[u32; 2]>) -> Result<[u32; 2]> {
        match (self.input_dims[1], self.input_dims[2], wanted) {
            (Some(h), Some(w), Some([wh, ww])) if (h as u32, w as u32) != (wh, ww) => bail!(
                "the model's input is fixed at {w}×{h}; it cannot run at {ww}×{wh} (leave out --imgsz)"
            ),
            (Some(h), Some(w), _) => Ok([h as u32, w as u32]),
            (h, w, wanted) => {
                let [wh, ww] = wanted.unwrap_or([640, 640]);
                Ok([h.map_or(wh, |v| v as u32), w.map_or(ww, |v| v as u32)])
            }
        }
    }

    /// The name of class `id`.
    pub fn label(&self, id: u32) -> String {
        self.class_names
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| format!("class_{id}"))
    }
}

/// What starting the engine on its backend needs, besides the model's path.
#[derive(Clone)]
pub struct Start {
    pub request: crate::backend::Request,
    pub precision: Precision,
    /// With INT8: the calibration images (`--calib`).
    pub calib: Option<std::path::PathBuf>,
    pub threads: usize,
    pub batch: usize,
    /// The input size for a TensorRT profile where the model's is free.
    pub size_hint: [u32; 2],
    pub sha256: String,
}

/// Loads ONNX Runtime for the backend asked for (unless it is loaded), plans, and starts
/// the model on the first backend that starts. The engine's `failed` lists every backend
/// passed over. A run that starts the engine lazily, at its first cache miss, has loaded
/// ONNX Runtime before it began ([`crate::infer::Model::engine`]), so this never finds or
/// installs it in the middle of a run.
pub fn start(
    st: &Start,
    home: &crate::home::Home,
    offline: bool,
    onnx: &Path,
) -> Result<(Engine, ModelFacts)> {
    let started = st.request.start(home, offline)?;
    let trt = if started.plan.candidates.contains(&Kind::Trt) {
        // INT8 needs its calibration table before TensorRT builds the engine (made on the
        // CPU, once per model, size and image set).
        let calibration = match (st.precision, &st.calib) {
            (Precision::Int8, Some(dir)) => Some(crate::calib::table_for(
                started.env,
                &home.trt_dir().join("calib"),
                &st.sha256,
                onnx,
                dir,
                st.size_hint,
            )?),
            (Precision::Int8, None) => {
                bail!("--precision int8 needs --calib DIR, a folder of images to calibrate on")
            }
            _ => None,
        };
        Some(crate::trt::options(
            home,
            &started.facts,
            st.request.device,
            &st.sha256,
            onnx,
            st.batch,
            st.size_hint,
            st.precision,
            calibration.as_ref().map(|(p, s)| (p.as_path(), s.as_str())),
        )?)
    } else {
        None
    };
    let opts = EngineOptions {
        threads: st.threads,
        backends: started.plan.candidates.clone(),
        device: st.request.device,
        trt,
    };
    let (mut engine, facts) = Engine::load(started.env, onnx, &opts)?;
    let mut skipped = started.plan.skipped;
    skipped.append(&mut engine.failed);
    engine.failed = skipped;
    tracing::debug!(
        "backend {} (asked for {}{})",
        engine.backend,
        st.request.wanted.name(),
        if engine.backend == Kind::Cpu {
            String::new()
        } else {
            format!(", device {}", st.request.device)
        }
    );
    Ok((engine, facts))
}

fn dims(shape: &[i64]) -> Vec<Dim> {
    shape
        .iter()
        .map(|&d| (d > 0).then_some(d as usize))
        .collect()
}

/// A loaded ONNX Runtime session.
pub struct Engine {
    session: Session,
    /// The backend it runs on.
    pub backend: Kind,
    /// The GPU it runs on, for a GPU backend (`--device`).
    pub device: u32,
    /// Backends tried before it that ONNX Runtime could not start.
    pub failed: Vec<Skip>,
    /// The last input shape a pipeline ran, with its output's shape: the next run in this
    /// process writes its first batch's output straight where it goes, as the runs after
    /// the first of a run do.
    pub last_shapes: Option<([usize; 4], [usize; 3])>,
}

impl Engine {
    /// Loads the model, checks that its input is an image batch, and reads its facts.
    pub fn load(
        env: &ort::environment::Environment,
        path: &Path,
        opts: &EngineOptions,
    ) -> Result<(Engine, ModelFacts)> {
        let (session, backend, failed) = start_session(env, path, opts)?;
        let [input] = session.inputs() else {
            bail!(
                "model {} has {} inputs; a detection model has one image input",
                path.display(),
                session.inputs().len()
            );
        };
        let ValueType::Tensor { ty, shape, .. } = input.dtype() else {
            bail!(
                "model {}: input {} is not a tensor",
                path.display(),
                input.name()
            );
        };
        let in_dims = dims(shape);
        if *ty != TensorElementType::Float32 {
            bail!(
                "model {}: input {} is {ty:?}; anylabel feeds float32 images (export the model without half precision or int8 input)",
                path.display(),
                input.name()
            );
        }
        if in_dims.len() != 4 || in_dims[1].is_some_and(|c| c != 3) {
            bail!(
                "model {}: input {} has shape {}; expected an image batch [batch, 3, height, width]",
                path.display(),
                input.name(),
                fmt_shape(&in_dims)
            );
        }
        let declared = match session.outputs().first().map(|o| o.dtype()) {
            Some(ValueType::Tensor {
                ty: TensorElementType::Float32,
                shape,
                ..
            }) => dims(shape),
            Some(other) => bail!(
                "model {}: its first output is {other:?}, not a float32 tensor",
                path.display()
            ),
            None => bail!("model {} has no outputs", path.display()),
        };
        let metadata: std::collections::HashMap<String, String> = match session.metadata() {
            Ok(m) => ["task", "names", "imgsz", "end2end"]
                .iter()
                .filter_map(|k| m.custom(k).map(|v| (k.to_string(), v)))
                .collect(),
            Err(_) => Default::default(),
        };
        let mut engine = Engine {
            session,
            backend,
            device: opts.device,
            failed,
            last_shapes: None,
        };
        let input_dims = [in_dims[0], in_dims[2], in_dims[3]];
        // A detection head's shape that is not known until the model runs: probe it.
        let output_shape = if declared.len() == 3 && declared[1..].iter().any(Option::is_none) {
            let (h, w) = (input_dims[1].unwrap_or(640), input_dims[2].unwrap_or(640));
            let n = input_dims[0].unwrap_or(1);
            let probe = vec![0f32; n * 3 * h * w];
            let mut out = Vec::new();
            engine
                .run_raw(&probe, [n, 3, h, w], &mut out)?
                .into_iter()
                .map(Some)
                .collect()
        } else {
            declared
        };
        let facts = ModelFacts {
            input_dims,
            output_shape,
            names: metadata.get("names").and_then(|n| parse_metadata_names(n)),
            imgsz: metadata.get("imgsz").and_then(|s| {
                let v: Vec<u32> = serde_json::from_str(s).ok()?;
                match v.as_slice() {
                    [h, w] => Some([*h, *w]),
                    [s] => Some([*s, *s]),
                    _ => None,
                }
            }),
            end2end: metadata
                .get("end2end")
                .map(|v| v.eq_ignore_ascii_case("true")),
            task: metadata.get("task").cloned(),
        };
        Ok((engine, facts))
    }

    /// Runs one batch (`input` holds `shape` = `[n, 3, h, w]` values) and copies the first
    /// output into `out`, returning its shape.
    pub fn run(
        &mut self,
        input: &[f32],
        shape: [usize; 4],
        out: &mut Vec<f32>,
    ) -> Result<[usize; 3]> {
        head_dims(self.run_raw(input, shape, out)?)
    }

    /// [`Engine::run`] with the first output written by ONNX Runtime straight into `out`,
    /// for an output of shape `dims` (known from an earlier run of this input shape).
    pub fn run_into(
        &mut self,
        input: &[f32],
        shape: [usize; 4],
        out: &mut [f32],
        dims: [usize; 3],
    ) -> Result<[usize; 3]> {
        if input.len() < shape.iter().product() {
            bail!("a batch of {} values for shape {shape:?}", input.len());
        }
        // SAFETY: `input` holds the whole batch in host memory, and is only read.
        unsafe {
            self.run_bound(
                ort::memory::MemoryInfo::default(),
                input.as_ptr().cast_mut().cast(),
                shape,
                OutputTo::Into(out, dims),
            )
        }
    }

    /// [`Engine::run`] for a batch already on the GPU: `ptr` is a `CUdeviceptr` to
    /// `shape` = `[n, 3, h, w]` `f32` values on GPU `device`, written and synchronised
    /// (our letterbox, [`crate::gpu::letterbox`]). ONNX Runtime reads it where it is
    /// through I/O binding, with no copy through the host; the output comes back to `out`.
    /// Only for an engine on a GPU backend.
    ///
    /// # Safety
    /// `ptr` must point to at least `n·3·h·w` `f32`s on GPU `device`, valid and not
    /// written to until this returns.
    pub unsafe fn run_on_gpu(
        &mut self,
        ptr: u64,
        device: u32,
        shape: [usize; 4],
        out: OutputTo,
    ) -> Result<[usize; 3]> {
        use ort::memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType};
        if self.backend == Kind::Cpu {
            bail!("a batch on the GPU cannot run on the CPU backend");
        }
        let info = MemoryInfo::new(
            AllocationDevice::CUDA,
            device as i32,
            AllocatorType::Device,
            MemoryType::Default,
        )
        .map_err(|e| anyhow!("ONNX Runtime I/O binding: CUDA memory info: {e}"))?;
        // SAFETY: the caller's promise.
        unsafe { self.run_bound(info, ptr as usize as *mut std::ffi::c_void, shape, out) }
    }

    /// Runs one batch that lies at `ptr`, in the memory `info` describes, through I/O
    /// binding (the model's input bound to it, its first output to host memory), its first
    /// output copied into `out` or written there by ONNX Runtime ([`OutputTo`]).
    /// [`Engine::run_on_gpu`] uses it for a batch on the GPU; the pipeline for a host batch
    /// whose output shape is known; on host memory it is [`Engine::run`] by another road,
    /// which is how the tests check the binding on machines without a GPU.
    ///
    /// # Safety
    /// `ptr` must point to at least `n·3·h·w` `f32`s in the memory `info` names, valid and
    /// not written to until this returns.
    pub unsafe fn run_bound(
        &mut self,
        info: ort::memory::MemoryInfo,
        ptr: *mut std::ffi::c_void,
        shape: [usize; 4],
        out: OutputTo,
    ) -> Result<[usize; 3]> {
        use ort::memory::MemoryInfo;
        use ort::value::{Shape, TensorRefMut};
        let err = |what: &str, e: ort::Error| anyhow!("ONNX Runtime I/O binding: {what}: {e}");
        // SAFETY: the caller's promise: `ptr` holds the whole batch where `info` says.
        let tensor = unsafe {
            TensorRefMut::<f32>::from_raw(info, ptr, Shape::from(shape.map(|d| d as i64)))
        }
        .map_err(|e| err("the input tensor", e))?;
        let input = self.session.inputs()[0].name().to_string();
        let output = self.session.outputs()[0].name().to_string();
        tracing::trace!("I/O binding: input {input}, output {output}");
        let mut binding = self
            .session
            .create_binding()
            .map_err(|e| err("create", e))?;
        // Through the C API, not `IoBinding::bind_input`: for a borrowed tensor already on
        // the session's device, the `ort` crate first clones it through a session of its
        // own, which deadlocked on an H200 (the run never returned). ONNX Runtime itself
        // reads the tensor where it is; `tensor` lives until the run is over.
        let name = std::ffi::CString::new(input).map_err(|e| anyhow!("input name: {e}"))?;
        let api = ort::api();
        // SAFETY: both pointers come from live `ort` objects; the name is NUL-terminated.
        check_status(
            unsafe {
                use ort::AsPointer;
                (api.BindInput)(binding.ptr_mut(), name.as_ptr(), tensor.ptr())
            },
            "bind the input",
        )?;
        match out {
            OutputTo::Copy(out) => {
                binding
                    .bind_output_to_device(output, &MemoryInfo::default())
                    .map_err(|e| err("bind the output", e))?;
                tracing::trace!("I/O binding: bound; running");
                let outputs = self
                    .session
                    .run_binding(&binding)
                    .map_err(|e| anyhow!("ONNX Runtime failed to run the model: {e}"))?;
                head_dims(first_output(&outputs, out)?)
            }
            OutputTo::Into(out, dims) => {
                let len: usize = dims.iter().product();
                if out.len() < len {
                    bail!(
                        "ONNX Runtime I/O binding: an output buffer of {} values for an output of {len}",
                        out.len()
                    );
                }
                // SAFETY: `out` holds the whole output and outlives the run below.
                let target = unsafe {
                    TensorRefMut::<f32>::from_raw(
                        MemoryInfo::default(),
                        out.as_mut_ptr().cast(),
                        Shape::from(dims.map(|d| d as i64)),
                    )
                }
                .map_err(|e| err("the output tensor", e))?;
                let name =
                    std::ffi::CString::new(output).map_err(|e| anyhow!("output name: {e}"))?;
                // Through the C API too: `IoBinding::bind_output` takes only tensors it
                // allocated. Bound this way, the output is not among the run's returned
                // values: ONNX Runtime writes it into `out`, and nothing copies it again.
                // SAFETY: as for the input.
                check_status(
                    unsafe {
                        use ort::AsPointer;
                        (api.BindOutput)(binding.ptr_mut(), name.as_ptr(), target.ptr())
                    },
                    "bind the output",
                )?;
                tracing::trace!("I/O binding: bound, output into the caller's buffer; running");
                self.session
                    .run_binding(&binding)
                    .map_err(|e| anyhow!("ONNX Runtime failed to run the model: {e}"))?;
                drop(target);
                Ok(dims)
            }
        }
    }

    /// [`Engine::run`] for an output of any rank.
    fn run_raw(
        &mut self,
        input: &[f32],
        shape: [usize; 4],
        out: &mut Vec<f32>,
    ) -> Result<Vec<usize>> {
        let tensor = TensorRef::from_array_view((shape.map(|d| d as i64), input))
            .map_err(|e| anyhow!("cannot pass the batch to ONNX Runtime: {e}"))?;
        let outputs = self
            .session
            .run(ort::inputs![tensor])
            .map_err(|e| anyhow!("ONNX Runtime failed to run the model: {e}"))?;
        first_output(&outputs, out)
    }
}

/// Where [`Engine::run_bound`] puts the model's first output.
pub enum OutputTo<'a> {
    /// Copied into this vector from where ONNX Runtime put it.
    Copy(&'a mut Vec<f32>),
    /// Written by ONNX Runtime straight into this host buffer (page-locked memory, for a
    /// GPU: one copy down at the bus's speed, and none after), for an output of shape
    /// `dims`, known from an earlier run of the same input shape.
    Into(&'a mut [f32], [usize; 3]),
}

/// An error from a status of ONNX Runtime's C API; the status is released.
fn check_status(status: ort::sys::OrtStatusPtr, what: &str) -> Result<()> {
    if status.0.is_null() {
        return Ok(());
    }
    let api = ort::api();
    // SAFETY: a non-null status from ONNX Runtime, released once.
    let message = unsafe {
        let m = std::ffi::CStr::from_ptr((api.GetErrorMessage)(status.0))
            .to_string_lossy()
            .into_owned();
        (api.ReleaseStatus)(status.0);
        m
    };
    bail!("ONNX Runtime I/O binding: {what}: {message}")
}

/// Copies a run's first output into `out`; its shape.
fn first_output(outputs: &ort::session::SessionOutputs, out: &mut Vec<f32>) -> Result<Vec<usize>> {
    let (shape, data) = outputs[0]
        .try_extract_tensor::<f32>()
        .map_err(|e| anyhow!("the model's output is not a float32 tensor: {e}"))?;
    copy_out(data, out);
    Ok(shape.iter().map(|&v| v.max(0) as usize).collect())
}

/// An output shape as a detection head's three dimensions.
fn head_dims(d: Vec<usize>) -> Result<[usize; 3]> {
    let [a, b, c] = d[..] else {
        bail!(
            "the model's output has shape {:?}; a detection head has 3 dimensions",
            &d
        );
    };
    Ok([a, b, c])
}

/// Copies the model's output into `out`: a batch of 32 on a GPU is 90 MB for a COCO
/// model, which one thread copies in about as long as the GPU takes to run the batch, so
/// large outputs are copied in parallel.
fn copy_out(data: &[f32], out: &mut Vec<f32>) {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 20;
    if data.len() <= 2 * CHUNK {
        out.clear();
        out.extend_from_slice(data);
        return;
    }
    // A recycled buffer of the same length is overwritten as it is, not zeroed first.
    out.resize(data.len(), 0.0);
    out.par_chunks_mut(CHUNK)
        .zip(data.par_chunks(CHUNK))
        .for_each(|(o, d)| o.copy_from_slice(d));
}

/// Starts a session on the first of `opts.backends` that starts.
fn start_session(
    env: &ort::environment::Environment,
    path: &Path,
    opts: &EngineOptions,
) -> Result<(Session, Kind, Vec<Skip>)> {
    let backends = if opts.backends.is_empty() {
        vec![Kind::Cpu]
    } else {
        opts.backends.clone()
    };
    let mut failed = Vec::new();
    for (i, &kind) in backends.iter().enumerate() {
        match build_session(env, path, opts, kind) {
            Ok(session) => return Ok((session, kind, failed)),
            Err(SessionError::Provider(message)) if i + 1 < backends.len() => {
                let reason = Reason::ProviderFailed { kind, message };
                tracing::warn!("backend auto: {kind} skipped: {reason}");
                failed.push(Skip { kind, reason });
            }
            Err(SessionError::Provider(message)) => {
                return Err(anyhow!("{}", Reason::ProviderFailed { kind, message }));
            }
            Err(SessionError::Other(e)) => return Err(e),
        }
    }
    unreachable!("the CPU is always among the backends, or the only one was tried")
}

enum SessionError {
    /// The execution provider did not register: ONNX Runtime's message.
    Provider(String),
    Other(anyhow::Error),
}

/// The execution providers for `kind`, each an error when it does not start. TensorRT
/// comes with CUDA behind it, for the nodes TensorRT does not take.
fn providers(kind: Kind, opts: &EngineOptions) -> Vec<ort::ep::ExecutionProviderDispatch> {
    let device = opts.device as i32;
    let cuda = || {
        ort::ep::CUDA::default()
            .with_device_id(device)
            .build()
            .error_on_failure()
    };
    match kind {
        Kind::Cpu => Vec::new(),
        Kind::Cuda => vec![cuda()],
        Kind::Trt => {
            let mut trt = ort::ep::TensorRT::default().with_device_id(device);
            if let Some(t) = &opts.trt {
                let dir = t.cache_dir.to_string_lossy().into_owned();
                if let Some(table) = &t.calibration {
                    tracing::debug!(
                        "TensorRT INT8 with the calibration table {}",
                        table.display()
                    );
                    trt = trt
                        .with_int8(true)
                        .with_int8_calibration_table_name(crate::trt::CALIBRATION_TABLE)
                        .with_int8_use_native_calibration_table(false);
                }
                trt = trt
                    .with_fp16(matches!(t.precision, Precision::Fp16 | Precision::Int8))
                    .with_engine_cache(true)
                    .with_engine_cache_path(&dir)
                    .with_timing_cache(true)
                    .with_timing_cache_path(&dir);
                if let Some(p) = &t.profile {
                    trt = trt
                        .with_profile_min_shapes(&p.min)
                        .with_profile_opt_shapes(&p.opt)
                        .with_profile_max_shapes(&p.max);
                }
            }
            vec![trt.build().error_on_failure(), cuda()]
        }
    }
}

fn build_session(
    env: &ort::environment::Environment,
    path: &Path,
    opts: &EngineOptions,
    kind: Kind,
) -> Result<Session, SessionError> {
    let err = |e: &dyn std::fmt::Display| {
        SessionError::Other(anyhow!("cannot set up an ONNX Runtime session: {e}"))
    };
    let mut builder = Session::builder(env).map_err(|e| err(&e))?;
    builder = builder
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| err(&e))?;
    if opts.threads > 0 {
        builder = builder
            .with_intra_threads(opts.threads)
            .map_err(|e| err(&e))?;
    }
    if kind != Kind::Cpu {
        // On a GPU the intra-op threads run only the nodes ONNX Runtime leaves to the CPU
        // (shape arithmetic, typically); spinning after each run, as they do by default,
        // they can take cores from the decode threads that feed the GPU. They sleep instead.
        builder = builder.with_intra_op_spinning(false).map_err(|e| err(&e))?;
    }
    let eps = providers(kind, opts);
    if !eps.is_empty() {
        builder = builder
            .with_execution_providers(eps)
            .map_err(|e| SessionError::Provider(e.to_string()))?;
    }

    builder.commit_from_file(path).map_err(|e| {
        let text = e.to_string();
        if kind != Kind::Cpu
            && (text.contains("TensorRT") || text.contains("CUDA") || text.contains("cuda"))
        {
            return SessionError::Provider(text);
        }
        SessionError::Other(
            if text.contains("Protobuf parsing failed")
                || text.contains("INVALID_PROTOBUF")
                || text.contains("Load model")
            {
                anyhow!("{} is not a valid ONNX model: {text}", path.display())
            } else {
                anyhow!("ONNX Runtime cannot load {}: {text}", path.display())
            },
        )
    })
}
