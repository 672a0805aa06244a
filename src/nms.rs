//! Greedy non-maximum suppression, class-aware unless asked to be agnostic.
//!
//! The kept set is exactly that of the textbook algorithm (and of torchvision's `nms`
//! and OpenCV's `NMSBoxesBatched`): candidates in descending score order, ties broken by
//! the lower index; a candidate is dropped when its IoU with an already kept box of the
//! same class is above the threshold; the run stops at `max_det` kept boxes.

use crate::detections::Detections;

/// Benchmark input, shared by `benches/nms.rs` and `anylabel bench nms`: boxes in clusters
/// of about ten around random centres, as a detector's raw output is;
/// the area grows with the count so the density stays the same.
pub fn bench_boxes(n: usize, seed: u64) -> Detections {
    let mut rng = crate::rng::XorShift(seed | 1);
    let mut rnd = move || rng.unit_f32();
    let clusters = (n / 10).max(1);
    let extent = (clusters as f32).sqrt() * 100.0;
    let centres: Vec<(f32, f32, f32)> = (0..clusters)
        .map(|_| (rnd() * extent, rnd() * extent, 30.0 + rnd() * 60.0))
        .collect();
    // Distinct scores (a shuffled ramp), so that no tie-breaking rule decides the kept set
    // and ours can be compared with powerboxes', which breaks ties differently.
    let mut ranks: Vec<usize> = (1..=n).collect();
    for i in (1..n).rev() {
        ranks.swap(i, ((rnd() * (i + 1) as f32) as usize).min(i));
    }
    let mut c = Detections::default();
    for rank in ranks {
        let (cx, cy, size) = centres[((rnd() * clusters as f32) as usize).min(clusters - 1)];
        let (x, y) = (cx + (rnd() - 0.5) * 16.0, cy + (rnd() - 0.5) * 16.0);
        let (w, h) = (size * (0.9 + 0.2 * rnd()), size * (0.9 + 0.2 * rnd()));
        c.push(
            [x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0],
            rank as f32 / (n + 1) as f32,
            0,
        );
    }
    c
}

/// The parameters of one NMS run.
#[derive(Debug, Clone, Copy)]
pub struct NmsParams {
    /// Boxes whose IoU with a kept box is above this are dropped.
    pub iou: f32,
    /// Stop after this many kept boxes.
    pub max_det: usize,
    /// Let boxes of different classes suppress each other.
    pub agnostic: bool,
    /// Consider at most this many of the highest-scoring candidates (Ultralytics' `max_nms`).
    pub max_candidates: usize,
}

/// Intersection over union of two `[x1, y1, x2, y2]` boxes, as torchvision computes it.
#[inline]
pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let area_a = (a[2] - a[0]) * (a[3] - a[1]);
    let area_b = (b[2] - b[0]) * (b[3] - b[1]);
    let union = area_a + area_b - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Runs NMS over `c` and writes the indices it keeps into `keep`, highest score first.
/// `order` is scratch space, reused between calls.
///
/// The plain textbook loop: the reference the fast [`Nms`] is tested against.
pub fn nms(c: &Detections, p: &NmsParams, order: &mut Vec<usize>, keep: &mut Vec<usize>) {
    keep.clear();
    order.clear();
    order.extend(0..c.len());
    // A stable sort keeps the lower index first among equal scores.
    order.sort_by(|&a, &b| c.scores[b].total_cmp(&c.scores[a]));
    order.truncate(p.max_candidates);
    'next: for &i in order.iter() {
        if keep.len() >= p.max_det {
            break;
        }
        let bi = &c.boxes[i];
        for &k in keep.iter() {
            if (p.agnostic || c.class_ids[k] == c.class_ids[i]) && iou(&c.boxes[k], bi) > p.iou {
                continue 'next;
            }
        }
        keep.push(i);
    }
}

/// A sort key that orders by score, highest first, then by index, lowest first.
#[inline]
pub(crate) fn rank_key(score: f32, index: usize) -> u64 {
    ((descending_score(score) as u64) << 32) | index as u64
}

