// Connected-component labelling by block-based union-find (after Playne & Hawick 2018).
//
// parent[i] is a voxel's link to another voxel of its object (-1 on the background). Links
// only ever point to smaller linear indices, so each object's root is its first voxel in
// raster order; numbering the roots by a prefix sum (host side) gives scikit-image's labels.
//
//   ccl_local    each thread block joins the voxels of its tile in shared memory
//   ccl_merge    voxels join their neighbours in other tiles, in global memory
//   ccl_flatten  every voxel links straight to its root
//
// Volumes are (nz, ny, nx), C order, at most 2^31 - 1 voxels; 2D images have nz = 1.
// Tiles are (tz, ty, tx) with tz * ty * tx == blockDim.x <= MAX_TILE.

#define MAX_TILE 512

__device__ int find_root(const int* parent, int i)
{
    int p = parent[i];
    while (p != i) {
        i = p;
        p = parent[i];
    }
    return i;
}

// Join the trees of a and b: the larger root is linked under the smaller. Another thread may
// relink a root at the same time; atomicMin tells, and the join is tried again from there.
__device__ void unite(int* parent, int a, int b)
{
    while (true) {
        a = find_root(parent, a);
        b = find_root(parent, b);
        if (a == b) {
            return;
        }
        if (a < b) {
            int t = a;
            a = b;
            b = t;
        }
        int old = atomicMin(&parent[a], b);
        if (old == a) {
            return;
        }
        a = old;
    }
}

// Neighbour `code` (0..12) of the 13 that come before a voxel in raster order (the raster
// order of (dz, dy, dx) in {-1,0,1}^3), and whether it is within the connectivity (1: faces,
// 2: faces and edges, 3: all).
__device__ bool backward(int code, int connectivity, int* dz, int* dy, int* dx)
{
    *dz = code / 9 - 1;
    *dy = (code / 3) % 3 - 1;
    *dx = code % 3 - 1;
    int nonzero = (*dz != 0) + (*dy != 0) + (*dx != 0);
    return nonzero <= connectivity;
}

// The 13 earlier neighbours, faces first, then edges, then corners.
__constant__ int FACES_FIRST[13] = {4, 10, 12, 1, 3, 5, 7, 9, 11, 0, 2, 6, 8};

// Whether neighbour (dz, dy, dx) touches one of the neighbours already joined (the set bits
// of `joined`, by code). Such a neighbour need not be joined: both come before the voxel,
// so the later of the two was joined to the other (by this rule, by induction on raster
// order), and the voxel reaches it through the joined one. Faces first: in full
// connectivity one face neighbour covers all 13.
__device__ bool joined_through(unsigned joined, int dz, int dy, int dx, int connectivity)
{
    for (; joined; joined &= joined - 1) {
        int ez, ey, ex;
        backward(__ffs(joined) - 1, 3, &ez, &ey, &ex);
        ez -= dz;
        ey -= dy;
        ex -= dx;
        if (abs(ez) <= 1 && abs(ey) <= 1 && abs(ex) <= 1 &&
            (ez != 0) + (ey != 0) + (ex != 0) <= connectivity) {
            return true;
        }
    }
    return false;
}

extern "C" __global__ void ccl_local(const unsigned char* mask, int* parent, int nz, int ny,
                                     int nx, int tz, int ty, int tx, int connectivity)
{
    __shared__ int tile[MAX_TILE];
    int tiles_x = (nx + tx - 1) / tx;
    int tiles_y = (ny + ty - 1) / ty;
    int bx = blockIdx.x % tiles_x;
    int by = (blockIdx.x / tiles_x) % tiles_y;
    int bz = blockIdx.x / (tiles_x * tiles_y);
    int t = threadIdx.x;
    int lx = t % tx;
    int ly = (t / tx) % ty;
    int lz = t / (tx * ty);
    int x = bx * tx + lx;
    int y = by * ty + ly;
    int z = bz * tz + lz;
    bool inside = x < nx && y < ny && z < nz;
    int i = inside ? (z * ny + y) * nx + x : 0;
    bool on = inside && mask[i] != 0;
    tile[t] = on ? t : -1;
    __syncthreads();
    if (on) {
        unsigned joined = 0;
        for (int k = 0; k < 13; ++k) {
            int code = FACES_FIRST[k], dz, dy, dx;
            if (!backward(code, connectivity, &dz, &dy, &dx)) {
                continue;
            }
            int mz = lz + dz, my = ly + dy, mx = lx + dx;
            if (mz < 0 || my < 0 || mx < 0 || mx >= tx || my >= ty) {
                continue;  // in another tile: ccl_merge joins it
            }
            int m = (mz * ty + my) * tx + mx;
            // out-of-image voxels are -1 too
            if (tile[m] >= 0 && !joined_through(joined, dz, dy, dx, connectivity)) {
                unite(tile, t, m);
                joined |= 1u << code;
            }
        }
    }
    __syncthreads();
    if (on) {
        int r = find_root(tile, t);
        int rx = bx * tx + r % tx;
        int ry = by * ty + (r / tx) % ty;
        int rz = bz * tz + r / (tx * ty);
        parent[i] = (rz * ny + ry) * nx + rx;
    } else if (inside) {
        parent[i] = -1;
    }
}

extern "C" __global__ void ccl_merge(int* parent, int nz, int ny, int nx, int tz, int ty,
                                     int tx, int connectivity)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nz * ny * nx || parent[i] < 0) {
        return;
    }
    int x = i % nx;
    int y = (i / nx) % ny;
    int z = i / (nx * ny);
    int lx = x % tx, ly = y % ty, lz = z % tz;  // place in the tile
    // Earlier neighbours are at dz = -1 (any dy, dx), or dz = 0, dy = -1 (any dx), or
    // dz = dy = 0, dx = -1: away from the tile's faces they all lie in the tile (or above
    // the image's first plane), and ccl_local joined them.
    if ((lz > 0 || z == 0) && ly > 0 && ly < ty - 1 && lx > 0 && lx < tx - 1) {
        return;
    }
    unsigned joined = 0;  // of the neighbours in other tiles
    for (int k = 0; k < 13; ++k) {
        int code = FACES_FIRST[k], dz, dy, dx;
        if (!backward(code, connectivity, &dz, &dy, &dx)) {
            continue;
        }
        int mz = z + dz, my = y + dy, mx = x + dx;
        if (mz < 0 || my < 0 || mx < 0 || mx >= nx || my >= ny) {
            continue;
        }
        bool same_tile = lz + dz >= 0 && ly + dy >= 0 && ly + dy < ty && lx + dx >= 0 &&
                         lx + dx < tx;  // dz is never +1: no need to test lz + dz < tz
        int m = (mz * ny + my) * nx + mx;
        if (!same_tile && parent[m] >= 0 && !joined_through(joined, dz, dy, dx, connectivity)) {
            unite(parent, i, m);
            joined |= 1u << code;
        }
    }
}

extern "C" __global__ void ccl_flatten(int* parent, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n && parent[i] >= 0) {
        parent[i] = find_root(parent, i);
    }
}
