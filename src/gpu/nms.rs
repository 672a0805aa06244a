//! NMS on the GPU for large candidate sets, keeping exactly the set the CPU's
//! [`crate::nms::Nms`] keeps (the same boxes, in the same order).
//!
//! torchvision's CUDA NMS compares every pair (an `n × n/64` bitmask) and walks the mask
//! on the host; at 100k boxes that is 10 billion IoUs and a 1.25 GB mask. Here the GPU
//! compares only boxes that share a cell of a uniform grid (boxes that do not overlap
//! cannot suppress each other) and writes, per candidate, the lower-ranked candidates it
//! would suppress: a sparse graph in CSR form, a few entries per box. The host sorts the
//! candidates by rank meanwhile, then walks them in rank order: a candidate not yet marked
//! is kept and marks its list. That walk is the textbook greedy loop, with the IoU tests
//! done in advance; so the kept set is the textbook one exactly when the graph holds
//! exactly the pairs the textbook would find above the threshold, which `nms.cu` argues
//! and `tests` checks (a Rust transcription of the kernels against [`crate::nms::Nms`]).
//!
//! Kernels, one thread per box: count grid entries per cell, prefix-sum them, place the
//! boxes in the cells they cover, count each box's edges, prefix-sum, write the edges.
//!
//! Thresholds below 0 (every pair suppresses, a dense graph) and graphs too large for
//! [`MAX_EDGES`] go to the CPU's [`crate::nms::Nms`]; [`Ran`] says which ran.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use cudarc::driver::{
    CudaFunction, CudaSlice, CudaStream, DeviceRepr, LaunchConfig, PinnedHostSlice, PushKernelArg,
};

use super::{Gpu, Kernel, linear};
use crate::detections::Detections;
use crate::nms::{Nms, NmsParams, radix_sort_by_score, rank_key};

pub const KERNEL: Kernel = Kernel {
    name: "nms",
    source: include_str!("nms.cu"),
};

/// Graphs with more edges than this go to the CPU instead (1 GiB of edges).
pub const MAX_EDGES: usize = 1 << 28;

/// The grid has at most this many cells a side.
const GRID_SIDE_MAX: usize = 1024;

/// Which implementation produced a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    /// This module's graph and walk (with no launch when no two candidates can overlap).
    Gpu,
    /// The CPU's NMS, and why.
    Cpu(&'static str),
}

/// The grid as the kernels take it (`struct Grid` in `nms.cu`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
struct Grid {
    x0: f32,
    y0: f32,
    inv_w: f32,
    inv_h: f32,
    gx: i32,
    gy: i32,
}

// SAFETY: plain `repr(C)` floats and ints, the layout of `struct Grid` in nms.cu.
unsafe impl DeviceRepr for Grid {}

impl Grid {
    fn cells(&self) -> usize {
        self.gx as usize * self.gy as usize
    }
}

/// Whether a candidate takes part and can overlap anything (`in_grid` in `nms.cu`).
#[inline]
fn in_grid(b: &[f32; 4], key: u64, cutoff: u64) -> bool {
    key <= cutoff && b.iter().all(|v| v.is_finite()) && b[2] > b[0] && b[3] > b[1]
}