/// f32 bits made monotonic over all values (negative ones included), then inverted, so
/// that ascending order is descending score.
#[inline]
fn descending_score(score: f32) -> u32 {
    let bits = score.to_bits();
    let monotonic = if bits & 0x8000_0000 != 0 {
        !bits
    } else {
        bits | 0x8000_0000
    };
    !monotonic
}

/// Sorts `keys` (score key high, index low, indices ascending on entry) by their high 32
/// bits with a stable LSD radix sort in three passes, so equal scores keep index order.
pub(crate) fn radix_sort_by_score(keys: &mut Vec<u64>, scratch: &mut Vec<u64>) {
    if keys.len() < 256 {
        keys.sort_unstable();
        return;
    }
    scratch.clear();
    scratch.resize(keys.len(), 0);
    for (shift, bits) in [(32u32, 11u32), (43, 11), (54, 10)] {
        let mask = (1u64 << bits) - 1;
        let mut counts = [0usize; 2048];
        for k in keys.iter() {
            counts[((k >> shift) & mask) as usize] += 1;
        }
        let mut sum = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = sum;
            sum += n;
        }
        for &k in keys.iter() {
            let d = ((k >> shift) & mask) as usize;
            scratch[counts[d]] = k;
            counts[d] += 1;
        }
        std::mem::swap(keys, scratch);
    }
}

/// Groups above this size use the spatial grid; smaller ones compare against every kept box.
const GRID_FROM: usize = 128;
/// The grid has at most this many cells a side.
const GRID_MAX: usize = 256;

/// Fast greedy NMS with reused scratch memory: the same kept set as [`nms`].
///
/// Classes never suppress each other, so the candidates are first bucketed by class (a
/// counting sort, in index order) and each class is its own problem. A bucket's
/// candidates are ranked by one `u64` key each (score, then index) with a stable radix
/// sort, their boxes gathered in rank order, and run greedily against the boxes kept so
/// far: small buckets hold the kept boxes in structure-of-arrays form so the IoU loop
/// vectorises; large ones in a uniform grid whose cells hold the boxes themselves (a cache
/// line each, fetched ahead), so a candidate is compared only with kept boxes near it:
/// the only ones that can overlap it, hence the only ones that can suppress it. The kept
/// boxes of all classes are merged by key and cut at `max_det`.
#[derive(Debug, Default)]
pub struct Nms {
    keys: Vec<u64>,
    scratch: Vec<u64>,
    /// Candidate indices bucketed by class.
    by_class: Vec<u32>,
    counts: Vec<u32>,
    /// Keys of kept candidates, over all buckets.
    kept_keys: Vec<u64>,
    // The current bucket's kept boxes, structure-of-arrays.
    kx1: Vec<f32>,
    ky1: Vec<f32>,
    kx2: Vec<f32>,
    ky2: Vec<f32>,
    karea: Vec<f32>,
    grid: Vec<Cell>,
    overflow: Vec<([f32; 4], u32)>,
    touched: Vec<u32>,
    /// The current bucket's boxes in rank order, gathered so the greedy loop reads them in sequence.
    gathered: Vec<[f32; 4]>,
}

impl Nms {
    pub fn new() -> Nms {
        Nms::default()
    }

