"""A small line plot for a dock widget (training loss and validation Dice per epoch), drawn
with QPainter so that it needs no plotting library."""

from __future__ import annotations

import math

from qtpy.QtCore import QPointF, Qt
from qtpy.QtGui import QColor, QPainter, QPen
from qtpy.QtWidgets import QSizePolicy, QWidget

COLOURS = {"loss": "#ff8c42", "Dice": "#4fc3f7"}


class CurvePlot(QWidget):
    """Curves by name, each a list of values per epoch. "loss" is scaled to its largest
    value; the others (Dice) are drawn on 0…1."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.curves: dict[str, list[float]] = {}
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_curves(self, curves: dict[str, list[float]]) -> None:
        self.curves = {name: list(values) for name, values in curves.items()}
        self.update()

    def paintEvent(self, _event) -> None:  # Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width, height, pad = self.width(), self.height(), 18
        painter.setPen(QPen(QColor("#888888"), 1))
        painter.drawRect(pad, 4, width - pad - 4, height - pad - 4)
        epochs = max((len(v) for v in self.curves.values()), default=0)
        painter.drawText(pad, height - 4, f"epochs: {epochs}")
        x_legend = pad + 90
        for name, values in self.curves.items():
            colour = QColor(COLOURS.get(name, "#dddddd"))
            painter.setPen(QPen(colour, 2))
            painter.drawText(x_legend, height - 4, name)
            x_legend += 50
            shown = [v for v in values if not math.isnan(v)]  # NaN: no validation
            if len(shown) < 1:
                continue
            top = max(shown) if name == "loss" else 1.0
            points = [QPointF(pad + (width - pad - 8) * i / max(epochs - 1, 1),
                              4 + (height - pad - 8) * (1 - min(v / top if top else 0, 1)))
                      for i, v in enumerate(values) if not math.isnan(v)]
            for a, b in zip(points, points[1:]):
                painter.drawLine(a, b)
            if len(points) == 1:
                painter.drawPoint(points[0])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.end()