/// The grid over the boxes in it: cells twice the mean box size, at most
/// [`GRID_SIDE_MAX`] (and about `2√n`) a side. `None` when no box is in the grid. Any grid
/// is correct (nms.cu); this one keeps cells to a few boxes each.
fn plan_grid(c: &Detections, n: usize, cutoff: u64) -> Option<Grid> {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    let (mut sw, mut sh, mut count) = (0f64, 0f64, 0usize);
    for (i, b) in c.boxes[..n].iter().enumerate() {
        if !in_grid(b, rank_key(c.scores[i], i), cutoff) {
            continue;
        }
        x0 = x0.min(b[0]);
        y0 = y0.min(b[1]);
        x1 = x1.max(b[2]);
        y1 = y1.max(b[3]);
        sw += b[2] as f64 - b[0] as f64;
        sh += b[3] as f64 - b[1] as f64;
        count += 1;
    }
    if count == 0 {
        return None;
    }
    let side_max = ((2.0 * (count as f64).sqrt()).ceil() as usize).clamp(1, GRID_SIDE_MAX);
    // In f64 the extents are finite and the cell size positive; 1/size is at least
    // 1/6.9e38, a positive f32, so the cell map stays monotonic and NaN-free.
    let axis = |lo: f32, hi: f32, sum: f64| -> (f32, i32) {
        let extent = hi as f64 - lo as f64;
        let size = (2.0 * sum / count as f64)
            .max(extent / side_max as f64)
            .max(1e-30);
        let cells = ((extent / size).ceil() as usize).clamp(1, side_max);
        ((1.0 / size) as f32, cells as i32)
    };
    let (inv_w, gx) = axis(x0, x1, sw);
    let (inv_h, gy) = axis(y0, y1, sh);
    Some(Grid {
        x0,
        y0,
        inv_w,
        inv_h,
        gx,
        gy,
    })
}

/// The keys of the candidates that take part (at or below `cutoff`, the CPU's
/// `max_candidates` rule), ascending: best first.
fn ranked(c: &Detections, n: usize, cutoff: u64, scratch: &mut Vec<u64>) -> Vec<u64> {
    let mut keys: Vec<u64> = (0..n)
        .map(|i| rank_key(c.scores[i], i))
        .filter(|&k| k <= cutoff)
        .collect();
    radix_sort_by_score(&mut keys, scratch);
    keys
}

/// The greedy walk over the graph: `ranked` keys in order; a candidate not marked is
/// kept and marks the candidates it suppresses (`targets[start[i]..start[i + 1]]`).
fn walk(
    ranked: &[u64],
    start: &[u32],
    targets: &[u32],
    max_det: usize,
    marked: &mut Vec<bool>,
    keep: &mut Vec<usize>,
) {
    marked.clear();
    marked.resize(start.len().saturating_sub(1), false);
    for &k in ranked {
        if keep.len() >= max_det {
            break;
        }
        let i = (k & 0xFFFF_FFFF) as usize;
        if marked[i] {
            continue;
        }
        keep.push(i);
        for &j in &targets[start[i] as usize..start[i + 1] as usize] {
            marked[j as usize] = true;
        }
    }
}

/// Grows a device buffer to hold at least `want` items (contents not kept).
fn ensure<T: DeviceRepr + cudarc::driver::ValidAsZeroBits>(
    s: &Arc<CudaStream>,
    buf: &mut Option<CudaSlice<T>>,
    want: usize,
) -> Result<()> {
    if buf.as_ref().is_none_or(|b| b.len() < want) {
        *buf = None;
        *buf = Some(s.alloc_zeros::<T>(want.max(1).next_power_of_two())?);
    }
    Ok(())
}

/// Grows a pinned host buffer to hold at least `want` items (contents not kept);
/// write-combined for uploads (fast to write, slow to read), plain for downloads.
fn ensure_pinned<T: DeviceRepr>(
    s: &Arc<CudaStream>,
    buf: &mut Option<PinnedHostSlice<T>>,
    want: usize,
    upload: bool,
) -> Result<()> {
    if buf.as_ref().is_none_or(|b| b.len() < want) {
        *buf = None;
        let len = want.max(1).next_power_of_two();
        let flags = if upload {
            cudarc::driver::sys::CU_MEMHOSTALLOC_WRITECOMBINED
        } else {
            0
        };
        // SAFETY: our buffers are written before they are read.
        *buf = Some(unsafe { s.context().alloc_pinned_with_flags::<T>(len, flags) }?);
    }
    Ok(())
}

fn get<T>(buf: &Option<T>) -> &T {
    buf.as_ref().expect("ensured before use")
}

fn get_mut<T>(buf: &mut Option<T>) -> &mut T {
    buf.as_mut().expect("ensured before use")
}

/// One run's parameters, as the kernels take them.
#[derive(Debug, Clone, Copy)]
struct Job {
    n: usize,
    grid: Grid,
    cutoff: u64,
    agnostic: i32,
    iou: f32,
}

