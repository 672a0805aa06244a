//! Our CUDA kernels (src/gpu/).
//!
//! * `kernels_compile`: NVRTC compiles every kernel source to PTX. It needs NVRTC only (no
//!   GPU, no driver): from the library path, else from the `nvidia-cuda-nvrtc` wheel in the
//!   Python of `ANYLABEL_TEST_PYTHON` (tests/python/requirements.txt; `scripts/test.sh`
//!   makes it). Without either it is skipped, saying so.
//! * The others run the kernels and compare them with the CPU: the letterbox value for value,
//!   NMS kept set for kept set. Without a GPU they are skipped, saying why (`gpu::available`).

mod common;

use std::path::{Path, PathBuf};

use anylabel::decode::{DecodeOptions, RgbImage, decode_file};
use anylabel::detections::Detections;
use anylabel::gpu::letterbox::{GpuLetterbox, Pixels};
use anylabel::gpu::{self, Gpu, nms::GpuNms, nms::Ran};
use anylabel::letterbox::{Letterbox, Preprocessor};
use anylabel::nms::{Nms, NmsParams, bench_boxes};
use anylabel::scan::{Input, scan};

/// Loads NVRTC from the test Python's `nvidia-cuda-nvrtc` wheel, unless it is on the
/// library path already. Loaded by full path with RTLD_GLOBAL, so that cudarc's later
/// dlopen by name finds it (glibc matches an already loaded library by its soname).
fn load_nvrtc() -> Result<String, String> {
    if gpu::nvrtc_available().is_ok() {
        return Ok("NVRTC from the library path".into());
    }
    let python = std::env::var_os("ANYLABEL_TEST_PYTHON")
        .filter(|p| !p.is_empty())
        .ok_or("NVRTC is not on the library path and ANYLABEL_TEST_PYTHON is not set")?;
    let venv = Path::new(&python)
        .parent()
        .and_then(Path::parent)
        .ok_or("ANYLABEL_TEST_PYTHON is not inside a virtual environment")?;
    let lib = std::fs::read_dir(venv.join("lib"))
        .map_err(|e| format!("{}: {e}", venv.display()))?
        .flatten()
        .map(|d| d.path().join("site-packages/nvidia/cu13/lib"))
        .find(|p| p.join("libnvrtc.so.13").is_file())
        .ok_or_else(|| {
            format!(
                "no nvidia-cuda-nvrtc wheel in {} (tests/python/requirements.txt has it; \
                 scripts/test.sh installs it)",
                venv.display()
            )
        })?;
    for name in ["libnvrtc-builtins.so.13.0", "libnvrtc.so.13"] {
        let path = std::ffi::CString::new(lib.join(name).to_str().unwrap()).unwrap();
        // SAFETY: dlopen of a library by path; its handle is never closed.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
        if handle.is_null() {
            return Err(format!("cannot load {}", lib.join(name).display()));
        }
    }
    gpu::nvrtc_available()?;
    Ok(format!("NVRTC from {}", lib.display()))
}

#[test]
fn kernels_compile() {
    let from = match load_nvrtc() {
        Ok(from) => from,
        Err(why) => {
            eprintln!("SKIPPED kernels_compile: {why}");
            return;
        }
    };
    eprintln!("kernels_compile: {from}");
    // NVRTC's default target and the GPUs we run on (H100/H200: compute_90).
    for arch in [None, Some("compute_90")] {
        for kernel in gpu::KERNELS {
            let ptx = gpu::compile(&kernel, arch).unwrap_or_else(|e| panic!("{e:#}"));
            let text = ptx.to_src();
            assert!(
                text.contains(".entry"),
                "{} for {arch:?}: no entry point in the PTX",
                kernel.name
            );
        }
    }
}

/// The GPU, or `None` after printing why the test is skipped.
fn gpu_or_skip(test: &str) -> Option<Gpu> {
    match gpu::available() {
        Ok(()) => Some(Gpu::new(0).expect("gpu::available said yes")),
        Err(why) => {
            eprintln!("SKIPPED {test}: no GPU: {why}");
            None
        }
    }
}

fn cpu_letterbox(images: &[&RgbImage], w: u32, h: u32) -> (Vec<f32>, Vec<Letterbox>) {
    let plane = 3 * w as usize * h as usize;
    let mut out = vec![0f32; images.len() * plane];
    let mut pre = Preprocessor::new();
    let mut boxes = Vec::new();
    for (i, im) in images.iter().enumerate() {
        let lb = Letterbox::new(im.width, im.height, w, h);
        pre.run(&im.pixels, &lb, &mut out[i * plane..(i + 1) * plane])
            .unwrap();
        boxes.push(lb);
    }
    (out, boxes)
}

