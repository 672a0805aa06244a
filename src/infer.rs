//! `infer` as a library call: the model a run labels with, found and opened from plain
//! options, with the defaults its config and the built-in values give.
//!
//! `infer`, `filter DIR --model`, `preload --model` and `bench infer` all open their model
//! here, so that each takes its settings by the same precedence:
//! - `conf`, `iou`, `agnostic` and the classes kept: the option (the flag, or the config
//!   file's or the environment's value, which the binary makes the flag's default), else
//!   the model config's (`confidence_threshold`, `nms_threshold`, `agnostic`,
//!   `filter_classes`), else the built-in one ([`InferOptions::default`]: 0.25, 0.45,
//!   class-aware NMS, every class);
//! - the input size: the model's own where its input is fixed (a size asked for must be
//!   it), else the option, else the model config's (`input_height`, `input_width`), else
//!   640 ([`ModelInfo::input_size`]).
//!
//! Opening reads the model's facts from the result cache when it has them; the model is
//! then loaded only at the run's first cache miss. ONNX Runtime is found (or installed)
//! and loaded before the run all the same ([`Model::engine`]), so nothing is downloaded
//! in the middle of one.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use anylabel::backend::{Kind, Request, Wanted};
//! let home = anylabel::home::Home::from_env()?;
//! let opts = anylabel::infer::Options::new("nudenet-320n", Request::new(Wanted::Only(Kind::Cpu), 0)?);
//! let mut model = anylabel::infer::find(&opts.model, &home, false)?.open(&opts, &home, false, None)?;
//! let run = anylabel::pipeline::InferOptions {
//!     conf: model.conf,
//!     iou: model.iou,
//!     agnostic: model.agnostic,
//!     classes: model.classes()?,
//!     ..Default::default()
//! };
//! let mut engine = model.engine()?;
//! # let _ = (run, &mut engine);
//! # Ok(())
//! # }
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::backend::Request;
use crate::cache::Cache;
use crate::engine::{self, Engine, ModelFacts, ModelInfo, Start};
use crate::home::Home;
use crate::model::{self, ModelConfig, ModelSource};
use crate::pipeline::{EngineSlot, InferOptions};
use crate::trt::Precision;
use crate::{fetch, runtime};

/// What to label with, as plain values: `infer`'s flags that choose and open the model.
/// `None` (and `false`) leave a setting to the model config, then to the built-in default.
#[derive(Debug, Clone)]
pub struct Options {
    /// A .onnx file, a model config .yaml, or a catalogue name.
    pub model: String,
    /// `[height, width]`.
    pub imgsz: Option<[u32; 2]>,
    pub conf: Option<f32>,
    pub iou: Option<f32>,
    /// Class names or ids to keep.
    pub classes: Option<Vec<String>>,
    /// Class-agnostic NMS; `false` leaves it to the model config.
    pub agnostic: bool,
    /// Images per inference call.
    pub batch: usize,
    /// ONNX Runtime's intra-op threads (0: its choice).
    pub threads: usize,
    /// The backend asked for, the driver probed.
    pub backend: Request,
    /// TensorRT's precision.
    pub precision: Precision,
    /// With INT8: the calibration images.
    pub calib: Option<PathBuf>,
}

impl Options {
    /// `model` on `backend`, everything else at `infer`'s defaults.
    pub fn new(model: impl Into<String>, backend: Request) -> Options {
        Options {
            model: model.into(),
            imgsz: None,
            conf: None,
            iou: None,
            classes: None,
            agnostic: false,
            batch: 1,
            threads: 0,
            backend,
            precision: Precision::Fp32,
            calib: None,
        }
    }
}

/// The settings a run takes from the options, else the model config, else the built-in
/// defaults.
#[derive(Debug, Clone, PartialEq)]
struct Settled {
    conf: f32,
    iou: f32,
    agnostic: bool,
    classes: Option<Vec<String>>,
    /// Before the model's own fixed size is known.
    imgsz: Option<[u32; 2]>,
}

