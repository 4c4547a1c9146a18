"""One volume out of a file that holds several series (a DICOM folder, a multi-series TIFF)."""

from __future__ import annotations

from .volume import Volume


def pick_series(volumes: Volume | list[Volume], choice: str | None) -> Volume:
    """The volume of :func:`napari_segkit.io.read`'s result that ``choice`` names.

    ``volumes`` is one volume (returned as it is) or a list of them; ``choice`` is a series
    number or part of a series name (case-insensitive). Raises ValueError naming the series
    when ``choice`` is None for a list, or matches none or several of them.
    """
    if not isinstance(volumes, list):
        return volumes
    if choice is None:
        names = "; ".join(f"{v.metadata.get('series_number')}: {v.name}" for v in volumes)
        raise ValueError(f"the input holds {len(volumes)} series ({names}); "
                         "choose one with --series")
    found = [v for v in volumes if str(v.metadata.get("series_number")) == choice] or \
        [v for v in volumes if choice.lower() in v.name.lower()]
    if len(found) != 1:
        raise ValueError(f"--series {choice!r} matches {len(found)} of the series "
                         f"({', '.join(v.name for v in volumes)}); be more specific")
    return found[0]
