//! Polygons, for segmentation labels and area rules: area, point in polygon,
//! Douglas–Peucker simplification and exact IoU.
//!
//! Points are `[x, y]` in `f64`, a polygon is a simple ring of vertices without repeating
//! the first one, in either orientation. IoU is exact (the area of the true intersection,
//! not of bounding boxes, to floating-point rounding): convex polygons are clipped against
//! each other with Sutherland–Hodgman; other polygons are cut into triangles (ear
//! clipping) and the convex clips of overlapping triangle pairs are summed. The `geo`
//! crate's boolean operations were measured against Shapely for this and found off by
//! about 1e-7 of the area (they snap coordinates to an integer grid), so they are not used.

pub type Point = [f64; 2];

/// The area enclosed by a ring (shoelace formula), whatever its orientation.
pub fn area(p: &[Point]) -> f64 {
    signed_area(p).abs()
}

fn signed_area(p: &[Point]) -> f64 {
    if p.len() < 3 {
        return 0.0;
    }
    let mut s = 0.0;
    for i in 0..p.len() {
        let (a, b) = (p[i], p[(i + 1) % p.len()]);
        s += a[0] * b[1] - b[0] * a[1];
    }
    s / 2.0
}

/// Whether `q` is inside the polygon or on its boundary (even-odd rule).
pub fn contains(p: &[Point], q: Point) -> bool {
    let n = p.len();
    if n < 3 {
        return false;
    }
    let mut inside = false;
    for i in 0..n {
        let (a, b) = (p[i], p[(i + 1) % n]);
        if on_segment(a, b, q) {
            return true;
        }
        if (a[1] > q[1]) != (b[1] > q[1]) {
            let x = a[0] + (q[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            if q[0] < x {
                inside = !inside;
            }
        }
    }
    inside
}

fn on_segment(a: Point, b: Point, q: Point) -> bool {
    let cross = (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0]);
    let scale = (b[0] - a[0]).abs() + (b[1] - a[1]).abs();
    cross.abs() <= 1e-12 * scale.max(1.0)
        && q[0] >= a[0].min(b[0])
        && q[0] <= a[0].max(b[0])
        && q[1] >= a[1].min(b[1])
        && q[1] <= a[1].max(b[1])
}

/// Distance from `q` to the segment `a`–`b` (to `a` when the segment is a point).
fn segment_distance(a: Point, b: Point, q: Point) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((q[0] - a[0]) * dx + (q[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (px, py) = (a[0] + t * dx, a[1] + t * dy);
    ((q[0] - px).powi(2) + (q[1] - py).powi(2)).sqrt()
}

/// Douglas–Peucker simplification of a closed ring: drops vertices closer than `epsilon`
/// to the simplified outline. Iterative (an explicit stack), so a ring of millions of
/// points cannot overflow the call stack. Keeps at least three vertices.
pub fn simplify(p: &[Point], epsilon: f64) -> Vec<Point> {
    if p.len() < 4 {
        return p.to_vec();
    }
    // Close the ring and simplify it as a polyline from the first vertex back to itself.
    let n = p.len();
    let at = |i: usize| p[i % n];
    let mut keep = vec![false; n + 1];
    keep[0] = true;
    keep[n] = true;
    let mut stack = vec![(0usize, n)];
    while let Some((s, e)) = stack.pop() {
        if e <= s + 1 {
            continue;
        }
        let (mut far, mut dmax) = (s, -1.0);
        for i in s + 1..e {
            let d = segment_distance(at(s), at(e), at(i));
            if d > dmax {
                dmax = d;
                far = i;
            }
        }
        if dmax > epsilon {
            keep[far] = true;
            stack.push((s, far));
            stack.push((far, e));
        }
    }
    let mut out: Vec<Point> = (0..n).filter(|&i| keep[i]).map(at).collect();
    if out.len() < 3 {
        // Too coarse an epsilon: keep the vertices farthest apart instead of a degenerate ring.
        let far = (1..n)
            .max_by(|&a, &b| {
                segment_distance(p[0], p[0], p[a]).total_cmp(&segment_distance(p[0], p[0], p[b]))
            })
            .unwrap_or(1);
        let third = (1..n)
            .filter(|&i| i != far)
            .max_by(|&a, &b| {
                segment_distance(p[0], p[far], p[a])
                    .total_cmp(&segment_distance(p[0], p[far], p[b]))
            })
            .unwrap_or(2);
        let (i, j) = (far.min(third), far.max(third));
        out = vec![p[0], p[i], p[j]];
    }
    out
}

/// Whether the ring is convex (collinear vertices allowed).
pub fn is_convex(p: &[Point]) -> bool {
    let n = p.len();
    if n < 3 {
        return false;
    }
    let mut sign = 0.0f64;
    for i in 0..n {
        let (a, b, c) = (p[i], p[(i + 1) % n], p[(i + 2) % n]);
        let cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]);
        if cross != 0.0 {
            if sign != 0.0 && cross.signum() != sign {
                return false;
            }
            sign = cross.signum();
        }
    }
    sign != 0.0
}

/// The intersection's area of two convex rings, by Sutherland–Hodgman clipping.
pub fn convex_intersection_area(a: &[Point], b: &[Point]) -> f64 {
    let ccw = |p: &[Point]| -> Vec<Point> {
        let mut v = p.to_vec();
        if signed_area(&v) < 0.0 {
            v.reverse();
        }
        v
    };
    let clip = ccw(b);
    let mut out = ccw(a);
    let mut input = Vec::with_capacity(out.len() + clip.len());
    for i in 0..clip.len() {
        if out.is_empty() {
            break;
        }
        let (c0, c1) = (clip[i], clip[(i + 1) % clip.len()]);
        let side = |q: Point| (c1[0] - c0[0]) * (q[1] - c0[1]) - (c1[1] - c0[1]) * (q[0] - c0[0]);
        std::mem::swap(&mut input, &mut out);
        out.clear();
        for j in 0..input.len() {
            let (p, q) = (input[j], input[(j + 1) % input.len()]);
            let (sp, sq) = (side(p), side(q));
            if sp >= 0.0 {
                out.push(p);
            }
            if (sp >= 0.0) != (sq >= 0.0) {
                let t = sp / (sp - sq);
                out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
            }
        }
    }
    area(&out)
}

/// Cuts a simple ring into triangles (ear clipping). Collinear and repeated vertices
/// are dropped; a ring that is not simple gets the best cut that can be found.
pub fn triangulate(p: &[Point]) -> Vec<[Point; 3]> {
    let mut v: Vec<Point> = p.to_vec();
    v.dedup();
    while v.len() > 1 && v.first() == v.last() {
        v.pop();
    }
    if signed_area(&v) < 0.0 {
        v.reverse();
    }
    let cross = |a: Point, b: Point, c: Point| {
        (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    };
    let inside = |q: Point, a: Point, b: Point, c: Point| {
        cross(a, b, q) >= 0.0 && cross(b, c, q) >= 0.0 && cross(c, a, q) >= 0.0
    };
    let mut out = Vec::with_capacity(v.len().saturating_sub(2));
    let mut idx: Vec<usize> = (0..v.len()).collect();
    let mut i = 0;
    let mut misses = 0;
    while idx.len() > 3 {
        let n = idx.len();
        let (ia, ib, ic) = (idx[(i + n - 1) % n], idx[i % n], idx[(i + 1) % n]);
        let (a, b, c) = (v[ia], v[ib], v[ic]);
        let turn = cross(a, b, c);
        if turn == 0.0 {
            // A collinear vertex adds nothing.
            idx.remove(i % n);
            misses = 0;
            continue;
        }
        let ear = turn > 0.0
            && idx.iter().all(|&k| {
                k == ia
                    || k == ib
                    || k == ic
                    || v[k] == a
                    || v[k] == b
                    || v[k] == c
                    || !inside(v[k], a, b, c)
            });
        if ear {
            out.push([a, b, c]);
            idx.remove(i % n);
            i = (i + n - 1) % (n - 1);
            misses = 0;
        } else {
            i = (i + 1) % n;
            misses += 1;
            if misses > n {
                // Not a simple ring: fan out what is left rather than loop.
                for k in 1..idx.len() - 1 {
                    out.push([v[idx[0]], v[idx[k]], v[idx[k + 1]]]);
                }
                return out;
            }
        }
    }
    if idx.len() == 3 && cross(v[idx[0]], v[idx[1]], v[idx[2]]) != 0.0 {
        out.push([v[idx[0]], v[idx[1]], v[idx[2]]]);
    }
    out
}

fn bounds(p: &[Point]) -> [f64; 4] {
    p.iter().fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |b, q| {
            [
                b[0].min(q[0]),
                b[1].min(q[1]),
                b[2].max(q[0]),
                b[3].max(q[1]),
            ]
        },
    )
}

/// The intersection's area of any two simple rings: the sum of the convex clips of their
/// triangles that overlap (the triangles of one ring do not overlap each other).
pub fn intersection_area(a: &[Point], b: &[Point]) -> f64 {
    if is_convex(a) && is_convex(b) {
        return convex_intersection_area(a, b);
    }
    let (ta, tb) = (triangulate(a), triangulate(b));
    let bb: Vec<[f64; 4]> = tb.iter().map(|t| bounds(t)).collect();
    let mut sum = 0.0;
    for t in &ta {
        let r = bounds(t);
        for (u, s) in tb.iter().zip(&bb) {
            if r[0] < s[2] && s[0] < r[2] && r[1] < s[3] && s[1] < r[3] {
                sum += convex_intersection_area(t, u);
            }
        }
    }
    sum
}

/// Intersection over union of two polygons, exactly: 0 when either has no area.
pub fn iou(a: &[Point], b: &[Point]) -> f64 {
    let (area_a, area_b) = (area(a), area(b));
    if area_a <= 0.0 || area_b <= 0.0 {
        return 0.0;
    }
    let inter = intersection_area(a, b);
    let union = area_a + area_b - inter;
    if union > 0.0 {
        (inter / union).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SQUARE: [Point; 4] = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]];

    #[test]
    fn areas_and_containment() {
        assert_eq!(area(&SQUARE), 4.0);
        let mut cw = SQUARE.to_vec();
        cw.reverse();
        assert_eq!(area(&cw), 4.0);
        assert_eq!(area(&[[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]]), 6.0);
        assert!(
            contains(&SQUARE, [1.0, 1.0])
                && contains(&SQUARE, [2.0, 1.0])
                && !contains(&SQUARE, [2.5, 1.0])
        );
        // A concave "C": the notch is outside.
        let c = [
            [0.0, 0.0],
            [3.0, 0.0],
            [3.0, 1.0],
            [1.0, 1.0],
            [1.0, 2.0],
            [3.0, 2.0],
            [3.0, 3.0],
            [0.0, 3.0],
        ];
        assert!(contains(&c, [0.5, 1.5]) && !contains(&c, [2.0, 1.5]));
        assert!(!is_convex(&c) && is_convex(&SQUARE));
    }

    #[test]
    fn iou_of_known_shapes() {
        let shifted: Vec<Point> = SQUARE.iter().map(|p| [p[0] + 1.0, p[1]]).collect();
        assert!((iou(&SQUARE, &shifted) - 2.0 / 6.0).abs() < 1e-12);
        assert_eq!(iou(&SQUARE, &SQUARE), 1.0);
        let far: Vec<Point> = SQUARE.iter().map(|p| [p[0] + 10.0, p[1]]).collect();
        assert_eq!(iou(&SQUARE, &far), 0.0);
        assert_eq!(iou(&SQUARE, &[[0.0, 0.0], [1.0, 1.0]]), 0.0);
        // Concave against convex goes through the triangulation: the C covers 7 of the 9-unit square.
        let c = [
            [0.0, 0.0],
            [3.0, 0.0],
            [3.0, 1.0],
            [1.0, 1.0],
            [1.0, 2.0],
            [3.0, 2.0],
            [3.0, 3.0],
            [0.0, 3.0],
        ];
        let big = [[0.0, 0.0], [3.0, 0.0], [3.0, 3.0], [0.0, 3.0]];
        assert!((iou(&c, &big) - 7.0 / 9.0).abs() < 1e-12);
    }

    #[test]
    fn simplification_is_iterative_and_keeps_the_shape() {
        // A circle of a million points: a recursive version would recurse deeply here.
        let n = 1_000_000;
        let circle: Vec<Point> = (0..n)
            .map(|i| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                [100.0 * t.cos(), 100.0 * t.sin()]
            })
            .collect();
        let s = simplify(&circle, 0.5);
        assert!(s.len() < 100 && s.len() > 10, "{}", s.len());
        assert!((area(&s) - area(&circle)).abs() / area(&circle) < 0.02);
        // A square with collinear points along its sides loses them.
        let dense = [
            [0.0, 0.0],
            [1.0, 0.0],
            [2.0, 0.0],
            [2.0, 1.0],
            [2.0, 2.0],
            [1.0, 2.0],
            [0.0, 2.0],
            [0.0, 1.0],
        ];
        assert_eq!(simplify(&dense, 0.01).len(), 4);
        assert_eq!(simplify(&dense, 1e9).len(), 3);
    }

    fn convex_polygon() -> impl Strategy<Value = Vec<Point>> {
        (
            3usize..12,
            -50f64..50.0,
            -50f64..50.0,
            1f64..40.0,
            any::<u64>(),
        )
            .prop_map(|(n, cx, cy, r, seed)| {
                // Sorted random angles on a circle give a convex polygon.
                let mut rng = crate::rng::XorShift(seed | 1);
                let mut angles: Vec<f64> = (0..n)
                    .map(|_| rng.unit_f64() * std::f64::consts::TAU)
                    .collect();
                angles.sort_by(f64::total_cmp);
                angles
                    .into_iter()
                    .map(|t| [cx + r * t.cos(), cy + r * t.sin()])
                    .collect()
            })
    }

    /// A star-shaped (usually concave) ring: random radii at sorted angles.
    fn star_polygon() -> impl Strategy<Value = Vec<Point>> {
        (5usize..20, -30f64..30.0, -30f64..30.0, any::<u64>()).prop_map(|(n, cx, cy, seed)| {
            let mut rng = crate::rng::XorShift(seed | 1);
            let mut rnd = move || rng.unit_f64();
            (0..n)
                .map(|i| {
                    let t = (i as f64 + 0.8 * rnd()) / n as f64 * std::f64::consts::TAU;
                    let r = 5.0 + 30.0 * rnd();
                    [cx + r * t.cos(), cy + r * t.sin()]
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn iou_is_symmetric(a in convex_polygon(), b in star_polygon()) {
            prop_assume!(area(&a) > 1e-6 && area(&b) > 1e-6);
            let (ab, ba) = (iou(&a, &b), iou(&b, &a));
            prop_assert!((ab - ba).abs() <= 1e-9, "{} vs {}", ab, ba);
            prop_assert!((0.0..=1.0).contains(&ab));
        }

        #[test]
        fn triangles_cover_the_ring_and_clipping_paths_agree(a in star_polygon(), b in convex_polygon()) {
            let total: f64 = triangulate(&a).iter().map(|t| area(t)).sum();
            prop_assert!((total - area(&a)).abs() <= 1e-9 * (1.0 + area(&a)), "{} vs {}", total, area(&a));
            // A convex ring through the triangle path gives what direct clipping gives.
            if is_convex(&b) {
                let direct = convex_intersection_area(&b, &b);
                let tris: f64 = triangulate(&b).iter().map(|t| convex_intersection_area(t, &b)).sum();
                prop_assert!((direct - tris).abs() <= 1e-9 * (1.0 + direct));
            }
            prop_assert!((intersection_area(&a, &a) - area(&a)).abs() <= 1e-9 * (1.0 + area(&a)));
        }
    }
}