fn settle(opts: &Options, config: &ModelConfig) -> Settled {
    let builtin = InferOptions::default();
    Settled {
        conf: opts
            .conf
            .or(config.confidence_threshold)
            .unwrap_or(builtin.conf),
        iou: opts.iou.or(config.nms_threshold).unwrap_or(builtin.iou),
        agnostic: opts.agnostic || config.agnostic.unwrap_or(builtin.agnostic),
        classes: opts.classes.clone().or(config.filter_classes.clone()),
        imgsz: opts.imgsz.or(config.input_size()),
    }
}

/// A model found (fetched where it is a catalogue name) and hashed, not yet opened.
#[derive(Debug, Clone)]
pub struct Found {
    pub source: ModelSource,
    pub sha256: String,
}

/// Finds `--model`: a file, a config or a catalogue name (fetched unless `offline`). A
/// missing model is reported here, before anything is written or installed.
pub fn find(model: &str, home: &Home, offline: bool) -> Result<Found> {
    let source = model::resolve(model, home, offline)?;
    let sha256 = fetch::sha256_file(&source.onnx)?;
    Ok(Found { source, sha256 })
}

/// The model a run uses, with the settings that apply to it.
pub struct Model {
    pub source: ModelSource,
    pub info: ModelInfo,
    /// The input size, `[height, width]`.
    pub size: [u32; 2],
    pub conf: f32,
    pub iou: f32,
    pub agnostic: bool,
    /// How long loading the model took while it was opened; zero where its facts came
    /// from the cache (it is then loaded at the run's first cache miss, if any).
    pub load_time: Duration,
    classes: Option<Vec<String>>,
    engine: Option<Engine>,
    start: Start,
    home: Home,
    offline: bool,
}

impl Found {
    /// Opens the model: its facts from `cache` when it has them, else from loading it
    /// (and then kept in `cache`); combined with its config and `opts` into the settings
    /// of a run. Everything that can be wrong with the model is found here.
    pub fn open(
        self,
        opts: &Options,
        home: &Home,
        offline: bool,
        cache: Option<&Cache>,
    ) -> Result<Model> {
        let config = self.source.config.clone().unwrap_or_default();
        let settled = settle(opts, &config);
        let start = Start {
            request: opts.backend.clone(),
            precision: opts.precision,
            calib: opts.calib.clone(),
            threads: opts.threads,
            batch: opts.batch,
            size_hint: settled.imgsz.unwrap_or([640, 640]),
            sha256: self.sha256.clone(),
        };
        let t = Instant::now();
        let (facts, engine) = model_facts(&self.source, &start, cache, home, offline)?;
        let load_time = if engine.is_some() {
            t.elapsed()
        } else {
            Duration::ZERO
        };
        let info = ModelInfo::new(&facts, &self.source, &self.sha256)?;
        let size = info.input_size(settled.imgsz)?;
        Ok(Model {
            source: self.source,
            info,
            size,
            conf: settled.conf,
            iou: settled.iou,
            agnostic: settled.agnostic,
            load_time,
            classes: settled.classes,
            engine,
            start,
            home: home.clone(),
            offline,
        })
    }
}

impl Model {
    /// The class ids to keep (the option's, else the config's `filter_classes`), or an
    /// error that lists the model's classes.
    pub fn classes(&self) -> Result<Option<Vec<u32>>> {
        self.classes
            .as_deref()
            .map(|list| resolve_classes(list, &self.info.class_names))
            .transpose()
    }

    /// The engine for a run: the one opening loaded, else one that loads the model at the
    /// run's first cache miss. Either way ONNX Runtime is found (installed, unless
    /// offline) and loaded now, before the run, never in the middle of it.
    pub fn engine(&mut self) -> Result<EngineSlot<'static>> {
        if let Some(e) = self.engine.take() {
            return Ok(EngineSlot::Loaded(e));
        }
        let flavour = self.start.request.flavour(&self.home);
        runtime::load(&self.home, self.offline, flavour)?;
        let start = Start {
            size_hint: self.size,
            ..self.start.clone()
        };
        let (home, offline, onnx) = (self.home.clone(), self.offline, self.source.onnx.clone());
        Ok(EngineSlot::Lazy(Box::new(move || {
            Ok(engine::start(&start, &home, offline, &onnx)?.0)
        })))
    }
}