/// GPU NMS with its kernels and buffers, reused from one call to the next.
pub struct GpuNms {
    stream: Arc<CudaStream>,
    k_cell_count: CudaFunction,
    k_scan: CudaFunction,
    k_cell_fill: CudaFunction,
    k_edges: CudaFunction,
    host_boxes: Option<PinnedHostSlice<f32>>,
    host_scores: Option<PinnedHostSlice<f32>>,
    host_classes: Option<PinnedHostSlice<u32>>,
    host_start: Option<PinnedHostSlice<u32>>,
    host_targets: Option<PinnedHostSlice<u32>>,
    boxes: Option<CudaSlice<f32>>,
    scores: Option<CudaSlice<f32>>,
    classes: Option<CudaSlice<u32>>,
    cell_count: Option<CudaSlice<u32>>,
    cell_start: Option<CudaSlice<u32>>,
    entries: Option<CudaSlice<u32>>,
    edge_count: Option<CudaSlice<u32>>,
    edge_start: Option<CudaSlice<u32>>,
    targets: Option<CudaSlice<u32>>,
    cpu: Nms,
    scratch: Vec<u64>,
    marked: Vec<bool>,
}

impl GpuNms {
    pub fn new(gpu: &Gpu) -> Result<GpuNms> {
        let module = gpu.load(&KERNEL)?;
        Ok(GpuNms {
            stream: gpu.stream().clone(),
            k_cell_count: module.load_function("nms_cell_count")?,
            k_scan: module.load_function("nms_scan")?,
            k_cell_fill: module.load_function("nms_cell_fill")?,
            k_edges: module.load_function("nms_edges")?,
            host_boxes: None,
            host_scores: None,
            host_classes: None,
            host_start: None,
            host_targets: None,
            boxes: None,
            scores: None,
            classes: None,
            cell_count: None,
            cell_start: None,
            entries: None,
            edge_count: None,
            edge_start: None,
            targets: None,
            cpu: Nms::new(),
            scratch: Vec::new(),
            marked: Vec::new(),
        })
    }

    /// Runs NMS over `c` and writes the indices it keeps into `keep`, highest score first:
    /// the same as [`Nms::run`].
    pub fn run(&mut self, c: &Detections, p: &NmsParams, keep: &mut Vec<usize>) -> Result<Ran> {
        keep.clear();
        let n = c.len();
        if n == 0 || p.max_det == 0 || p.max_candidates == 0 {
            return Ok(Ran::Gpu);
        }
        if n > i32::MAX as usize {
            self.cpu.run(c, p, keep);
            return Ok(Ran::Cpu("more than 2^31 candidates"));
        }
        if p.iou < 0.0 {
            self.cpu.run(c, p, keep);
            return Ok(Ran::Cpu("an IoU threshold below 0 suppresses every pair"));
        }
        let cutoff = if n > p.max_candidates {
            let mut keys: Vec<u64> = (0..n).map(|i| rank_key(c.scores[i], i)).collect();
            *keys.select_nth_unstable(p.max_candidates - 1).1
        } else {
            u64::MAX
        };
        let Some(grid) = plan_grid(c, n, cutoff) else {
            // No two participants can overlap: the best max_det are kept.
            let keys = ranked(c, n, cutoff, &mut self.scratch);
            keep.extend(
                keys.iter()
                    .take(p.max_det)
                    .map(|&k| (k & 0xFFFF_FFFF) as usize),
            );
            return Ok(Ran::Gpu);
        };
        let job = Job {
            n,
            grid,
            cutoff,
            agnostic: p.agnostic as i32,
            iou: p.iou,
        };
        self.upload(c, &job)?;
        self.queue_grid(&job)?;
        // The host ranks the candidates while the GPU builds the graph.
        let keys = ranked(c, n, cutoff, &mut self.scratch);
        let mut entries = self.total(&job, Total::Entries)?;
        if entries > get(&self.entries).len() {
            // More grid entries than guessed: place them again with room for all (the
            // cell starts stand; the cursors go back to 0).
            ensure(&self.stream, &mut self.entries, entries)?;
            self.stream.memset_zeros(get_mut(&mut self.cell_count))?;
            self.queue_fill_and_counts(&job)?;
            entries = self.total(&job, Total::Entries)?;
            debug_assert!(entries <= get(&self.entries).len());
        }
        let edges = self.total(&job, Total::Edges)?;
        if edges > MAX_EDGES {
            self.cpu.run(c, p, keep);
            return Ok(Ran::Cpu("more than MAX_EDGES overlapping pairs"));
        }
        self.write_edges(&job, edges)?;
        let start = &get(&self.host_start).as_slice()?[..n + 1];
        let targets = &get(&self.host_targets).as_slice()?[..edges];
        walk(&keys, start, targets, p.max_det, &mut self.marked, keep);
        Ok(Ran::Gpu)
    }

