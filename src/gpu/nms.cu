// NMS for large candidate sets: finds, for every candidate, the lower-ranked candidates of
// its class that it would suppress (IoU above the threshold), as a CSR graph the host walks
// greedily in rank order (src/gpu/nms.rs). Only boxes that share a grid cell are compared.
//
// Exactness, given a threshold >= 0 (the host takes other thresholds to the CPU):
// * IoU is src/nms.rs's `iou` with the better-ranked box first, operation by operation, in
//   f32 with round-to-nearest intrinsics, which NVRTC never fuses (and --fmad=false).
//   fminf/fmaxf return the other operand for one NaN, as Rust's f32::min/max do.
// * Rank is the CPU's `rank_key`: descending score (total order on the f32 bits), then
//   ascending index; boxes past the `max_candidates` cutoff take no part.
// * IoU > t >= 0 needs inter > 0, so both boxes have finite coordinates with x2 > x1 and
//   y2 > y1 (a non-finite coordinate makes an area inf or NaN, and then IoU 0 or NaN), and
//   they overlap: p = (max(x1), max(y1)) lies in both. `cell` is monotonic, so p's cell is in
//   both boxes' cell ranges: every such pair shares a cell. A pair is tested only in the
//   first cell both cover, (max(cx0), max(cy0)), so each edge is written once.

#define KEY_NONE 0xFFFFFFFFFFFFFFFFull

__device__ __forceinline__ unsigned long long rank_key(float score, unsigned int index) {
    unsigned int bits = __float_as_uint(score);
    unsigned int monotonic = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
    return ((unsigned long long)(~monotonic) << 32) | index;
}

struct Grid {
    float x0, y0, inv_w, inv_h;
    int gx, gy;
};

__device__ __forceinline__ int cell(float v, float origin, float inv, int cells) {
    // v >= origin for boxes in the grid, so the floor is >= 0; the float clamp first keeps
    // huge values from overflowing the int.
    float f = floorf(__fmul_rn(__fsub_rn(v, origin), inv));
    f = fminf(f, (float)(cells - 1));
    int c = (int)f;
    return c < 0 ? 0 : c;
}

__device__ __forceinline__ bool in_grid(const float4 b, unsigned long long key,
                                        unsigned long long cutoff) {
    return key <= cutoff && isfinite(b.x) && isfinite(b.y) && isfinite(b.z) && isfinite(b.w)
        && b.z > b.x && b.w > b.y;
}

__device__ __forceinline__ void cell_range(const float4 b, const Grid g, int* cx0, int* cy0,
                                           int* cx1, int* cy1) {
    *cx0 = cell(b.x, g.x0, g.inv_w, g.gx);
    *cy0 = cell(b.y, g.y0, g.inv_h, g.gy);
    *cx1 = cell(b.z, g.x0, g.inv_w, g.gx);
    *cy1 = cell(b.w, g.y0, g.inv_h, g.gy);
}

// src/nms.rs `iou(a, b)`: a is the better-ranked (kept) box.
__device__ __forceinline__ float iou(const float4 a, const float4 b) {
    float w = fmaxf(__fsub_rn(fminf(a.z, b.z), fmaxf(a.x, b.x)), 0.0f);
    float h = fmaxf(__fsub_rn(fminf(a.w, b.w), fmaxf(a.y, b.y)), 0.0f);
    float inter = __fmul_rn(w, h);
    float area_a = __fmul_rn(__fsub_rn(a.z, a.x), __fsub_rn(a.w, a.y));
    float area_b = __fmul_rn(__fsub_rn(b.z, b.x), __fsub_rn(b.w, b.y));
    float uni = __fsub_rn(__fadd_rn(area_a, area_b), inter);
    return uni > 0.0f ? __fdiv_rn(inter, uni) : 0.0f;
}

// Pass 1: how many grid entries each cell gets.
extern "C" __global__ void nms_cell_count(
    int n, const float4* __restrict__ boxes, const float* __restrict__ scores,
    unsigned long long cutoff, Grid g, unsigned int* __restrict__ cell_count)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float4 b = boxes[i];
    if (!in_grid(b, rank_key(scores[i], i), cutoff)) return;
    int cx0, cy0, cx1, cy1;
    cell_range(b, g, &cx0, &cy0, &cx1, &cy1);
    for (int cy = cy0; cy <= cy1; cy++)
        for (int cx = cx0; cx <= cx1; cx++)
            atomicAdd(&cell_count[cy * g.gx + cx], 1u);
}

