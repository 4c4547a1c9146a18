// Adaptive thresholds: separable window filters, one pass per axis, with the comparison
// fused into the pass over the last axis, so no threshold volume is written.
//
// A volume is seen as (outer, length, inner) around the axis being filtered (inner = 1 for
// the last axis). Borders follow scipy.ndimage: REFLECT (d c b a | a b c d) or
// MIRROR (d c b | a b c d), repeated for windows longer than the line.
//
//   box_pass        window means of one or two float32 volumes along one axis: running
//                   sums in double over segments of SEGMENT outputs, each segment started
//                   from a fresh sum, so rounding cannot build up along long lines
//   box_threshold   the same along the last axis, then the local threshold and the mask
//                   (and the threshold itself where keep != 0)
//   gauss_pass      Gaussian-weighted sum along one axis (weights in double)
//   gauss_threshold the same along the last axis, then the mask

#define REFLECT 0
#define MIRROR 1
#define SEGMENT 64

#define MEAN 0
#define NIBLACK 1
#define SAUVOLA 2
#define PHANSALKAR 3
#define GAUSSIAN 4

__device__ int border_index(int j, int n, int mode)
{
    if (n == 1) {
        return 0;
    }
    int period = mode == REFLECT ? 2 * n : 2 * n - 2;
    j %= period;
    if (j < 0) {
        j += period;
    }
    if (j >= n) {
        j = mode == REFLECT ? period - 1 - j : period - j;
    }
    return j;
}

// The local threshold from the window mean m and mean square q of (x - centre), in float32
// steps as napari_segkit.methods.adaptive computes it (no fused multiply-add). centre, k, r
// and the [0, 1] scaling (unit_lo, unit_span) of Phansalkar's method are its parameters.
__device__ float local_threshold(int method, float m, float q, double centre, double offset,
                                 double k, double r, double unit_lo, double unit_span)
{
    if (method == MEAN || method == GAUSSIAN) {
        return __fsub_rn(m, (float)offset);
    }
    float var = __fsub_rn(q, __fmul_rn(m, m));
    float s = sqrtf(var > 0.0f ? var : 0.0f);
    float mean = __fadd_rn(m, (float)centre);
    if (method == NIBLACK) {
        return __fsub_rn(__fsub_rn(mean, __fmul_rn((float)k, s)), (float)offset);
    }
    if (method == SAUVOLA) {
        float t = __fmul_rn(mean, __fadd_rn(1.0f, __fmul_rn((float)k,
                                                         __fsub_rn(s / (float)r, 1.0f))));
        return __fsub_rn(t, (float)offset);
    }
    float span = (float)unit_span;  // PHANSALKAR
    float m_unit = __fsub_rn(mean, (float)unit_lo) / span;
    float s_unit = s / span;
    float bump = __fmul_rn(2.0f, expf(__fmul_rn(-10.0f, m_unit)));
    float spread = __fmul_rn((float)k, __fsub_rn(s_unit / 0.5f, 1.0f));
    float t_unit = __fmul_rn(m_unit, __fadd_rn(__fadd_rn(1.0f, bump), spread));
    return __fadd_rn((float)unit_lo, __fmul_rn(span, t_unit));
}

__device__ void write_mask(float x, float t, int dark, long long i, unsigned char* mask,
                           float* thresholds, int keep)
{
    mask[i] = dark ? (x <= t) : (x > t);  // NaN: false either way
    if (keep) {
        thresholds[i] = t;
    }
}

// Work item -> (outer o, segment s, inner i); inner varies fastest so that neighbouring
// threads read neighbouring addresses along the other axes.
__device__ bool segment_of(long long item, long long outer, int length, long long inner,
                           long long* base, int* first, int* last)
{
    long long segments = (length + SEGMENT - 1) / SEGMENT;
    if (item >= outer * segments * inner) {
        return false;
    }
    long long i = item % inner;
    long long s = (item / inner) % segments;
    long long o = item / (inner * segments);
    *base = o * length * inner + i;
    *first = (int)(s * SEGMENT);
    *last = min(*first + SEGMENT, length);
    return true;
}