/// The model's facts, from the cache when it has them, else from loading the model
/// (then kept in the cache). Returns the engine too when it had to be loaded.
fn model_facts(
    source: &ModelSource,
    st: &Start,
    cache: Option<&Cache>,
    home: &Home,
    offline: bool,
) -> Result<(ModelFacts, Option<Engine>)> {
    if let Some(text) = cache.and_then(|c| c.model_facts(&st.sha256).ok().flatten())
        && let Ok(facts) = serde_json::from_str::<ModelFacts>(&text)
    {
        return Ok((facts, None));
    }
    let (engine, facts) = engine::start(st, home, offline, &source.onnx)?;
    if let Some(c) = cache
        && let Err(e) = c.store_model_facts(&st.sha256, &serde_json::to_string(&facts)?)
    {
        tracing::debug!("cannot keep the model's facts in the cache: {e:#}");
    }
    Ok((facts, Some(engine)))
}

/// Class names or ids to ids, with an error that lists the model's classes.
fn resolve_classes(list: &[String], names: &[String]) -> Result<Vec<u32>> {
    // `--classes ,` (or a variable set to nothing but commas) names no class: it would
    // keep no detection at all.
    if !list.is_empty() && list.iter().all(|c| c.trim().is_empty()) {
        bail!(
            "--classes names no class; give names or ids, such as --classes {}",
            names.first().map_or("0", String::as_str)
        );
    }
    list.iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(|c| {
            if let Some(i) = names.iter().position(|n| n == c) {
                return Ok(i as u32);
            }
            if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(c)) {
                return Ok(i as u32);
            }
            match c.parse::<u32>() {
                Ok(id) if names.is_empty() || (id as usize) < names.len() => Ok(id),
                _ => bail!(
                    "unknown class '{c}'; the model's classes are: {}",
                    names.join(", ")
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Kind, Wanted};

    fn options() -> Options {
        Options::new("m", Request::new(Wanted::Only(Kind::Cpu), 0).unwrap())
    }

    #[test]
    fn an_option_wins_over_the_config_which_wins_over_the_builtin_default() {
        let none = ModelConfig::default();
        let builtin = settle(&options(), &none);
        assert_eq!(
            builtin,
            Settled {
                conf: 0.25,
                iou: 0.45,
                agnostic: false,
                classes: None,
                imgsz: None
            }
        );
        let config = ModelConfig {
            confidence_threshold: Some(0.5),
            nms_threshold: Some(0.6),
            agnostic: Some(true),
            filter_classes: Some(vec!["car".into()]),
            input_height: Some(320),
            input_width: Some(480),
            ..ModelConfig::default()
        };
        let from_config = settle(&options(), &config);
        assert_eq!(
            from_config,
            Settled {
                conf: 0.5,
                iou: 0.6,
                agnostic: true,
                classes: Some(vec!["car".into()]),
                imgsz: Some([320, 480])
            }
        );
        let flags = Options {
            conf: Some(0.1),
            iou: Some(0.2),
            classes: Some(vec!["person".into()]),
            imgsz: Some([640, 640]),
            ..options()
        };
        let from_flags = settle(&flags, &config);
        assert_eq!(
            from_flags,
            Settled {
                conf: 0.1,
                iou: 0.2,
                agnostic: true, // a flag can only turn it on
                classes: Some(vec!["person".into()]),
                imgsz: Some([640, 640])
            }
        );
        // A config with only one side of the size gives none.
        let half = ModelConfig {
            input_width: Some(480),
            ..ModelConfig::default()
        };
        assert_eq!(settle(&options(), &half).imgsz, None);
    }

    #[test]
    fn resolves_class_names_and_ids() {
        let names: Vec<String> = ["person", "Table", "car"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            resolve_classes(&["table".into(), "2".into()], &names).unwrap(),
            vec![1, 2]
        );
        let err = resolve_classes(&["persn".into()], &names)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown class 'persn'") && err.contains("person, Table, car"));
        assert!(resolve_classes(&["7".into()], &names).is_err());
    }
}