    /// Runs NMS over `c` and writes the indices it keeps into `keep`, highest score first.
    pub fn run(&mut self, c: &Detections, p: &NmsParams, keep: &mut Vec<usize>) {
        keep.clear();
        self.kept_keys.clear();
        let n = c.len().min(u32::MAX as usize);
        if n == 0 || p.max_det == 0 {
            return;
        }
        // Only the best `max_candidates` take part: the key of the last one that does.
        let cutoff = if n > p.max_candidates && p.max_candidates > 0 {
            self.keys.clear();
            self.keys.extend(
                c.scores[..n]
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| rank_key(s, i)),
            );
            *self.keys.select_nth_unstable(p.max_candidates - 1).1
        } else if p.max_candidates == 0 {
            return;
        } else {
            u64::MAX
        };
        let first = c.class_ids[0];
        let max_class = c.class_ids[..n].iter().copied().max().unwrap_or(0) as usize;
        if p.agnostic || c.class_ids[..n].iter().all(|&k| k == first) {
            let mut keys = std::mem::take(&mut self.keys);
            keys.clear();
            keys.extend(
                c.scores[..n]
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| rank_key(s, i))
                    .filter(|&k| k <= cutoff),
            );
            self.run_bucket(c, p, &mut keys);
            self.keys = keys;
        } else if max_class > 1 << 20 {
            // Huge class ids: order by (class, key) instead of counting.
            let mut pairs: Vec<(u32, u64)> = (0..n)
                .map(|i| (c.class_ids[i], rank_key(c.scores[i], i)))
                .filter(|&(_, k)| k <= cutoff)
                .collect();
            pairs.sort_unstable();
            let mut keys = std::mem::take(&mut self.keys);
            let mut start = 0;
            while start < pairs.len() {
                let class = pairs[start].0;
                let end = start + pairs[start..].iter().take_while(|v| v.0 == class).count();
                keys.clear();
                keys.extend(pairs[start..end].iter().map(|v| v.1));
                self.run_bucket(c, p, &mut keys);
                start = end;
            }
            self.keys = keys;
        } else {
            // A counting sort by class, in index order.
            self.counts.clear();
            self.counts.resize(max_class + 2, 0);
            for &k in &c.class_ids[..n] {
                self.counts[k as usize + 1] += 1;
            }
            for i in 1..self.counts.len() {
                self.counts[i] += self.counts[i - 1];
            }
            self.by_class.clear();
            self.by_class.resize(n, 0);
            for (i, &k) in c.class_ids[..n].iter().enumerate() {
                let slot = &mut self.counts[k as usize];
                self.by_class[*slot as usize] = i as u32;
                *slot += 1;
            }
            // counts[class] is now the end of that class's bucket.
            let mut keys = std::mem::take(&mut self.keys);
            let by_class = std::mem::take(&mut self.by_class);
            let mut start = 0usize;
            for class in 0..=max_class {
                let end = self.counts[class] as usize;
                if end > start {
                    keys.clear();
                    keys.extend(
                        by_class[start..end]
                            .iter()
                            .map(|&i| rank_key(c.scores[i as usize], i as usize))
                            .filter(|&k| k <= cutoff),
                    );
                    self.run_bucket(c, p, &mut keys);
                }
                start = end;
            }
            self.keys = keys;
            self.by_class = by_class;
        }
        self.kept_keys.sort_unstable();
        self.kept_keys.truncate(p.max_det);
        keep.extend(self.kept_keys.iter().map(|&k| (k & 0xFFFF_FFFF) as usize));
    }

    /// Greedy NMS over one class's candidates (`keys`, in index order; sorted here),
    /// appending the keys it keeps.
    fn run_bucket(&mut self, c: &Detections, p: &NmsParams, keys: &mut Vec<u64>) {
        if keys.is_empty() {
            return;
        }
        radix_sort_by_score(keys, &mut self.scratch);
        // Gather the boxes in rank order: independent loads, fetched ahead.
        self.gathered.clear();
        const AHEAD: usize = 16;
        for (j, &k) in keys.iter().enumerate() {
            if let Some(&later) = keys.get(j + AHEAD) {
                prefetch(&c.boxes[(later & 0xFFFF_FFFF) as usize]);
            }
            self.gathered.push(c.boxes[(k & 0xFFFF_FFFF) as usize]);
        }
        for v in [
            &mut self.kx1,
            &mut self.ky1,
            &mut self.kx2,
            &mut self.ky2,
            &mut self.karea,
        ] {
            v.clear();
        }
        if keys.len() >= GRID_FROM {
            self.run_bucket_grid(p, keys);
            return;
        }
        let mut kept = 0;
        for (j, b) in std::mem::take(&mut self.gathered).iter().enumerate() {
            if kept >= p.max_det {
                break;
            }
            let area = (b[2] - b[0]) * (b[3] - b[1]);
            if !suppressed(
                &self.kx1,
                &self.ky1,
                &self.kx2,
                &self.ky2,
                &self.karea,
                b,
                area,
                p.iou,
            ) {
                self.push_kept(b, area);
                self.kept_keys.push(keys[j]);
                kept += 1;
            }
        }
    }

    fn push_kept(&mut self, b: &[f32; 4], area: f32) {
        self.kx1.push(b[0]);
        self.ky1.push(b[1]);
        self.kx2.push(b[2]);
        self.ky2.push(b[3]);
        self.karea.push(area);
    }

    /// The greedy loop of a large bucket (its boxes `gathered` in the rank order of
    /// `keys`), with the kept boxes in a grid ([`GridShape`]) so that each candidate meets
    /// only the kept boxes near it.
    fn run_bucket_grid(&mut self, p: &NmsParams, keys: &[u64]) {
        let g = GridShape::over(&self.gathered);
        if self.grid.len() < g.gx * g.gy {
            self.grid.resize(g.gx * g.gy, Cell::EMPTY);
        }
        const AHEAD: usize = 8;
        let mut kept = 0;
        // `gathered` holds one box per key, in the keys' order.
        for (offset, &key) in keys.iter().enumerate() {
            if kept >= p.max_det {
                break;
            }
            // The grid does not fit in the fastest caches and candidates come in score order,
            // not by place: ask for the cells a later candidate will read now.
            if let Some(ahead) = self.gathered.get(offset + AHEAD) {
                let (ax, ay0, ay1) = (g.col(ahead[0]), g.row(ahead[1]), g.row(ahead[3]));
                prefetch(&self.grid[ay0 * g.gx + ax]);
                prefetch(&self.grid[ay1 * g.gx + ax]);
            }
            let b = self.gathered[offset];
            let area = (b[2] - b[0]) * (b[3] - b[1]);
            let cells = g.cells(&b);
            if self.grid_suppresses(g.gx, cells, &b, area, p.iou) {
                continue;
            }
            self.kept_keys.push(key);
            kept += 1;
            self.grid_insert(g.gx, cells, &b);
        }
        for at in self.touched.drain(..) {
            self.grid[at as usize] = Cell::EMPTY;
        }
        self.overflow.clear();
    }

    /// Whether a kept box in the `cells` (of a grid `gx` cells wide) overlaps `b`, of
    /// `area`, by more than `iou`.
    #[inline(always)]
    fn grid_suppresses(&self, gx: usize, cells: Cells, b: &[f32; 4], area: f32, iou: f32) -> bool {
        for cy in cells.y0..=cells.y1 {
            for cx in cells.x0..=cells.x1 {
                let cell = &self.grid[cy * gx + cx];
                for kb in &cell.boxes[..(cell.len as usize).min(CELL_SLOTS)] {
                    if iou_with_areas(kb, (kb[2] - kb[0]) * (kb[3] - kb[1]), b, area) > iou {
                        return true;
                    }
                }
                let mut next = cell.overflow;
                while next != u32::MAX {
                    let (kb, after) = &self.overflow[next as usize];
                    if iou_with_areas(kb, (kb[2] - kb[0]) * (kb[3] - kb[1]), b, area) > iou {
                        return true;
                    }
                    next = *after;
                }
            }
        }
        false
    }

    /// Puts the kept box `b` into each of its `cells` (of a grid `gx` cells wide): into a
    /// free slot, else onto the cell's overflow list.
    #[inline(always)]
    fn grid_insert(&mut self, gx: usize, cells: Cells, b: &[f32; 4]) {
        for cy in cells.y0..=cells.y1 {
            for cx in cells.x0..=cells.x1 {
                let at = cy * gx + cx;
                let cell = &mut self.grid[at];
                if cell.len == 0 {
                    self.touched.push(at as u32);
                }
                if (cell.len as usize) < CELL_SLOTS {
                    cell.boxes[cell.len as usize] = *b;
                } else {
                    self.overflow.push((*b, cell.overflow));
                    cell.overflow = (self.overflow.len() - 1) as u32;
                }
                cell.len += 1;
            }
        }
    }
}

