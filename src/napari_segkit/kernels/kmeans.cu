// k-means assignment: the index of the nearest centre (squared Euclidean distance) for each
// pixel's features, the first one on ties; a pixel with NaN features goes to centre 0, as in
// numpy's argmin over distances with NaN read as infinity. Float32, no fused multiply-add,
// so the NumPy twin gives the same classes.

extern "C" __global__ void nearest_centre(const float* features, long long n, int dims,
                                          const float* centres, int k, unsigned char* out)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) {
        return;
    }
    float best = 0.0f;
    int nearest = -1;
    for (int c = 0; c < k; ++c) {
        float d = 0.0f;
        for (int f = 0; f < dims; ++f) {
            float diff = __fsub_rn(features[i * dims + f], centres[c * dims + f]);
            d = __fadd_rn(d, __fmul_rn(diff, diff));
        }
        if (nearest < 0 ? d == d : d < best) {  // d == d: not NaN
            best = d;
            nearest = c;
        }
    }
    out[i] = (unsigned char)(nearest < 0 ? 0 : nearest);
}