// Exclusive prefix sum of `count[0..len]` into `offsets[0..len + 1]`, in one block of 1024
// threads, each summing a contiguous chunk. Resets `count` to 0 for the next pass's cursors.
extern "C" __global__ void nms_scan(unsigned int* __restrict__ count, int len,
                                    unsigned int* __restrict__ offsets)
{
    __shared__ unsigned int sums[1024];
    const int t = threadIdx.x;
    const int chunk = (len + 1023) / 1024;
    const int begin = min(t * chunk, len), end = min(begin + chunk, len);
    unsigned int s = 0;
    for (int k = begin; k < end; k++) s += count[k];
    sums[t] = s;
    __syncthreads();
    // Hillis-Steele inclusive scan of the 1024 chunk sums.
    for (int d = 1; d < 1024; d <<= 1) {
        unsigned int v = t >= d ? sums[t - d] : 0;
        __syncthreads();
        sums[t] += v;
        __syncthreads();
    }
    unsigned int run = sums[t] - s;
    for (int k = begin; k < end; k++) {
        offsets[k] = run;
        run += count[k];
        count[k] = 0;
    }
    if (t == 1023) offsets[len] = sums[1023];
}

// Pass 2: each box's index into every cell it covers (order within a cell is arbitrary).
extern "C" __global__ void nms_cell_fill(
    int n, const float4* __restrict__ boxes, const float* __restrict__ scores,
    unsigned long long cutoff, Grid g, const unsigned int* __restrict__ cell_start,
    unsigned int* __restrict__ cursor, unsigned int capacity, unsigned int* __restrict__ entries)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float4 b = boxes[i];
    if (!in_grid(b, rank_key(scores[i], i), cutoff)) return;
    int cx0, cy0, cx1, cy1;
    cell_range(b, g, &cx0, &cy0, &cx1, &cy1);
    for (int cy = cy0; cy <= cy1; cy++)
        for (int cx = cx0; cx <= cx1; cx++) {
            const int c = cy * g.gx + cx;
            const unsigned int slot = cell_start[c] + atomicAdd(&cursor[c], 1u);
            if (slot < capacity) entries[slot] = (unsigned int)i;  // else the host makes room and runs again
        }
}

// Passes 3 and 4: the edges i -> j, j ranked below i, same class (unless agnostic), IoU
// above `thr`. With `targets` null it counts them into `edge_count[i]`; else it writes them
// from `edge_start[i]` on (in any order: the host only marks them).
extern "C" __global__ void nms_edges(
    int n, const float4* __restrict__ boxes, const float* __restrict__ scores,
    const unsigned int* __restrict__ classes, int agnostic, float thr,
    unsigned long long cutoff, Grid g, const unsigned int* __restrict__ cell_start,
    const unsigned int* __restrict__ entries, unsigned int* __restrict__ edge_count,
    const unsigned int* __restrict__ edge_start, unsigned int* __restrict__ targets)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float4 a = boxes[i];
    const unsigned long long key = rank_key(scores[i], i);
    if (!in_grid(a, key, cutoff)) {
        if (targets == 0) edge_count[i] = 0;
        return;
    }
    const unsigned int cls = classes[i];
    int cx0, cy0, cx1, cy1;
    cell_range(a, g, &cx0, &cy0, &cx1, &cy1);
    unsigned int found = 0;
    const unsigned int at = targets == 0 ? 0 : edge_start[i];
    for (int cy = cy0; cy <= cy1; cy++)
        for (int cx = cx0; cx <= cx1; cx++) {
            const int c = cy * g.gx + cx;
            for (unsigned int e = cell_start[c]; e < cell_start[c + 1]; e++) {
                const unsigned int j = entries[e];
                if (!agnostic && classes[j] != cls) continue;
                if (rank_key(scores[j], j) <= key) continue;  // j is not below i (or is i)
                const float4 b = boxes[j];
                int jx0, jy0, jx1, jy1;
                cell_range(b, g, &jx0, &jy0, &jx1, &jy1);
                if (max(cx0, jx0) != cx || max(cy0, jy0) != cy) continue;  // not their first cell
                if (iou(a, b) > thr) {
                    if (targets != 0) targets[at + found] = j;
                    found++;
                }
            }
        }
    if (targets == 0) edge_count[i] = found;
}