    /// Copies the candidates to the GPU through the pinned buffers.
    fn upload(&mut self, c: &Detections, job: &Job) -> Result<()> {
        let (s, n) = (&self.stream, job.n);
        s.synchronize()?; // the last run's copies from the pinned buffers are done
        ensure_pinned(s, &mut self.host_boxes, 4 * n, true)?;
        ensure_pinned(s, &mut self.host_scores, n, true)?;
        ensure_pinned(s, &mut self.host_classes, n, true)?;
        ensure(s, &mut self.boxes, 4 * n)?;
        ensure(s, &mut self.scores, n)?;
        ensure(s, &mut self.classes, n)?;
        let hb = get_mut(&mut self.host_boxes).as_mut_slice()?;
        hb[..4 * n].copy_from_slice(c.boxes[..n].as_flattened());
        get_mut(&mut self.host_scores).as_mut_slice()?[..n].copy_from_slice(&c.scores[..n]);
        get_mut(&mut self.host_classes).as_mut_slice()?[..n].copy_from_slice(&c.class_ids[..n]);
        s.memcpy_htod(
            &get(&self.host_boxes).as_slice()?[..4 * n],
            &mut get_mut(&mut self.boxes).slice_mut(..4 * n),
        )?;
        s.memcpy_htod(
            &get(&self.host_scores).as_slice()?[..n],
            &mut get_mut(&mut self.scores).slice_mut(..n),
        )?;
        s.memcpy_htod(
            &get(&self.host_classes).as_slice()?[..n],
            &mut get_mut(&mut self.classes).slice_mut(..n),
        )?;
        Ok(())
    }

    /// Queues the cell counts and their prefix sum, then the fill and the edge counts.
    fn queue_grid(&mut self, job: &Job) -> Result<()> {
        let s = self.stream.clone();
        let (n, cells) = (job.n, job.grid.cells());
        ensure(&s, &mut self.cell_count, cells)?;
        ensure(&s, &mut self.cell_start, cells + 1)?;
        ensure(&s, &mut self.entries, 4 * n)?;
        ensure(&s, &mut self.edge_count, n)?;
        ensure(&s, &mut self.edge_start, n + 1)?;
        s.memset_zeros(&mut get_mut(&mut self.cell_count).slice_mut(..cells))?;
        let n32 = n as i32;
        let mut l = s.launch_builder(&self.k_cell_count);
        l.arg(&n32)
            .arg(get(&self.boxes))
            .arg(get(&self.scores))
            .arg(&job.cutoff)
            .arg(&job.grid)
            .arg(get_mut(&mut self.cell_count));
        // SAFETY: arguments as in nms.cu; the buffers hold n boxes and `cells` counts.
        unsafe { l.launch(linear(n)) }?;
        // The prefix sum also resets the counts to 0, for the fill's cursors.
        scan(
            &s,
            &self.k_scan,
            get_mut(&mut self.cell_count),
            cells as i32,
            get_mut(&mut self.cell_start),
        )?;
        self.queue_fill_and_counts(job)
    }

