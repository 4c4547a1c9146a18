// GrowCut (Vezhnevets & Konouchine 2005) as the cellular automaton itself: one synchronous
// step per launch. Every voxel takes the strongest attack of its neighbours when it beats its
// own strength: neighbour j attacks voxel i with strength[j] * g, where
// g = (1 - min(|v_i - v_j|, max_drop)) * decay[k], |.| the Euclidean norm over channels and
// decay[k] the cost of the step's length. Reading one buffer and writing the other makes the
// result independent of thread order, so the NumPy twin gives exactly the same labels.
//
// Volumes are (nz, ny, nx) voxels of `channels` float32 values each; steps holds (dz, dy, dx)
// for each of the n_steps neighbours. changed is set to 1 when any voxel changes.

extern "C" __global__ void growcut_step(const float* values, int channels,
                                        const unsigned char* labels, const float* strength,
                                        unsigned char* new_labels, float* new_strength, int nz,
                                        int ny, int nx, const int* steps, const float* decay,
                                        int n_steps, float max_drop, int* changed)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nz * ny * nx) {
        return;
    }
    int x = i % nx;
    int y = (i / nx) % ny;
    int z = i / (nx * ny);
    float best = strength[i];
    unsigned char label = labels[i];
    for (int k = 0; k < n_steps; ++k) {
        int mz = z + steps[3 * k], my = y + steps[3 * k + 1], mx = x + steps[3 * k + 2];
        if (mz < 0 || my < 0 || mx < 0 || mz >= nz || my >= ny || mx >= nx) {
            continue;
        }
        int j = (mz * ny + my) * nx + mx;
        float drop2 = 0.0f;
        for (int c = 0; c < channels; ++c) {
            float d = __fsub_rn(values[i * channels + c], values[j * channels + c]);
            drop2 = __fadd_rn(drop2, __fmul_rn(d, d));
        }
        float g = __fmul_rn(__fsub_rn(1.0f, fminf(sqrtf(drop2), max_drop)), decay[k]);
        float attack = __fmul_rn(strength[j], g);
        if (attack > best) {
            best = attack;
            label = labels[j];
        }
    }
    new_strength[i] = best;
    new_labels[i] = label;
    if (best != strength[i] || label != labels[i]) {
        *changed = 1;
    }
}
