"""magicgui widgets: thin faces over napari_segkit.methods, run in napari thread workers."""

from .cluster import ClusterWidget
from .contours import ContoursWidget
from .edges import EdgesWidget
from .evaluate import EvaluateWidget
from .graphcut import GraphCutWidget
from .measure import MeasureWidget
from .postprocess import PostprocessWidget
from .recipe import RecipeWidget
from .regions import RegionsWidget
from .segment import SegmentWidget
from .threshold import ThresholdWidget
from .unet import ApplyUNetWidget, TrainUNetWidget

__all__ = [
    "ApplyUNetWidget",
    "ClusterWidget",
    "ContoursWidget",
    "EdgesWidget",
    "EvaluateWidget",
    "GraphCutWidget",
    "MeasureWidget",
    "PostprocessWidget",
    "RecipeWidget",
    "RegionsWidget",
    "SegmentWidget",
    "ThresholdWidget",
    "TrainUNetWidget",
]