/// The uniform grid over one bucket's boxes: its origin, the inverse of its cell size, and
/// its cells a side (`gx × gy`, at most [`GRID_MAX`] each).
#[derive(Debug, Clone, Copy)]
struct GridShape {
    x0: f32,
    y0: f32,
    icw: f32,
    ich: f32,
    gx: usize,
    gy: usize,
}

/// The cells a box covers: columns `x0..=x1`, rows `y0..=y1`.
#[derive(Debug, Clone, Copy)]
struct Cells {
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
}

impl GridShape {
    /// A grid that spans `boxes`, with cells about the size of an average box.
    fn over(boxes: &[[f32; 4]]) -> GridShape {
        let (mut x0, mut y0, mut x1, mut y1) = (
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        );
        let (mut sw, mut sh) = (0f64, 0f64);
        for b in boxes {
            x0 = x0.min(b[0]);
            y0 = y0.min(b[1]);
            x1 = x1.max(b[2]);
            y1 = y1.max(b[3]);
            sw += (b[2] - b[0]).max(0.0) as f64;
            sh += (b[3] - b[1]).max(0.0) as f64;
        }
        let count = boxes.len() as f64;
        let (ew, eh) = ((x1 - x0).max(1e-6), (y1 - y0).max(1e-6));
        let cw = ((sw / count) as f32).max(ew / GRID_MAX as f32).max(1e-6);
        let ch = ((sh / count) as f32).max(eh / GRID_MAX as f32).max(1e-6);
        GridShape {
            x0,
            y0,
            icw: 1.0 / cw,
            ich: 1.0 / ch,
            gx: ((ew / cw).ceil() as usize).clamp(1, GRID_MAX),
            gy: ((eh / ch).ceil() as usize).clamp(1, GRID_MAX),
        }
    }

