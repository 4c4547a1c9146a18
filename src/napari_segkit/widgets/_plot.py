"""A small line plot for a dock widget (training loss per batch, validation Dice per
epoch), drawn with QPainter so that it needs no plotting library."""

from __future__ import annotations

import math

from qtpy.QtCore import QPointF, Qt
from qtpy.QtGui import QColor, QPainter, QPen
from qtpy.QtWidgets import QSizePolicy, QWidget

COLOURS = {"loss": "#ff8c42", "Dice": "#4fc3f7"}


class CurvePlot(QWidget):
    """Curves by name, each a list of (x, y) points, x in ``unit`` (e.g. batches) from 0 to
    the largest x of all curves. "loss" is scaled to its largest value; the others (Dice)
    are drawn on 0…1; NaN values are skipped."""

    def __init__(self, parent=None, unit: str = "batches"):
        super().__init__(parent)
        self.curves: dict[str, list[tuple[float, float]]] = {}
        self.unit = unit
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_curves(self, curves: dict[str, list[tuple[float, float]]]) -> None:
        self.curves = {name: list(points) for name, points in curves.items()}
        self.update()

    def paintEvent(self, _event) -> None:  # Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width, height, pad = self.width(), self.height(), 18
        painter.setPen(QPen(QColor("#888888"), 1))
        painter.drawRect(pad, 4, width - pad - 4, height - pad - 4)
        right = max((x for points in self.curves.values() for x, _ in points), default=0)
        painter.drawText(pad, height - 4, f"{self.unit}: {right:g}")
        x_legend = pad + 110
        for name, points in self.curves.items():
            colour = QColor(COLOURS.get(name, "#dddddd"))
            painter.setPen(QPen(colour, 2))
            painter.drawText(x_legend, height - 4, name)
            x_legend += 50
            shown = [(x, y) for x, y in points if not math.isnan(y)]  # NaN: no validation
            if not shown:
                continue
            top = max(y for _, y in shown) if name == "loss" else 1.0
            dots = [
                QPointF(
                    pad + (width - pad - 8) * x / max(right, 1),
                    4 + (height - pad - 8) * (1 - min(y / top if top else 0, 1)),
                )
                for x, y in shown
            ]
            for a, b in zip(dots, dots[1:]):
                painter.drawLine(a, b)
            if len(dots) == 1:
                painter.drawPoint(dots[0])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.end()
