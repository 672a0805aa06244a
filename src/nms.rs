//! Greedy non-maximum suppression, class-aware unless asked to be agnostic.
//!
//! The kept set is exactly that of the textbook algorithm (and of torchvision's `nms`
//! and OpenCV's `NMSBoxesBatched`): candidates in descending score order, ties broken by
//! the lower index; a candidate is dropped when its IoU with an already kept box of the
//! same class is above the threshold; the run stops at `max_det` kept boxes.

/// Candidate boxes in structure-of-arrays form: `boxes[i]` is `[x1, y1, x2, y2]`.
#[derive(Debug, Default, Clone)]
pub struct Candidates {
    pub boxes: Vec<[f32; 4]>,
    pub scores: Vec<f32>,
    pub classes: Vec<u32>,
}

impl Candidates {
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    pub fn clear(&mut self) {
        self.boxes.clear();
        self.scores.clear();
        self.classes.clear();
    }

    pub fn push(&mut self, b: [f32; 4], score: f32, class: u32) {
        self.boxes.push(b);
        self.scores.push(score);
        self.classes.push(class);
    }
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
pub fn nms(c: &Candidates, p: &NmsParams, order: &mut Vec<usize>, keep: &mut Vec<usize>) {
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
            if (p.agnostic || c.classes[k] == c.classes[i]) && iou(&c.boxes[k], bi) > p.iou {
                continue 'next;
            }
        }
        keep.push(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(iou: f32) -> NmsParams {
        NmsParams {
            iou,
            max_det: 300,
            agnostic: false,
            max_candidates: 30_000,
        }
    }

    fn run(c: &Candidates, p: &NmsParams) -> Vec<usize> {
        let (mut order, mut keep) = (Vec::new(), Vec::new());
        nms(c, p, &mut order, &mut keep);
        keep
    }

    #[test]
    fn iou_of_known_boxes() {
        assert_eq!(iou(&[0.0, 0.0, 2.0, 2.0], &[1.0, 0.0, 3.0, 2.0]), 2.0 / 6.0);
        assert_eq!(iou(&[0.0, 0.0, 1.0, 1.0], &[2.0, 2.0, 3.0, 3.0]), 0.0);
        assert_eq!(iou(&[0.0, 0.0, 0.0, 0.0], &[0.0, 0.0, 0.0, 0.0]), 0.0);
    }

    #[test]
    fn suppresses_within_a_class_only() {
        let mut c = Candidates::default();
        c.push([0.0, 0.0, 10.0, 10.0], 0.9, 0);
        c.push([1.0, 1.0, 10.0, 10.0], 0.8, 0); // IoU 0.81 with the first: dropped
        c.push([1.0, 1.0, 10.0, 10.0], 0.7, 1); // another class: kept
        c.push([20.0, 20.0, 30.0, 30.0], 0.95, 0);
        assert_eq!(run(&c, &params(0.45)), vec![3, 0, 2]);
        let agnostic = NmsParams {
            agnostic: true,
            ..params(0.45)
        };
        assert_eq!(run(&c, &agnostic), vec![3, 0]);
    }

    #[test]
    fn ties_go_to_the_lower_index_and_max_det_stops() {
        let mut c = Candidates::default();
        for i in 0..5 {
            c.push(
                [i as f32 * 100.0, 0.0, i as f32 * 100.0 + 10.0, 10.0],
                0.5,
                0,
            );
        }
        c.push([0.0, 0.0, 10.0, 10.0], 0.5, 0); // same box and score as 0, higher index
        assert_eq!(run(&c, &params(0.45)), vec![0, 1, 2, 3, 4]);
        let p = NmsParams {
            max_det: 2,
            ..params(0.45)
        };
        assert_eq!(run(&c, &p), vec![0, 1]);
    }

    #[test]
    fn matches_a_brute_force_reference_on_random_boxes() {
        // A small deterministic generator, so the test needs no extra crates.
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f32 / (1u64 << 53) as f32
        };
        for round in 0..50 {
            let mut c = Candidates::default();
            for _ in 0..200 {
                let (x, y) = (rnd() * 100.0, rnd() * 100.0);
                let (w, h) = (1.0 + rnd() * 30.0, 1.0 + rnd() * 30.0);
                c.push(
                    [x, y, x + w, y + h],
                    (rnd() * 20.0).floor() / 20.0,
                    (rnd() * 3.0) as u32,
                );
            }
            let p = params(0.3 + 0.01 * round as f32);
            // Reference: repeatedly take the best remaining, drop what it suppresses.
            let mut alive: Vec<usize> = (0..c.len()).collect();
            let mut expected = Vec::new();
            while !alive.is_empty() && expected.len() < p.max_det {
                let best = *alive
                    .iter()
                    .max_by(|&&a, &&b| c.scores[a].total_cmp(&c.scores[b]).then(b.cmp(&a)))
                    .unwrap();
                expected.push(best);
                alive.retain(|&j| {
                    j != best
                        && !(c.classes[j] == c.classes[best]
                            && iou(&c.boxes[best], &c.boxes[j]) > p.iou)
                });
            }
            assert_eq!(run(&c, &p), expected, "round {round}");
        }
    }
}