/// Host images as the GPU letterbox takes them.
fn host<'a>(images: &[&'a RgbImage]) -> Vec<Pixels<'a>> {
    images.iter().map(|&im| Pixels::Host(im)).collect()
}

/// The largest difference, in grey levels (×255), between the GPU's and the CPU's tensors.
/// `pixels` letterboxed on the GPU into 640×640 give the CPU letterbox of `host` (the same
/// images in host memory) bit for bit, boxes included.
fn assert_letterboxes_as_the_cpu(
    lb: &mut GpuLetterbox,
    pixels: &[Pixels],
    host: &[&RgbImage],
    what: &str,
) {
    let (want, want_boxes) = cpu_letterbox(host, 640, 640);
    let (tensor, boxes) = lb.run(pixels).unwrap();
    assert_eq!(boxes, want_boxes, "{what}");
    assert_eq!(tensor.to_host().unwrap(), want, "{what}: not bit-identical");
}

fn max_grey_diff(gpu: &[f32], cpu: &[f32]) -> f32 {
    assert_eq!(gpu.len(), cpu.len());
    gpu.iter()
        .zip(cpu)
        .map(|(a, b)| (a - b).abs() * 255.0)
        .fold(0.0, f32::max)
}

/// The fixtures, or the images under `ANYLABEL_GPU_TEST_IMAGES` (the staged GPU check
/// runs this test away from the source tree).
fn fixture_images() -> Vec<(PathBuf, RgbImage)> {
    let dir = std::env::var_os("ANYLABEL_GPU_TEST_IMAGES")
        .filter(|d| !d.is_empty())
        .map_or_else(common::fixtures, PathBuf::from);
    scan(vec![Input::Dir(dir)])
        .flatten()
        .filter_map(|item| {
            decode_file(&item.path, &DecodeOptions::default())
                .ok()
                .map(|im| (item.path, im))
        })
        .collect()
}

fn noise(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut rng = anylabel::rng::XorShift(seed | 1);
    let pixels = (0..w as usize * h as usize * 3)
        .map(|_| (rng.next_u64() >> 40) as u8)
        .collect();
    RgbImage::full(w, h, pixels)
}

#[test]
fn letterbox_equals_the_cpu_on_the_fixtures() {
    let Some(gpu) = gpu_or_skip("letterbox_equals_the_cpu_on_the_fixtures") else {
        return;
    };
    let images = fixture_images();
    assert!(images.len() >= 8, "the fixtures decode");
    let mut lb = GpuLetterbox::new(&gpu, 8, [640, 640]).unwrap();
    for chunk in images.chunks(8) {
        let batch: Vec<&RgbImage> = chunk.iter().map(|(_, im)| im).collect();
        let (want, want_boxes) = cpu_letterbox(&batch, 640, 640);
        let (tensor, boxes) = lb.run(&host(&batch)).unwrap();
        assert_eq!(tensor.shape(), [batch.len(), 3, 640, 640]);
        assert_eq!(boxes, want_boxes);
        let got = tensor.to_host().unwrap();
        let names: Vec<_> = chunk.iter().map(|(p, _)| p.display().to_string()).collect();
        assert!(
            max_grey_diff(&got, &want) <= 1.0,
            "more than one grey level apart in {names:?}"
        );
        assert_eq!(got, want, "not bit-identical in {names:?}");
    }
}

