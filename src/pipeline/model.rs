//! The model as the pipeline sees it: a [`Model`] runs a batch and gives its first
//! output, and an [`EngineSlot`] holds it, loaded up front or on the first batch that
//! needs it (a run answered entirely from the cache never loads one).
//!
//! ONNX Runtime's session ([`crate::engine::Engine`]) is the model of every real run; the
//! pipeline's unit tests run a fake one, so the stages are tested without ONNX Runtime.

use anyhow::{Result, anyhow};

use crate::backend::Kind;
use crate::engine::{Engine, OutputTo};

/// What the executor needs of a model. Shapes are `[n, 3, h, w]` in and `[n, a, b]` out
/// (the head's first output).
pub trait Model: Send {
    /// Where it runs: on a GPU backend, batches are page-locked and the GPU letterbox may
    /// write them where the model reads them.
    fn backend(&self) -> Kind;
    /// The GPU it runs on, for a GPU backend.
    fn device(&self) -> u32;
    /// The last input shape run, with its output's shape, kept from run to run so that a
    /// run's first batch can be written straight where its output goes.
    fn last_shapes(&self) -> Option<([usize; 4], [usize; 3])>;
    fn set_last_shapes(&mut self, shapes: Option<([usize; 4], [usize; 3])>);
    /// Runs a batch in host memory; the output is copied into `out`.
    fn run(&mut self, input: &[f32], shape: [usize; 4], out: &mut Vec<f32>) -> Result<[usize; 3]>;
    /// Runs a batch in host memory with the output written straight into `out`, for an
    /// output of shape `dims` known from an earlier run of this input shape.
    fn run_into(
        &mut self,
        input: &[f32],
        shape: [usize; 4],
        out: &mut [f32],
        dims: [usize; 3],
    ) -> Result<[usize; 3]>;
    /// Runs a batch already on GPU `device` at `ptr`.
    ///
    /// # Safety
    /// `ptr` must point to at least `n·3·h·w` `f32`s on GPU `device`, valid and not
    /// written to until this returns.
    unsafe fn run_on_gpu(
        &mut self,
        ptr: u64,
        device: u32,
        shape: [usize; 4],
        out: OutputTo,
    ) -> Result<[usize; 3]>;
}

impl Model for Engine {
    fn backend(&self) -> Kind {
        self.backend
    }

    fn device(&self) -> u32 {
        self.device
    }

    fn last_shapes(&self) -> Option<([usize; 4], [usize; 3])> {
        self.last_shapes
    }

    fn set_last_shapes(&mut self, shapes: Option<([usize; 4], [usize; 3])>) {
        self.last_shapes = shapes;
    }

    fn run(&mut self, input: &[f32], shape: [usize; 4], out: &mut Vec<f32>) -> Result<[usize; 3]> {
        Engine::run(self, input, shape, out)
    }

    fn run_into(
        &mut self,
        input: &[f32],
        shape: [usize; 4],
        out: &mut [f32],
        dims: [usize; 3],
    ) -> Result<[usize; 3]> {
        Engine::run_into(self, input, shape, out, dims)
    }

    unsafe fn run_on_gpu(
        &mut self,
        ptr: u64,
        device: u32,
        shape: [usize; 4],
        out: OutputTo,
    ) -> Result<[usize; 3]> {
        // SAFETY: the caller's promise, passed on.
        unsafe { Engine::run_on_gpu(self, ptr, device, shape, out) }
    }
}

/// The model, loaded now or on first need.
pub enum EngineSlot<'a, M: Model = Engine> {
    Loaded(M),
    Lazy(Box<dyn FnOnce() -> Result<M> + Send + 'a>),
    Unavailable,
}

impl<M: Model> EngineSlot<'_, M> {
    /// The model, loading it first if needed.
    pub fn get(&mut self) -> Result<&mut M> {
        if let EngineSlot::Lazy(_) = self {
            let EngineSlot::Lazy(load) = std::mem::replace(self, EngineSlot::Unavailable) else {
                unreachable!()
            };
            *self = EngineSlot::Loaded(load()?);
        }
        match self {
            EngineSlot::Loaded(e) => Ok(e),
            _ => Err(anyhow!("the model could not be loaded")),
        }
    }

    pub fn is_loaded(&self) -> bool {
        matches!(self, EngineSlot::Loaded(_))
    }
}
