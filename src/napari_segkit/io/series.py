"""One volume out of a file that holds several series (a DICOM folder, a multi-series TIFF)."""

from __future__ import annotations

from .volume import Volume


def pick_series(volumes: Volume | list[Volume], choice: str | None) -> Volume:
    """Choose the volume of :func:`napari_segkit.io.read`'s result that ``choice`` names.

    A file or folder with several series (a DICOM folder, a multi-series TIFF) reads as a
    list of volumes; this picks one, as the command line's ``--series`` does. ``choice``
    matches a series number (``metadata["series_number"]``) exactly first, else any series
    whose name contains it (case-insensitive). A single volume is returned as it is.

    Parameters
    ----------
    volumes : Volume or list of Volume
        What :func:`napari_segkit.io.read` returned.
    choice : str or None
        A series number ("3") or part of a series name ("t1"). None is fine for a single
        volume only.

    Returns
    -------
    volume : Volume
        The one volume chosen (``volumes`` itself when it is not a list).

    Raises
    ------
    ValueError
        If ``volumes`` is a list and ``choice`` is None, or matches none or more than one of
        the series; the message lists the series (numbers and names) to choose from.

    See Also
    --------
    napari_segkit.io.read : Read a file or folder into one volume or a list of them.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.io import Volume, pick_series
    >>> series = [Volume.plain(np.zeros((4, 4)), "YX", name="T1 axial", series_number=3),
    ...           Volume.plain(np.ones((4, 4)), "YX", name="T2 axial", series_number=4)]
    >>> pick_series(series, "4").name  # by series number
    'T2 axial'
    >>> pick_series(series, "t1").name  # by part of the name, any case
    'T1 axial'
    >>> pick_series(series, "axial")
    Traceback (most recent call last):
    ...
    ValueError: --series 'axial' matches 2 of the series (T1 axial, T2 axial); be more specific
    """
    if not isinstance(volumes, list):
        return volumes
    if choice is None:
        names = "; ".join(f"{v.metadata.get('series_number')}: {v.name}" for v in volumes)
        raise ValueError(
            f"the input holds {len(volumes)} series ({names}); choose one with --series"
        )
    found = [v for v in volumes if str(v.metadata.get("series_number")) == choice] or [
        v for v in volumes if choice.lower() in v.name.lower()
    ]
    if len(found) != 1:
        raise ValueError(
            f"--series {choice!r} matches {len(found)} of the series "
            f"({', '.join(v.name for v in volumes)}); be more specific"
        )
    return found[0]
