//! anylabel: auto-label folders of images with ONNX detection models.
//!
//! The library does the work; the binary (`src/main.rs`, `src/cli/`) parses the command
//! line with clap (nothing here depends on it) and calls [`infer`] and the other modules
//! with plain options. The pipeline's stages each have their module: [`scan`] finds images,
//! [`decode`] reads them, [`letterbox`] fits them to the model, [`engine`] runs ONNX
//! Runtime on the backend [`backend`] picks, [`head`] and [`nms`] turn outputs into boxes, [`record`] is what comes out.
//! [`pipeline`] joins them with bounded channels.

pub mod backend;
pub mod bench;
pub mod boxes;
pub mod cache;
pub mod calib;
pub mod catalogue;
pub mod config;
pub mod decode;
pub mod detections;
pub mod doctor;
pub mod driver;
pub mod dylib;
pub mod elf;
pub mod engine;
pub mod exit_codes;
pub mod export;
pub mod fetch;
pub mod filter;
pub mod gpu;
pub mod head;
pub mod home;
pub mod import;
pub mod infer;
pub mod letterbox;
pub mod merge;
pub mod model;
pub mod nms;
pub mod outfile;
pub mod pipeline;
pub mod polygon;
pub mod preload;
pub mod progress;
pub mod pypi;
pub mod record;
pub mod report;
pub mod resize;
pub mod rng;
pub mod runtime;
pub mod scan;
pub mod shard;
pub mod trt;
pub mod values;