    // Any monotonic map from coordinates to cells keeps overlapping boxes in a shared
    // cell; values are at or above the origin, so truncation is the floor (a NaN is 0).

    /// The column of `x`.
    #[inline(always)]
    fn col(&self, x: f32) -> usize {
        (((x - self.x0) * self.icw) as usize).min(self.gx - 1)
    }

    /// The row of `y`.
    #[inline(always)]
    fn row(&self, y: f32) -> usize {
        (((y - self.y0) * self.ich) as usize).min(self.gy - 1)
    }

    /// The cells the box `b` covers.
    #[inline(always)]
    fn cells(&self, b: &[f32; 4]) -> Cells {
        Cells {
            x0: self.col(b[0]),
            x1: self.col(b[2]),
            y0: self.row(b[1]),
            y1: self.row(b[3]),
        }
    }
}

#[inline(always)]
fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults and the pointer comes from a reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch(r as *const T as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// Kept boxes stored in a grid cell itself (one cache line), more in a linked overflow list.
const CELL_SLOTS: usize = 3;

#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Cell {
    len: u32,
    overflow: u32,
    boxes: [[f32; 4]; CELL_SLOTS],
}

impl Cell {
    const EMPTY: Cell = Cell {
        len: 0,
        overflow: u32::MAX,
        boxes: [[0.0; 4]; CELL_SLOTS],
    };
}

