"""Patient geometry: convert NIfTI (RAS) and DICOM (LPS) affines, reorient by flips only.

Inside segkit a medical volume's world is LPS (x to the patient's left, y to posterior,
z to superior, mm) with the axes stored in array order, (z, y, x). A volume is shown in
napari after :func:`to_canonical`: only flips and axis permutations (no resampling), so
that index axes (…, Z, Y, X) run to superior, posterior and left. An axial slice then
looks as in a radiology viewer: anterior at the top, the patient's right on the left.
"""

from __future__ import annotations

import numpy as np

#: target orientation of the last three index axes: world axis 0, 1, 2, not flipped
_CANONICAL = np.array([[0, 1], [1, 1], [2, 1]], dtype=float)
_REVERSE = np.eye(4)[[2, 1, 0, 3]]  # (x, y, z) <-> (z, y, x), also for index order
_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def world_from_ras(ras_affine: np.ndarray) -> np.ndarray:
    """NIfTI's affine ((i, j, k) index → RAS x, y, z) as segkit's ((k, j, i) → LPS z, y, x)."""
    return _REVERSE @ _RAS_TO_LPS @ np.asarray(ras_affine, float) @ _REVERSE


def ras_from_world(affine: np.ndarray) -> np.ndarray:
    """The inverse of :func:`world_from_ras`."""
    return _RAS_TO_LPS @ _REVERSE @ np.asarray(affine, float) @ _REVERSE


def world_from_lps(lps_affine: np.ndarray) -> np.ndarray:
    """A DICOM-style affine ((col, row, slice) → LPS x, y, z) in segkit's array order."""
    return _REVERSE @ np.asarray(lps_affine, float) @ _REVERSE


def with_leading_axis(affine: np.ndarray, step: float = 1.0) -> np.ndarray:
    """``affine`` with a new first index/world axis (time, or a slice axis) of size ``step``."""
    out = np.eye(len(affine) + 1)
    out[0, 0] = step
    out[1:, 1:] = affine
    return out


def orientation_of(affine: np.ndarray) -> np.ndarray:
    """For each of the 3 index axes: the world axis it runs along and its sign (nibabel ornt)."""
    from nibabel.orientations import io_orientation

    return io_orientation(affine)


def to_canonical(data, affine: np.ndarray):
    """Flip and permute the last three axes of ``data`` so that they run along +z, +y, +x.

    ``affine`` maps those three index axes to the world (4×4). Returns the reoriented data
    (a view), its affine and the transform (nibabel ornt) that was applied.
    """
    from nibabel.orientations import inv_ornt_aff, ornt_transform

    transform = ornt_transform(orientation_of(affine), _CANONICAL)
    shape = data.shape[-3:]
    return apply_transform(data, transform), affine @ inv_ornt_aff(transform, shape), transform


def undo_canonical(data, transform: np.ndarray):
    """Bring data reoriented by :func:`to_canonical` with ``transform`` back to the source."""
    from nibabel.orientations import ornt_transform

    return apply_transform(data, ornt_transform(_CANONICAL, np.asarray(transform, float)))


def apply_transform(data, transform: np.ndarray):
    """Apply a nibabel ornt transform to the last three axes of ``data`` (numpy or dask)."""
    lead = data.ndim - 3
    for axis, (_, sign) in enumerate(transform):
        if sign == -1:
            data = np.flip(data, lead + axis)
    order = np.argsort(np.asarray(transform)[:, 0])
    return data.transpose(list(range(lead)) + [lead + int(k) for k in order])


def describe(transform: np.ndarray, names: tuple[str, str, str]) -> str:
    """What :func:`to_canonical` did, e.g. "j flipped" or "shown as (column, row, slice)".

    ``names`` are the source's three index axes in the order passed to it.
    """
    transform = np.asarray(transform)
    order = [names[int(k)] for k in np.argsort(transform[:, 0])]
    flips = [names[i] for i, (_, sign) in enumerate(transform) if sign == -1]
    done = [] if order == list(names) else [f"shown as ({', '.join(order)})"]
    done += [f"{', '.join(flips)} flipped"] if flips else []
    return "; ".join(done) or "none"
