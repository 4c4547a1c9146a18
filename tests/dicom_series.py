"""Write small DICOM series with known geometry, and check a volume against them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, EnhancedMRImageStorage, ExplicitVRLittleEndian, generate_uid


@dataclass
class Slice:
    pixels: np.ndarray  # stored values (rows, columns)
    position: np.ndarray  # ImagePositionPatient, LPS mm
    orientation: np.ndarray  # row direction, column direction
    spacing: tuple[float, float] = (0.5, 0.8)  # between rows, between columns (mm)

    def world(self, row: int, column: int) -> np.ndarray:
        """LPS position of a pixel as (z, y, x): segkit's world order."""
        dy, dx = self.spacing
        p = self.position + column * dx * self.orientation[:3] + row * dy * self.orientation[3:]
        return p[::-1]


def make_slices(
    orientation, *, count=5, step=2.0, shape=(6, 7), tilt=(0.0, 0.0, 0.0), seed=0
) -> list[Slice]:
    """``count`` slices along the normal of ``orientation``, each shifted by ``tilt`` (mm)."""
    orientation = np.asarray(orientation, float)
    normal = np.cross(orientation[:3], orientation[3:])
    rng = np.random.default_rng(seed)
    start = np.array([-20.0, 10.0, 30.0])
    return [
        Slice(
            rng.integers(0, 3000, shape).astype(np.int16),
            start + i * step * normal + i * np.asarray(tilt),
            orientation,
        )
        for i in range(count)
    ]


def write_series(
    folder: Path,
    slices: list[Slice],
    *,
    description="synthetic",
    series_uid=None,
    instance_numbers=None,
    slope=1.0,
    intercept=-1024.0,
) -> list[Path]:
    """One CT file per slice; instance numbers default to the reverse of the slice order."""
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    numbers = instance_numbers or list(range(len(slices), 0, -1))
    paths = []
    for i, (s, number) in enumerate(zip(slices, numbers)):
        ds = _base(CTImageStorage, series_uid, description)
        ds.InstanceNumber = number
        ds.ImagePositionPatient = [float(v) for v in s.position]
        ds.ImageOrientationPatient = [float(v) for v in s.orientation]
        ds.PixelSpacing = list(s.spacing)
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        _pixels(ds, s.pixels[np.newaxis])
        path = folder / f"im{(i * 7919) % 1000:04d}.dcm"  # file names unrelated to order
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_enhanced(path: Path, slices: list[Slice], order) -> Path:
    """An enhanced MR multi-frame file with the slices stored in ``order``."""
    ds = _base(EnhancedMRImageStorage, generate_uid(), "enhanced")
    ds.NumberOfFrames = len(slices)
    shared = Dataset()
    shared.PlaneOrientationSequence = Sequence([Dataset()])
    shared.PlaneOrientationSequence[0].ImageOrientationPatient = [
        float(v) for v in slices[0].orientation
    ]
    shared.PixelMeasuresSequence = Sequence([Dataset()])
    shared.PixelMeasuresSequence[0].PixelSpacing = list(slices[0].spacing)
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for i in order:
        frame = Dataset()
        frame.PlanePositionSequence = Sequence([Dataset()])
        frame.PlanePositionSequence[0].ImagePositionPatient = [float(v) for v in slices[i].position]
        frame.PixelValueTransformationSequence = Sequence([Dataset()])
        frame.PixelValueTransformationSequence[0].RescaleSlope = 2
        frame.PixelValueTransformationSequence[0].RescaleIntercept = 5
        frames.append(frame)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    _pixels(ds, np.stack([slices[i].pixels for i in order]))
    ds.save_as(path, enforce_file_format=True)
    return path


def _base(sop_class, series_uid, description) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = sop_class
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = generate_uid()
    ds.Modality = "CT" if sop_class == CTImageStorage else "MR"
    ds.SeriesDescription = description
    ds.SeriesNumber = 3
    return ds


def _pixels(ds: Dataset, frames: np.ndarray) -> None:
    ds.Rows, ds.Columns = frames.shape[1:]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.PixelData = frames.astype("<i2").tobytes()


def assert_geometry(volume, slices: list[Slice], slope=1.0, intercept=-1024.0) -> None:
    """Every corner and some inner pixels of every slice sit at their true world position."""
    inverse = np.linalg.inv(volume.affine)
    lead = volume.data.ndim - 3
    for s in slices:
        rows, columns = s.pixels.shape
        for r, c in [(0, 0), (0, columns - 1), (rows - 1, 0), (rows - 1, columns - 1), (2, 3)]:
            index = inverse[-4:, -4:] @ np.r_[s.world(r, c), 1.0]
            rounded = np.round(index[:3]).astype(int)
            assert np.allclose(index[:3], rounded, atol=1e-4), index
            value = volume.data[(0,) * lead + tuple(rounded)]
            assert value == s.pixels[r, c] * slope + intercept
