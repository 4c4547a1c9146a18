// Histograms: every thread block counts into its own copy in shared memory, then adds it to
// the global counts (one atomic per bin and block instead of one per value). Histograms
// wider than SHARED_BINS count straight into global memory.
//
//   hist_int_<type>    one bin per integer value: bin = value - lo, values outside ignored
//   hist_float_<type>  nbins equal bins between edges[0] and edges[nbins], as numpy.histogram:
//                      the last bin includes its right edge; NaN and values outside ignored

#define SHARED_BINS 12288  // 48 KiB of uint32 counters

// Shared-memory counters: cleared, counted into (or the global counts when the histogram
// is too wide for them), then added to the global counts once per block.
__device__ void clear_counters(unsigned int* local, bool shared, int nbins)
{
    if (shared) {
        for (int b = threadIdx.x; b < nbins; b += blockDim.x) {
            local[b] = 0;
        }
    }
    __syncthreads();
}

__device__ void count(unsigned int* local, bool shared, unsigned long long* counts, int b)
{
    if (shared) {
        atomicAdd(&local[b], 1u);
    } else {
        atomicAdd(&counts[b], 1ull);
    }
}

__device__ void flush_counters(const unsigned int* local, bool shared, int nbins,
                               unsigned long long* counts)
{
    __syncthreads();
    if (shared) {
        for (int b = threadIdx.x; b < nbins; b += blockDim.x) {
            if (local[b] != 0) {
                atomicAdd(&counts[b], (unsigned long long)local[b]);
            }
        }
    }
}

#define HIST_INT(NAME, T)                                                                    \
    extern "C" __global__ void NAME(const T* values, long long n, long long lo, int nbins,  \
                                    unsigned long long* counts)                             \
    {                                                                                        \
        __shared__ unsigned int local[SHARED_BINS];                                          \
        bool shared = nbins <= SHARED_BINS;                                                  \
        clear_counters(local, shared, nbins);                                                \
        long long step = (long long)gridDim.x * blockDim.x;                                  \
        for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;         \
             i += step) {                                                                    \
            long long b = (long long)values[i] - lo;                                         \
            if (b >= 0 && b < nbins) {                                                       \
                count(local, shared, counts, (int)b);                                        \
            }                                                                                \
        }                                                                                    \
        flush_counters(local, shared, nbins, counts);                                        \
    }

// The bin numpy.histogram gives: an estimate from the scaled value, then corrected against
// the exact edges (which the estimate can miss by one where rounding differs).
#define HIST_FLOAT(NAME, T)                                                                  \
    extern "C" __global__ void NAME(const T* values, long long n, const T* edges, int nbins, \
                                    unsigned long long* counts)                             \
    {                                                                                        \
        __shared__ unsigned int local[SHARED_BINS];                                          \
        bool shared = nbins <= SHARED_BINS;                                                  \
        clear_counters(local, shared, nbins);                                                \
        T lo = edges[0];                                                                     \
        T hi = edges[nbins];                                                                 \
        double scale = (double)nbins / ((double)hi - (double)lo);                            \
        long long step = (long long)gridDim.x * blockDim.x;                                  \
        for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;         \
             i += step) {                                                                    \
            T x = values[i];                                                                 \
            if (!(x >= lo && x <= hi)) {                                                     \
                continue;                                                                    \
            }                                                                                \
            int b = (int)(((double)x - (double)lo) * scale);                                 \
            b = b < 0 ? 0 : (b >= nbins ? nbins - 1 : b);                                    \
            if (x < edges[b]) {                                                              \
                b -= 1;                                                                      \
            } else if (b != nbins - 1 && x >= edges[b + 1]) {                                \
                b += 1;                                                                      \
            }                                                                                \
            count(local, shared, counts, b);                                                 \
        }                                                                                    \
        flush_counters(local, shared, nbins, counts);                                        \
    }

HIST_INT(hist_int_uint8, unsigned char)
HIST_INT(hist_int_int8, signed char)
HIST_INT(hist_int_uint16, unsigned short)
HIST_INT(hist_int_int16, short)
HIST_INT(hist_int_uint32, unsigned int)
HIST_INT(hist_int_int32, int)
HIST_FLOAT(hist_float_float32, float)
HIST_FLOAT(hist_float_float64, double)
