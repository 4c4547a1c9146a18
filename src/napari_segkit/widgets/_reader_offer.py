"""A one-time offer to make napari-segkit napari's reader for the files it reads better.

napari's own reader also claims TIFF, NIfTI and DICOM and gives every axis a scale of 1.
The first time a segkit panel opens, and only if the user has chosen no reader for these
extensions, a notification offers to set napari's preference (*File › Preferences ›
Plugins*); segkit never changes the settings without that click. The offer is made once: a
marker file beside napari's settings records it (once per session when settings are not
saved, as in tests).
"""

from __future__ import annotations

from pathlib import Path

from napari.settings import get_settings
from napari.utils.notifications import Notification, NotificationSeverity, notification_manager

PLUGIN = "napari-segkit"
#: the extensions segkit reads with voxel size, units and orientation
PATTERNS = ("*.tif", "*.tiff", "*.nii", "*.nii.gz", "*.dcm")
MESSAGE = (
    "napari-segkit opens TIFF, NIfTI and DICOM files with their voxel size and "
    "orientation; napari's own reader gives every axis a scale of 1. Open these files "
    "with napari-segkit from now on? (File › Preferences › Plugins changes it back.)"
)
_offered_this_session = False


def offer_reader_preference() -> bool:
    """Show the offer if it was never made and no reader is chosen for :data:`PATTERNS`;
    whether it was shown."""
    global _offered_this_session
    marker = _marker()
    if _offered_this_session or (marker is not None and marker.exists()):
        return False
    _offered_this_session = True
    if marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass  # a read-only config folder: offered once per session instead
    chosen = get_settings().plugins.extension2reader
    if any(pattern in chosen for pattern in PATTERNS):
        return False
    notification_manager.dispatch(
        Notification(
            MESSAGE, NotificationSeverity.INFO, actions=[("Use napari-segkit", prefer_segkit)]
        )
    )
    return True


def prefer_segkit(_notification=None) -> None:
    """Make napari-segkit napari's reader for :data:`PATTERNS` (napari saves the setting);
    napari's notification button passes its notification, which is not needed."""
    plugins = get_settings().plugins
    plugins.extension2reader = {**plugins.extension2reader, **dict.fromkeys(PATTERNS, PLUGIN)}


def _marker() -> Path | None:
    """The file that records the offer, beside napari's settings (None if they are not
    saved)."""
    config = get_settings().config_path
    return None if config is None else Path(config).parent / "napari-segkit-reader-offer"