/// nvJPEG (`--decode gpu`) against libjpeg-turbo on every fixture JPEG it takes: the same
/// size, and pixels within torchvision's own tolerance for its nvJPEG decoder (a mean
/// difference under 2 grey levels, as pytorch/vision's `test_decode_jpegs_cuda` asks; its
/// IDCT and chroma upsampling round differently). Then
/// batches mixing nvJPEG's device images with host images letterbox on the GPU exactly as
/// the CPU letterboxes the same pixels brought back. Prints each image's differences.
#[test]
fn nvjpeg_decodes_the_fixtures_as_libjpeg_turbo_does() {
    let Some(gpu) = gpu_or_skip("nvjpeg_decodes_the_fixtures_as_libjpeg_turbo_does") else {
        return;
    };
    let jpeg = match anylabel::gpu::jpeg::GpuJpeg::open(&gpu) {
        Ok(j) => j,
        Err(e) => panic!("a GPU but no nvJPEG: {e:#}"),
    };
    println!("nvJPEG {}", jpeg.version);
    let opts = DecodeOptions::default();
    let (mut taken, mut worst) = (Vec::new(), 0f64);
    for (path, cpu) in fixture_images() {
        let bytes = std::fs::read(&path).unwrap();
        let Some((w, h)) = anylabel::decode::jpeg_for_gpu(&bytes, &opts) else {
            continue;
        };
        let img = jpeg
            .decode(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!((img.width, img.height), (w, h), "{}", path.display());
        assert_eq!((cpu.width, cpu.height), (w, h), "{}", path.display());
        let got = img.to_host().unwrap();
        let diffs: Vec<u8> = got
            .iter()
            .zip(&cpu.pixels)
            .map(|(a, b)| a.abs_diff(*b))
            .collect();
        let mean = diffs.iter().map(|&d| d as f64).sum::<f64>() / diffs.len() as f64;
        let max = diffs.iter().copied().max().unwrap_or(0);
        let same = diffs.iter().filter(|&&d| d == 0).count() as f64 / diffs.len() as f64;
        println!(
            "nvjpeg {}: {w}x{h}, mean |diff| {mean:.3}, max {max}, identical {:.1}%",
            path.display(),
            100.0 * same
        );
        worst = worst.max(mean);
        assert!(
            mean < 2.0,
            "{}: mean difference {mean:.3} grey levels",
            path.display()
        );
        taken.push((cpu, img, got));
    }
    println!(
        "nvjpeg: {} fixture JPEGs, worst mean |diff| {worst:.3}",
        taken.len()
    );
    assert!(
        taken.len() >= 8,
        "nvJPEG took only {} fixture JPEGs",
        taken.len()
    );

    // Device and host images in one batch, alternating.
    let mut lb = GpuLetterbox::new(&gpu, 8, [640, 640]).unwrap();
    for chunk in taken.chunks(8) {
        let pixels: Vec<Pixels> = chunk
            .iter()
            .enumerate()
            .map(|(i, (cpu, dev, _))| {
                if i % 2 == 0 {
                    Pixels::Device(dev)
                } else {
                    Pixels::Host(cpu)
                }
            })
            .collect();
        let back: Vec<RgbImage> = chunk
            .iter()
            .enumerate()
            .map(|(i, (cpu, _, got))| {
                if i % 2 == 0 {
                    RgbImage::full(cpu.width, cpu.height, got.clone())
                } else {
                    cpu.clone()
                }
            })
            .collect();
        let refs: Vec<&RgbImage> = back.iter().collect();
        assert_letterboxes_as_the_cpu(&mut lb, &pixels, &refs, "mixed batch");
    }
}

/// The GPU's JPEG engine (nvJPEG's hardware backend, `--decode gpu` on an A100/H100/H200),
/// where the GPU has one: every fixture JPEG it takes, handed over from several threads at
/// once and decoded in batches, has libjpeg-turbo's size and pixels within the tolerance
/// the default backend is held to, and letterboxes on the GPU exactly as the CPU
/// letterboxes the same pixels. Skipped, saying so, on a GPU without an engine.
#[test]
fn the_jpeg_engine_decodes_the_fixtures_as_libjpeg_turbo_does() {
    use rayon::prelude::*;
    let Some(gpu) = gpu_or_skip("the_jpeg_engine_decodes_the_fixtures_as_libjpeg_turbo_does")
    else {
        return;
    };
    let engine = match anylabel::gpu::jpeg_hw::HwJpeg::open(&gpu, 8, 100) {
        Ok(e) => e,
        Err(e) => {
            println!(
                "SKIPPED the_jpeg_engine_decodes_the_fixtures_as_libjpeg_turbo_does: {}: {e:#}",
                gpu.name()
            );
            return;
        }
    };
    println!(
        "nvJPEG {} with the JPEG engine of {}",
        engine.version,
        gpu.name()
    );
    let opts = DecodeOptions::default();
    let taken: Vec<(PathBuf, RgbImage, Vec<u8>)> = fixture_images()
        .into_iter()
        .filter_map(|(path, cpu)| {
            let bytes = std::fs::read(&path).unwrap();
            let (w, h) = anylabel::decode::jpeg_for_gpu(&bytes, &opts)?;
            assert_eq!((cpu.width, cpu.height), (w, h), "{}", path.display());
            engine.takes(&bytes, w, h).then_some((path, cpu, bytes))
        })
        .collect();
    println!("the JPEG engine takes {} fixture JPEGs", taken.len());
    assert!(taken.len() >= 8, "the engine took only {}", taken.len());
    // All handed over at once from rayon's threads, as the decode threads do.
    let answers: Vec<_> = taken
        .par_iter()
        .map(|(_, cpu, bytes)| engine.submit(bytes.clone(), cpu.width, cpu.height).unwrap())
        .collect();
    let mut decoded = Vec::new();
    for ((path, cpu, _), answer) in taken.iter().zip(answers) {
        let img = match answer.recv().unwrap() {
            Ok(img) => img,
            Err((why, _)) => panic!("{}: the engine refused it: {why}", path.display()),
        };
        assert_eq!((img.width, img.height), (cpu.width, cpu.height));
        let got = img.to_host().unwrap();
        let mean = got
            .iter()
            .zip(&cpu.pixels)
            .map(|(a, b)| a.abs_diff(*b) as f64)
            .sum::<f64>()
            / got.len() as f64;
        println!("engine {}: mean |diff| {mean:.3}", path.display());
        assert!(mean < 2.0, "{}: mean difference {mean:.3}", path.display());
        decoded.push((RgbImage::full(cpu.width, cpu.height, got), img));
    }
    let mut lb = GpuLetterbox::new(&gpu, 8, [640, 640]).unwrap();
    for chunk in decoded.chunks(8) {
        let refs: Vec<&RgbImage> = chunk.iter().map(|(host, _)| host).collect();
        let pixels: Vec<Pixels> = chunk.iter().map(|(_, dev)| Pixels::Device(dev)).collect();
        assert_letterboxes_as_the_cpu(&mut lb, &pixels, &refs, "the engine's images");
    }
}

/// `ANYLABEL_GPU_UPLOAD=decode`: images uploaded by the decode threads, several threads
/// at once, come back byte for byte, and batches mixing them with host images letterbox
/// on the GPU exactly as the CPU letterboxes the same images.
#[test]
fn images_uploaded_by_decode_threads_letterbox_as_host_images_do() {
    use rayon::prelude::*;
    let Some(gpu) = gpu_or_skip("images_uploaded_by_decode_threads_letterbox_as_host_images_do")
    else {
        return;
    };
    let up = anylabel::gpu::upload::Uploader::new(&gpu);
    let mut images: Vec<RgbImage> = fixture_images().into_iter().map(|(_, im)| im).collect();
    images.extend((0..6).map(|i| noise(100 + 97 * i, 1300 - 150 * i, i as u64 + 40)));
    // Small ones first, so that the staging buffers grow as the threads meet larger ones.
    images.sort_by_key(|im| im.pixels.len());
    let uploaded: Vec<_> = images.par_iter().map(|im| up.upload(im).unwrap()).collect();
    for (im, dev) in images.iter().zip(&uploaded) {
        assert_eq!((dev.width, dev.height), (im.width, im.height));
        assert!(
            dev.to_host().unwrap() == im.pixels,
            "an upload came back changed"
        );
    }
    let mut lb = GpuLetterbox::new(&gpu, 8, [640, 640]).unwrap();
    for (k, chunk) in images.chunks(8).zip(uploaded.chunks(8)).enumerate() {
        let pixels: Vec<Pixels> = chunk
            .0
            .iter()
            .zip(chunk.1)
            .enumerate()
            .map(|(i, (im, dev))| {
                if (i + k) % 3 == 0 {
                    Pixels::Host(im)
                } else {
                    Pixels::Device(dev)
                }
            })
            .collect();
        let refs: Vec<&RgbImage> = chunk.0.iter().collect();
        assert_letterboxes_as_the_cpu(&mut lb, &pixels, &refs, &format!("batch {k}"));
    }
}

#[test]
fn letterbox_equals_the_cpu_on_mixed_batches() {
    let Some(gpu) = gpu_or_skip("letterbox_equals_the_cpu_on_mixed_batches") else {
        return;
    };
    // Down, up, odd, exact 2× (the 2×2 mean), same size (a copy), one pixel, very thin.
    let sizes = [
        (1920, 1080),
        (1280, 1280),
        (640, 640),
        (333, 517),
        (17, 9),
        (1, 1),
        (641, 639),
        (3, 1000),
        (1000, 3),
        (1279, 719),
    ];
    let images: Vec<RgbImage> = sizes
        .iter()
        .enumerate()
        .map(|(i, &(w, h))| noise(w, h, i as u64 + 11))
        .collect();
    for (h, w) in [(640, 640), (384, 640), (97, 131)] {
        let mut lb = GpuLetterbox::new(&gpu, images.len(), [h, w]).unwrap();
        // The whole batch, then smaller ones reusing the buffers.
        for take in [images.len(), 3, 1] {
            let batch: Vec<&RgbImage> = images.iter().rev().take(take).collect();
            let (want, want_boxes) = cpu_letterbox(&batch, w, h);
            let (tensor, boxes) = lb.run(&host(&batch)).unwrap();
            assert_eq!(boxes, want_boxes);
            let got = tensor.to_host().unwrap();
            assert!(
                max_grey_diff(&got, &want) <= 1.0,
                "into {w}×{h}, {take} images"
            );
            assert_eq!(got, want, "into {w}×{h}, {take} images: not bit-identical");
        }
    }
}

fn with_classes(mut c: Detections, classes: u32) -> Detections {
    for (i, k) in c.class_ids.iter_mut().enumerate() {
        *k = (i as u32).wrapping_mul(2_654_435_761) % classes;
    }
    c
}

fn cpu_nms(c: &Detections, p: &NmsParams) -> Vec<usize> {
    let mut keep = Vec::new();
    Nms::new().run(c, p, &mut keep);
    keep
}

#[test]
fn nms_keeps_exactly_the_cpu_set_on_clustered_sets() {
    let Some(gpu) = gpu_or_skip("nms_keeps_exactly_the_cpu_set_on_clustered_sets") else {
        return;
    };
    let mut nms = GpuNms::new(&gpu).unwrap();
    let mut keep = Vec::new();
    for n in [1000, 10_000, 100_000] {
        for (classes, agnostic) in [(1, true), (1, false), (4, false), (4, true), (80, false)] {
            let c = with_classes(bench_boxes(n, n as u64), classes);
            for iou in [0.45, 0.7] {
                let p = NmsParams {
                    iou,
                    max_det: usize::MAX,
                    agnostic,
                    max_candidates: usize::MAX,
                };
                let ran = nms.run(&c, &p, &mut keep).unwrap();
                assert_eq!(ran, Ran::Gpu);
                assert_eq!(
                    keep,
                    cpu_nms(&c, &p),
                    "{n} boxes, {classes} classes, agnostic {agnostic}, IoU {iou}"
                );
            }
        }
    }
}

#[test]
fn nms_keeps_exactly_the_cpu_set_with_ties_limits_and_odd_boxes() {
    let Some(gpu) = gpu_or_skip("nms_keeps_exactly_the_cpu_set_with_ties_limits_and_odd_boxes")
    else {
        return;
    };
    let mut nms = GpuNms::new(&gpu).unwrap();
    let mut keep = Vec::new();
    // Coarse scores (many ties), and a few boxes no IoU can be computed for.
    let mut c = with_classes(bench_boxes(20_000, 5), 3);
    for s in c.scores.iter_mut() {
        *s = (*s * 20.0).floor() / 20.0;
    }
    for (i, b) in [
        [f32::NAN, 0.0, 10.0, 10.0],
        [0.0, 0.0, f32::INFINITY, 10.0],
        [10.0, 10.0, 0.0, 0.0],
        [-3e38, -3e38, 3e38, 3e38],
    ]
    .into_iter()
    .enumerate()
    {
        c.boxes[i * 97] = b;
    }
    c.scores[5] = f32::NAN;
    for iou in [0.0, 0.45, 1.0] {
        for (max_det, max_candidates) in [(usize::MAX, usize::MAX), (300, 30_000), (100, 5000)] {
            for agnostic in [false, true] {
                let p = NmsParams {
                    iou,
                    max_det,
                    agnostic,
                    max_candidates,
                };
                let ran = nms.run(&c, &p, &mut keep).unwrap();
                assert_eq!(ran, Ran::Gpu, "{p:?}");
                assert_eq!(keep, cpu_nms(&c, &p), "{p:?}");
            }
        }
    }
    // A negative threshold goes to the CPU, and says so.
    let p = NmsParams {
        iou: -0.5,
        max_det: 300,
        agnostic: false,
        max_candidates: usize::MAX,
    };
    assert!(matches!(nms.run(&c, &p, &mut keep).unwrap(), Ran::Cpu(_)));
    assert_eq!(keep, cpu_nms(&c, &p));
}