// The window sum of a (and b when two != 0) around position k of a line.
__device__ void window_start(const float* a, const float* b, int two, long long base, int k,
                             int length, long long inner, int radius, int mode, double* sa,
                             double* sb)
{
    *sa = 0.0;
    *sb = 0.0;
    for (int j = k - radius; j <= k + radius; ++j) {
        long long at = base + (long long)border_index(j, length, mode) * inner;
        *sa += (double)a[at];
        if (two) {
            *sb += (double)b[at];
        }
    }
}

// Move the window sums from position k to k + 1.
__device__ void window_step(const float* a, const float* b, int two, long long base, int k,
                            int length, long long inner, int radius, int mode, double* sa,
                            double* sb)
{
    long long in = base + (long long)border_index(k + radius + 1, length, mode) * inner;
    long long out = base + (long long)border_index(k - radius, length, mode) * inner;
    *sa += (double)a[in] - (double)a[out];
    if (two) {
        *sb += (double)b[in] - (double)b[out];
    }
}

extern "C" __global__ void box_pass(const float* a, const float* b, float* out_a,
                                    float* out_b, int two, long long outer, int length,
                                    long long inner, int radius, int mode)
{
    long long item = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long base;
    int first, last;
    if (!segment_of(item, outer, length, inner, &base, &first, &last)) {
        return;
    }
    double size = 2.0 * radius + 1.0, sa, sb;
    window_start(a, b, two, base, first, length, inner, radius, mode, &sa, &sb);
    for (int k = first; k < last; ++k) {
        long long here = base + (long long)k * inner;
        out_a[here] = (float)(sa / size);
        if (two) {
            out_b[here] = (float)(sb / size);
        }
        window_step(a, b, two, base, k, length, inner, radius, mode, &sa, &sb);
    }
}

extern "C" __global__ void box_threshold(const float* a, const float* b, const float* x,
                                         unsigned char* mask, float* thresholds, int keep,
                                         int two,
                                         long long outer, int length, int radius, int mode,
                                         int method, int dark, double centre, double offset,
                                         double k, double r, double unit_lo,
                                         double unit_span)
{
    long long item = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long base;
    int first, last;
    if (!segment_of(item, outer, length, 1, &base, &first, &last)) {
        return;
    }
    double size = 2.0 * radius + 1.0, sa, sb;
    window_start(a, b, two, base, first, length, 1, radius, mode, &sa, &sb);
    for (int j = first; j < last; ++j) {
        float t = local_threshold(method, (float)(sa / size), two ? (float)(sb / size) : 0.0f,
                                  centre, offset, k, r, unit_lo, unit_span);
        write_mask(x[base + j], t, dark, base + j, mask, thresholds, keep);
        window_step(a, b, two, base, j, length, 1, radius, mode, &sa, &sb);
    }
}

__device__ double weighted(const float* a, long long base, int k, int length, long long inner,
                           const double* weights, int radius, int mode)
{
    double sum = 0.0;
    for (int j = -radius; j <= radius; ++j) {
        sum += weights[j + radius]
               * (double)a[base + (long long)border_index(k + j, length, mode) * inner];
    }
    return sum;
}

extern "C" __global__ void gauss_pass(const float* a, float* out, long long outer, int length,
                                      long long inner, const double* weights, int radius,
                                      int mode)
{
    long long item = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (item >= outer * length * inner) {
        return;
    }
    long long i = item % inner;
    int k = (int)((item / inner) % length);
    long long base = (item / (inner * length)) * length * inner + i;
    out[item] = (float)weighted(a, base, k, length, inner, weights, radius, mode);
}

extern "C" __global__ void gauss_threshold(const float* a, const float* x, unsigned char* mask,
                                           float* thresholds, int keep, long long outer,
                                           int length,
                                           const double* weights, int radius, int mode,
                                           int dark, double offset)
{
    long long item = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (item >= outer * length) {
        return;
    }
    int k = (int)(item % length);
    long long base = item - k;
    float g = (float)weighted(a, base, k, length, 1, weights, radius, mode);
    float t = local_threshold(GAUSSIAN, g, 0.0f, 0.0, offset, 0.0, 1.0, 0.0, 1.0);
    write_mask(x[item], t, dark, item, mask, thresholds, keep);
}