    /// Queues the fill (the cell counts are its cursors, all 0), the edge counts and
    /// their prefix sum.
    fn queue_fill_and_counts(&mut self, job: &Job) -> Result<()> {
        let s = self.stream.clone();
        let n32 = job.n as i32;
        let capacity = get(&self.entries).len().min(u32::MAX as usize) as u32;
        let mut l = s.launch_builder(&self.k_cell_fill);
        l.arg(&n32)
            .arg(get(&self.boxes))
            .arg(get(&self.scores))
            .arg(&job.cutoff)
            .arg(&job.grid)
            .arg(get(&self.cell_start))
            .arg(get_mut(&mut self.cell_count))
            .arg(&capacity)
            .arg(get_mut(&mut self.entries));
        // SAFETY: arguments as in nms.cu; writes stay below `capacity`.
        unsafe { l.launch(linear(job.n)) }?;
        self.launch_edges(job, false)?;
        scan(
            &s,
            &self.k_scan,
            get_mut(&mut self.edge_count),
            n32,
            get_mut(&mut self.edge_start),
        )
    }

    /// Queues the edge pass: counting (`write` false) or writing the targets.
    fn launch_edges(&mut self, job: &Job, write: bool) -> Result<()> {
        let s = self.stream.clone();
        let n32 = job.n as i32;
        let null = 0u64;
        let mut l = s.launch_builder(&self.k_edges);
        l.arg(&n32)
            .arg(get(&self.boxes))
            .arg(get(&self.scores))
            .arg(get(&self.classes))
            .arg(&job.agnostic)
            .arg(&job.iou)
            .arg(&job.cutoff)
            .arg(&job.grid)
            .arg(get(&self.cell_start))
            .arg(get(&self.entries))
            .arg(get_mut(&mut self.edge_count));
        if write {
            l.arg(get(&self.edge_start)).arg(get_mut(&mut self.targets));
        } else {
            l.arg(&null).arg(&null);
        }
        // SAFETY: arguments as in nms.cu; in the write pass, `targets` holds the total the
        // count pass found.
        unsafe { l.launch(linear(job.n)) }?;
        Ok(())
    }

    /// Waits for the queued work and reads a total off the end of a prefix sum.
    fn total(&mut self, job: &Job, which: Total) -> Result<usize> {
        let (buf, at) = match which {
            Total::Entries => (get(&self.cell_start), job.grid.cells()),
            Total::Edges => (get(&self.edge_start), job.n),
        };
        let mut v = [0u32];
        self.stream.memcpy_dtoh(&buf.slice(at..at + 1), &mut v)?;
        self.stream.synchronize()?;
        Ok(v[0] as usize)
    }

