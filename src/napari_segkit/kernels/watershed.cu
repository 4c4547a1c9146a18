// Marker-based watershed as a cellular automaton: one synchronous step per launch.
//
// Every voxel keeps (cost, from, steps, label): cost is the lowest "highest landscape value"
// over the paths that reach it from a marker (the level at which a flood from that marker
// gets there), from the cost of the neighbour it came from (a flood from lower ground takes
// a voxel first), steps the path length since the flood reached that level (on a plateau the
// nearer marker wins) and label the marker's id: the order in which a priority flood takes
// voxels. A voxel takes a neighbour's offer (max(cost_j, f_i), cost_j, steps_j + 1 or 0 on
// a new level, label_j) when it is smaller in that order. States only ever decrease, so the
// automaton stops; reading one buffer and writing the other makes it independent of thread
// order.
//
// Volumes are (nz, ny, nx); markers keep their state; voxels outside the mask stay 0.

__device__ bool better(float c, float p, int d, int l, float bc, float bp, int bd, int bl)
{
    if (c != bc) {
        return c < bc;
    }
    if (p != bp) {
        return p < bp;
    }
    return d < bd || (d == bd && l < bl);
}

extern "C" __global__ void flood_step(const float* landscape, const unsigned char* mask,
                                      const int* markers, const float* cost, const float* from,
                                      const int* steps, const int* labels, float* new_cost,
                                      float* new_from, int* new_steps, int* new_labels, int nz,
                                      int ny, int nx,
                                      const int* offsets, int n_offsets, int* changed)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nz * ny * nx) {
        return;
    }
    float bc = cost[i];
    float bp = from[i];
    int bd = steps[i];
    int bl = labels[i];
    if (mask[i] != 0 && markers[i] == 0) {
        int x = i % nx;
        int y = (i / nx) % ny;
        int z = i / (nx * ny);
        float f = landscape[i];
        for (int k = 0; k < n_offsets; ++k) {
            int mz = z + offsets[3 * k], my = y + offsets[3 * k + 1];
            int mx = x + offsets[3 * k + 2];
            if (mz < 0 || my < 0 || mx < 0 || mz >= nz || my >= ny || mx >= nx) {
                continue;
            }
            int j = (mz * ny + my) * nx + mx;
            if (labels[j] == 0) {
                continue;
            }
            float c = fmaxf(cost[j], f);
            int d = c == cost[j] ? steps[j] + 1 : 0;
            if (better(c, cost[j], d, labels[j], bc, bp, bd, bl)) {
                bc = c;
                bp = cost[j];
                bd = d;
                bl = labels[j];
            }
        }
    }
    new_cost[i] = bc;
    new_from[i] = bp;
    new_steps[i] = bd;
    new_labels[i] = bl;
    if (bl != labels[i] || bc != cost[i] || bp != from[i] || bd != steps[i]) {
        *changed = 1;
    }
}
