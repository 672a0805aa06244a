// The letterbox, fused: bilinear resize (OpenCV's INTER_LINEAR fixed point), grey padding,
// /255 and HWC -> CHW, for a batch of images of different sizes, one thread per output
// pixel (all three channels). See src/gpu/letterbox.rs for the layout of `meta`.
//
// Exactness: this is src/resize.rs's arithmetic, operation by operation, all in integers:
// the weights and source offsets come from the host (the same f64/f32 geometry code as the
// CPU's), the horizontal pass is `(p0 * a0 + p1 * a1) >> 4`, the vertical pass
// `(((b0 * h0) >> 16) + ((b1 * h1) >> 16) + 2) >> 2` clamped to 0..255 (`>>` of a signed int
// is arithmetic in CUDA C++, as in Rust), the exact 2x downscale `(p00 + p01 + p10 + p11 +
// 2) >> 2`, and same size a copy. The one float operation is `v / 255.0f`, correctly rounded
// (__fdiv_rn), as Rust's `v as f32 / 255.0`. So every output value equals the CPU's.

#define META 12
#define MODE_COPY 0
#define MODE_HALF 1
#define MODE_BILINEAR 2

extern "C" __global__ void letterbox(
    const unsigned char* __restrict__ pixels,  // the batch's RGB8 images, packed, one after another
    const int* __restrict__ meta,              // META ints per image, then the resize tables
    float* __restrict__ out,                   // [n, 3, dst_h, dst_w]
    int dst_w,
    int dst_h,
    float pad)                                 // 114 / 255, computed on the host
{
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    const int n = blockIdx.z;
    if (x >= dst_w || y >= dst_h) {
        return;
    }
    const int* m = meta + n * META;
    const long long offset = ((long long)(unsigned int)m[1] << 32) | (unsigned int)m[0];
    const int src_w = m[2];
    const int new_w = m[4], new_h = m[5];
    const int left = m[6], top = m[7];
    const int mode = m[8];
    const int tables = m[9];

    const long long plane = (long long)dst_w * dst_h;
    float* o = out + (long long)n * 3 * plane + (long long)y * dst_w + x;
    const int ix = x - left, iy = y - top;
    if (ix < 0 || iy < 0 || ix >= new_w || iy >= new_h) {
        o[0] = pad;
        o[plane] = pad;
        o[2 * plane] = pad;
        return;
    }
    const unsigned char* src = pixels + offset;
    const long long stride = (long long)src_w * 3;
    int v[3];
    if (mode == MODE_COPY) {
        const unsigned char* p = src + iy * stride + ix * 3;
        for (int c = 0; c < 3; c++) v[c] = p[c];
    } else if (mode == MODE_HALF) {
        const unsigned char* p0 = src + 2 * iy * stride + 6 * ix;
        const unsigned char* p1 = p0 + stride;
        for (int c = 0; c < 3; c++) v[c] = (p0[c] + p0[c + 3] + p1[c] + p1[c + 3] + 2) >> 2;
    } else {
        // xtab: new_w entries of (o0, o1, a0, a1); ytab: new_h entries of (r0, r1, b0, b1).
        const int* xt = meta + tables + 4 * ix;
        const int* yt = meta + tables + 4 * new_w + 4 * iy;
        const unsigned char* row0 = src + yt[0] * stride;
        const unsigned char* row1 = src + yt[1] * stride;
        const int o0 = xt[0], o1 = xt[1], a0 = xt[2], a1 = xt[3];
        const int b0 = yt[2], b1 = yt[3];
        for (int c = 0; c < 3; c++) {
            const int h0 = (row0[o0 + c] * a0 + row0[o1 + c] * a1) >> 4;
            const int h1 = (row1[o0 + c] * a0 + row1[o1 + c] * a1) >> 4;
            const int s = (((b0 * h0) >> 16) + ((b1 * h1) >> 16) + 2) >> 2;
            v[c] = s < 0 ? 0 : (s > 255 ? 255 : s);
        }
    }
    o[0] = __fdiv_rn((float)v[0], 255.0f);
    o[plane] = __fdiv_rn((float)v[1], 255.0f);
    o[2 * plane] = __fdiv_rn((float)v[2], 255.0f);
}