/// IoU with the areas given, computed in the same order as [`iou`] (kept box first), so
/// the results are bit-identical.
#[inline(always)]
fn iou_with_areas(a: &[f32; 4], area_a: f32, b: &[f32; 4], area_b: f32) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let union = area_a + area_b - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Whether any kept box overlaps `b` by more than `thr`. Branch-free over blocks of kept
/// boxes so that the compiler vectorises it, with an exit between blocks.
#[allow(clippy::too_many_arguments)]
#[inline]
fn suppressed(
    kx1: &[f32],
    ky1: &[f32],
    kx2: &[f32],
    ky2: &[f32],
    karea: &[f32],
    b: &[f32; 4],
    area: f32,
    thr: f32,
) -> bool {
    const BLOCK: usize = 32;
    let n = kx1.len();
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        let mut hit = false;
        for j in start..end {
            let w = (kx2[j].min(b[2]) - kx1[j].max(b[0])).max(0.0);
            let h = (ky2[j].min(b[3]) - ky1[j].max(b[1])).max(0.0);
            let inter = w * h;
            let union = karea[j] + area - inter;
            let iou = if union > 0.0 { inter / union } else { 0.0 };
            hit |= iou > thr;
        }
        if hit {
            return true;
        }
        start = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn params(iou: f32) -> NmsParams {
        NmsParams {
            iou,
            max_det: 300,
            agnostic: false,
            max_candidates: usize::MAX,
        }
    }

    fn both(c: &Detections, p: &NmsParams) -> Vec<usize> {
        let (mut order, mut reference) = (Vec::new(), Vec::new());
        nms(c, p, &mut order, &mut reference);
        let mut fast = Vec::new();
        Nms::new().run(c, p, &mut fast);
        assert_eq!(
            fast, reference,
            "the fast NMS differs from the textbook loop"
        );
        fast
    }

    #[test]
    fn iou_of_known_boxes() {
        assert_eq!(iou(&[0.0, 0.0, 2.0, 2.0], &[1.0, 0.0, 3.0, 2.0]), 2.0 / 6.0);
        assert_eq!(iou(&[0.0, 0.0, 1.0, 1.0], &[2.0, 2.0, 3.0, 3.0]), 0.0);
        assert_eq!(iou(&[0.0, 0.0, 0.0, 0.0], &[0.0, 0.0, 0.0, 0.0]), 0.0);
    }

    #[test]
    fn suppresses_within_a_class_only() {
        let mut c = Detections::default();
        c.push([0.0, 0.0, 10.0, 10.0], 0.9, 0);
        c.push([1.0, 1.0, 10.0, 10.0], 0.8, 0); // IoU 0.81 with the first: dropped
        c.push([1.0, 1.0, 10.0, 10.0], 0.7, 1); // another class: kept
        c.push([20.0, 20.0, 30.0, 30.0], 0.95, 0);
        assert_eq!(both(&c, &params(0.45)), vec![3, 0, 2]);
        let agnostic = NmsParams {
            agnostic: true,
            ..params(0.45)
        };
        assert_eq!(both(&c, &agnostic), vec![3, 0]);
    }

    #[test]
    fn ties_go_to_the_lower_index_and_max_det_stops() {
        let mut c = Detections::default();
        for i in 0..5 {
            c.push(
                [i as f32 * 100.0, 0.0, i as f32 * 100.0 + 10.0, 10.0],
                0.5,
                0,
            );
        }
        c.push([0.0, 0.0, 10.0, 10.0], 0.5, 0); // same box and score as 0, higher index
        assert_eq!(both(&c, &params(0.45)), vec![0, 1, 2, 3, 4]);
        let p = NmsParams {
            max_det: 2,
            ..params(0.45)
        };
        assert_eq!(both(&c, &p), vec![0, 1]);
    }

    #[test]
    fn the_radix_sort_is_stable_and_orders_by_score() {
        let mut rng = crate::rng::XorShift(7);
        let scores: Vec<f32> = (0..5000)
            .map(|_| {
                let s = rng.next_u64();
                [
                    (s % 100) as f32 / 100.0,
                    -((s % 7) as f32),
                    f32::INFINITY,
                    0.0,
                ][(s % 4) as usize]
            })
            .collect();
        let mut keys: Vec<u64> = scores
            .iter()
            .enumerate()
            .map(|(i, &v)| rank_key(v, i))
            .collect();
        let mut expected = keys.clone();
        expected.sort_unstable();
        radix_sort_by_score(&mut keys, &mut Vec::new());
        assert_eq!(keys, expected);
    }

    #[test]
    fn rank_keys_order_by_score_then_index() {
        let mut keys = [
            rank_key(0.5, 3),
            rank_key(0.9, 7),
            rank_key(0.5, 1),
            rank_key(0.0, 0),
            rank_key(-1.0, 2),
        ];
        keys.sort_unstable();
        let order: Vec<u64> = keys.iter().map(|k| k & 0xFFFF_FFFF).collect();
        assert_eq!(order, [7, 1, 3, 0, 2]);
    }

    /// Candidates in clusters (as a detector's raw output is), with scores on a coarse grid
    /// so ties are common.
    fn clustered() -> impl Strategy<Value = Detections> {
        (1usize..60, 0usize..3000, any::<u64>()).prop_map(|(clusters, n, seed)| {
            let mut rng = crate::rng::XorShift(seed | 1);
            let mut rnd = move || rng.unit_f32();
            let centres: Vec<(f32, f32, f32)> = (0..clusters)
                .map(|_| (rnd() * 2000.0, rnd() * 2000.0, 10.0 + rnd() * 200.0))
                .collect();
            let mut c = Detections::default();
            for _ in 0..n {
                let (cx, cy, size) = centres[(rnd() * clusters as f32) as usize % clusters];
                let (w, h) = (size * (0.7 + 0.6 * rnd()), size * (0.7 + 0.6 * rnd()));
                let (x, y) = (
                    cx + (rnd() - 0.5) * size * 0.4,
                    cy + (rnd() - 0.5) * size * 0.4,
                );
                c.push(
                    [x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0],
                    (rnd() * 50.0).floor() / 50.0,
                    (rnd() * 4.0) as u32,
                );
            }
            c
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The kept set equals the textbook loop's, whatever the size (both the linear and
        /// the grid paths), the classes, the limits and the threshold.
        #[test]
        fn keeps_what_the_textbook_keeps(
            c in clustered(),
            iou_t in 0.0f32..0.95,
            agnostic in any::<bool>(),
            max_det in 1usize..2000,
            max_candidates in prop::option::of(1usize..3000),
        ) {
            let p = NmsParams { iou: iou_t, max_det, agnostic, max_candidates: max_candidates.unwrap_or(usize::MAX) };
            let kept = both(&c, &p);
            let is_kept = {
                let mut v = vec![false; c.len()];
                for &k in &kept { v[k] = true; }
                v
            };
            let same_class = |a: usize, b: usize| agnostic || c.class_ids[a] == c.class_ids[b];
            // No two kept boxes of a class overlap by more than the threshold.
            for (x, &a) in kept.iter().enumerate() {
                for &b in &kept[x + 1..] {
                    prop_assert!(!same_class(a, b) || iou(&c.boxes[a], &c.boxes[b]) <= iou_t);
                }
                // Highest score first.
                if x > 0 { prop_assert!(c.scores[kept[x - 1]] >= c.scores[a]); }
            }
            // Every dropped box is overlapped by a better kept box of its class, or came
            // after max_det kept boxes, or was past max_candidates.
            let mut order: Vec<usize> = (0..c.len()).collect();
            order.sort_by(|&a, &b| c.scores[b].total_cmp(&c.scores[a]));
            let mut rank_of = vec![0; c.len()];
            for (rank, &i) in order.iter().enumerate() { rank_of[i] = rank; }
            for (rank, &d) in order.iter().enumerate() {
                if is_kept[d] { continue; }
                let better: Vec<usize> = kept.iter().copied().filter(|&k| rank_of[k] < rank).collect();
                let suppressed = better.iter().any(|&k| same_class(k, d) && iou(&c.boxes[k], &c.boxes[d]) > iou_t);
                prop_assert!(suppressed || better.len() >= max_det || rank >= p.max_candidates);
            }
        }
    }
}