    /// Writes the `edges` edges and copies the graph to the pinned host buffers.
    fn write_edges(&mut self, job: &Job, edges: usize) -> Result<()> {
        let s = self.stream.clone();
        let n = job.n;
        ensure(&s, &mut self.targets, edges)?;
        ensure_pinned(&s, &mut self.host_start, n + 1, false)?;
        ensure_pinned(&s, &mut self.host_targets, edges, false)?;
        self.launch_edges(job, true)?;
        s.memcpy_dtoh(
            &get(&self.edge_start).slice(..n + 1),
            &mut get_mut(&mut self.host_start).as_mut_slice()?[..n + 1],
        )?;
        if edges > 0 {
            s.memcpy_dtoh(
                &get(&self.targets).slice(..edges),
                &mut get_mut(&mut self.host_targets).as_mut_slice()?[..edges],
            )?;
        }
        s.synchronize()?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Total {
    Entries,
    Edges,
}

/// Queues the one-block exclusive prefix sum of `count[..len]` into `offsets[..len + 1]`.
fn scan(
    s: &Arc<CudaStream>,
    f: &CudaFunction,
    count: &mut CudaSlice<u32>,
    len: i32,
    offsets: &mut CudaSlice<u32>,
) -> Result<()> {
    let mut l = s.launch_builder(f);
    l.arg(count).arg(&len).arg(offsets);
    let cfg = LaunchConfig {
        grid_dim: (1, 1, 1),
        block_dim: (1024, 1, 1),
        shared_mem_bytes: 0,
    };
    // SAFETY: arguments as in nms.cu; `offsets` holds len + 1 values.
    unsafe { l.launch(cfg) }.map_err(|e| anyhow!("nms_scan: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nms::bench_boxes;
    use proptest::prelude::*;

    /// `cell` in nms.cu.
    fn cell(v: f32, origin: f32, inv: f32, cells: i32) -> i32 {
        let f = ((v - origin) * inv).floor().min((cells - 1) as f32);
        (f as i32).max(0)
    }

    fn cell_range(b: &[f32; 4], g: &Grid) -> (i32, i32, i32, i32) {
        (
            cell(b[0], g.x0, g.inv_w, g.gx),
            cell(b[1], g.y0, g.inv_h, g.gy),
            cell(b[2], g.x0, g.inv_w, g.gx),
            cell(b[3], g.y0, g.inv_h, g.gy),
        )
    }

    /// The kernels of nms.cu run one thread after another, in Rust: the graph the GPU
    /// builds, as (start, targets) (targets in a different order within a box's list,
    /// which the walk does not see).
    fn emulate(c: &Detections, job: &Job) -> (Vec<u32>, Vec<u32>) {
        let g = &job.grid;
        let key = |i: usize| rank_key(c.scores[i], i);
        let mut cells: Vec<Vec<u32>> = vec![Vec::new(); g.cells()];
        for i in 0..job.n {
            if !in_grid(&c.boxes[i], key(i), job.cutoff) {
                continue;
            }
            let (cx0, cy0, cx1, cy1) = cell_range(&c.boxes[i], g);
            for cy in cy0..=cy1 {
                for cx in cx0..=cx1 {
                    cells[(cy * g.gx + cx) as usize].push(i as u32);
                }
            }
        }
        let (mut start, mut targets) = (vec![0u32], Vec::new());
        for i in 0..job.n {
            let a = &c.boxes[i];
            if in_grid(a, key(i), job.cutoff) {
                let (cx0, cy0, cx1, cy1) = cell_range(a, g);
                for cy in cy0..=cy1 {
                    for cx in cx0..=cx1 {
                        for &j in &cells[(cy * g.gx + cx) as usize] {
                            let j = j as usize;
                            if job.agnostic == 0 && c.class_ids[j] != c.class_ids[i] {
                                continue;
                            }
                            if key(j) <= key(i) {
                                continue;
                            }
                            let (jx0, jy0, _, _) = cell_range(&c.boxes[j], g);
                            if cx0.max(jx0) != cx || cy0.max(jy0) != cy {
                                continue;
                            }
                            if crate::nms::iou(a, &c.boxes[j]) > job.iou {
                                targets.push(j as u32);
                            }
                        }
                    }
                }
            }
            start.push(targets.len() as u32);
        }
        (start, targets)
    }

    /// `GpuNms::run` with the graph from [`emulate`] instead of the GPU.
    fn emulated_nms(c: &Detections, p: &NmsParams) -> Vec<usize> {
        let mut keep = Vec::new();
        let n = c.len();
        if n == 0 || p.max_det == 0 || p.max_candidates == 0 {
            return keep;
        }
        assert!(p.iou >= 0.0 || p.iou.is_nan(), "the CPU takes these");
        let cutoff = if n > p.max_candidates {
            let mut keys: Vec<u64> = (0..n).map(|i| rank_key(c.scores[i], i)).collect();
            *keys.select_nth_unstable(p.max_candidates - 1).1
        } else {
            u64::MAX
        };
        let keys = ranked(c, n, cutoff, &mut Vec::new());
        let Some(grid) = plan_grid(c, n, cutoff) else {
            keep.extend(
                keys.iter()
                    .take(p.max_det)
                    .map(|&k| (k & 0xFFFF_FFFF) as usize),
            );
            return keep;
        };
        let job = Job {
            n,
            grid,
            cutoff,
            agnostic: p.agnostic as i32,
            iou: p.iou,
        };
        let (start, targets) = emulate(c, &job);
        walk(
            &keys,
            &start,
            &targets,
            p.max_det,
            &mut Vec::new(),
            &mut keep,
        );
        keep
    }

    fn cpu(c: &Detections, p: &NmsParams) -> Vec<usize> {
        let mut keep = Vec::new();
        Nms::new().run(c, p, &mut keep);
        keep
    }

    fn params(iou: f32, agnostic: bool) -> NmsParams {
        NmsParams {
            iou,
            max_det: usize::MAX,
            agnostic,
            max_candidates: usize::MAX,
        }
    }

    #[test]
    fn the_graph_keeps_what_the_cpu_keeps_on_clustered_sets() {
        for n in [1000, 10_000] {
            let mut c = bench_boxes(n, n as u64);
            assert_eq!(
                emulated_nms(&c, &params(0.45, true)),
                cpu(&c, &params(0.45, true))
            );
            for (i, k) in c.class_ids.iter_mut().enumerate() {
                *k = (i as u32).wrapping_mul(2_654_435_761) % 5;
            }
            for agnostic in [false, true] {
                let p = params(0.45, agnostic);
                assert_eq!(
                    emulated_nms(&c, &p),
                    cpu(&c, &p),
                    "n {n}, agnostic {agnostic}"
                );
            }
        }
    }

    #[test]
    fn awkward_boxes_and_limits() {
        let mut c = Detections::default();
        let nan = f32::NAN;
        let inf = f32::INFINITY;
        for b in [
            [0.0, 0.0, 10.0, 10.0],
            [0.0, 0.0, 10.0, 10.0], // a twin, same score below
            [nan, 0.0, 10.0, 10.0],
            [-inf, 0.0, 10.0, 10.0],
            [0.0, 0.0, inf, inf],
            [10.0, 10.0, 0.0, 0.0], // inverted
            [5.0, 5.0, 5.0, 15.0],  // no width
            [1.0, 1.0, 11.0, 11.0],
            [-3e38, -3e38, 3e38, 3e38],
            [1e-30, 1e-30, 2e-30, 2e-30],
            [1.5e-30, 1.5e-30, 2.5e-30, 2.5e-30],
            [1e7, 1e7, 1e7 + 1.0, 1e7 + 1.0],
        ] {
            c.push(b, 0.5, 0);
        }
        c.scores[3] = nan;
        c.scores[7] = 0.9;
        c.scores[8] = -inf;
        for iou in [0.0, 0.3, 0.45, 0.99, 1.0, f32::NAN] {
            for max_det in [1, 3, 100] {
                for max_candidates in [1, 5, usize::MAX] {
                    let p = NmsParams {
                        iou,
                        max_det,
                        agnostic: true,
                        max_candidates,
                    };
                    assert_eq!(emulated_nms(&c, &p), cpu(&c, &p), "{p:?}");
                }
            }
        }
    }

    /// Candidates in clusters with coarse scores (ties) and a few classes, as in src/nms.rs.
    fn clustered() -> impl Strategy<Value = Detections> {
        (1usize..40, 0usize..1500, any::<u64>()).prop_map(|(clusters, n, seed)| {
            let mut rng = crate::rng::XorShift(seed | 1);
            let mut rnd = move || rng.unit_f32();
            let centres: Vec<(f32, f32, f32)> = (0..clusters)
                .map(|_| (rnd() * 2000.0 - 500.0, rnd() * 2000.0, 1.0 + rnd() * 400.0))
                .collect();
            let mut c = Detections::default();
            for _ in 0..n {
                let (cx, cy, size) = centres[(rnd() * clusters as f32) as usize % clusters];
                let (w, h) = (size * (0.2 + 1.6 * rnd()), size * (0.2 + 1.6 * rnd()));
                let (x, y) = (cx + (rnd() - 0.5) * size, cy + (rnd() - 0.5) * size);
                c.push(
                    [x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0],
                    (rnd() * 30.0).floor() / 30.0,
                    (rnd() * 3.0) as u32,
                );
            }
            c
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn the_graph_keeps_what_the_cpu_keeps(
            c in clustered(),
            iou in 0.0f32..1.0,
            agnostic in any::<bool>(),
            max_det in 1usize..2000,
            max_candidates in prop::option::of(1usize..1500),
        ) {
            let p = NmsParams { iou, max_det, agnostic, max_candidates: max_candidates.unwrap_or(usize::MAX) };
            prop_assert_eq!(emulated_nms(&c, &p), cpu(&c, &p));
        }
    }
}
