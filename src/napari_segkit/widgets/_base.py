"""What every segkit dock widget ("panel") is built on.

- Runs: :meth:`Panel.start` runs a job in a napari thread worker with a progress bar and
  Cancel in the panel, and the same bar in napari's activity dock (whose cancel button is
  the panel's Cancel). The job gets a :class:`RunState` to pass as ``progress=state.update``:
  Cancel makes the next report raise :class:`~napari_segkit.progress.Cancelled`, and the panel is
  usable again at once (a cancelled or superseded run's result is dropped). The job does all the
  heavy work, result post-processing included; only adding layers is left to the GUI thread.
- Errors of any type end the run: "failed: …" in the panel and a napari notification (a bug,
  not bad input, is also logged with its traceback); the panel is reset.
- Closing: viewer events connected with :meth:`Panel.listen` are disconnected, and runs are
  cancelled, when the panel leaves its dock (× in the title bar) or is destroyed. The clean-up
  never touches the panel's attributes, which may already be gone then.
- The first panel ever opened offers to make segkit napari's reader for TIFF, NIfTI and
  DICOM (:mod:`._reader_offer`).
- Fit: the form scrolls when it is taller than the dock; labels wrap and drop-downs do not
  widen to long layer names, so the dock keeps its width as results come in.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import napari
import numpy as np
from magicgui.widgets import ComboBox, Container, Label, ProgressBar, PushButton, Table
from napari.qt.threading import WorkerBase, thread_worker
from napari.utils import cancelable_progress, notifications
from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtWidgets import QComboBox, QFrame, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from .. import backend
from ..progress import Cancelled
from ._reader_offer import offer_reader_preference

log = logging.getLogger(__name__)

#: Python's own warnings.showwarning (what a worker's hook replaces)
_PYTHON_SHOWWARNING = getattr(warnings, "_showwarning_orig", warnings.showwarning)
#: errors that are the user's input or set-up: shown in one line, not logged as bugs
INPUT_ERRORS = (ValueError, OSError, backend.GPUUnavailableError)


class RunState:
    """Shared with a worker: the fraction done (0…1), and whether the run was cancelled."""

    def __init__(self):
        self.fraction, self.cancelled = 0.0, False

    def update(self, fraction: float) -> None:
        """A progress callback: records ``fraction``; raises Cancelled once cancelled."""
        if self.cancelled:
            raise Cancelled()
        self.fraction = fraction

    def check(self) -> None:
        """Raise Cancelled once cancelled (call between steps of a job)."""
        self.update(self.fraction)


class _Lifetime:
    """What a panel's clean-up needs, kept apart from the panel."""

    def __init__(self):
        self.closed = False
        self.connections: list = []  # (event, callback) on the viewer
        self.state = RunState()  # the current run
        self.previews: set[RunState] = set()  # of the previews going on
        self.timers: list[QTimer] = []
        self.cleanups: list[Callable[[], None]] = []
        self.activity: cancelable_progress | None = None  # the run's bar in the activity dock

    def end_activity(self) -> None:
        """Take the run's bar out of napari's activity dock."""
        if self.activity is not None:
            self.activity.close()
            self.activity = None

    def close(self, *_) -> None:
        if getattr(self, "closed", True):  # closed, or already cleared by the collector
            return
        self.closed = True
        self.state.cancelled = True
        for state in self.previews:
            state.cancelled = True
        for timer in self.timers:
            timer.stop()
        for event, callback in self.connections:
            try:
                event.disconnect(callback)
            except (RuntimeError, TypeError, ValueError):  # already gone with the viewer
                pass
        self.connections = []
        self.end_activity()
        for cleanup in self.cleanups:
            cleanup()


class _CloseWatch(QObject):
    """Closes the lifetime when the watched widget leaves its dock (its parent becomes None
    after it had one)."""

    def __init__(self, life: _Lifetime, parent: QWidget):
        super().__init__(parent)
        self._life, self._docked = life, False

    def eventFilter(self, watched, event) -> bool:  # Qt's name
        if event.type() == QEvent.Type.ParentChange:
            if watched.parent() is not None:
                self._docked = True
            elif self._docked:
                self._life.close()
        return False


class _FitWidth(QObject):
    """Keeps the scroll area as wide as the form's minimum (no horizontal scrolling)."""

    def __init__(self, scroll: QScrollArea, form: QWidget):
        super().__init__(scroll)
        self._scroll, self._form = scroll, form

    def eventFilter(self, watched, event) -> bool:  # Qt's name
        if event.type() == QEvent.Type.LayoutRequest:
            bar = self._scroll.verticalScrollBar().sizeHint().width()
            self._scroll.setMinimumWidth(self._form.minimumSizeHint().width() + bar)
        return False


class Panel(Container):
    """A dock widget: a scrolling form, viewer events for as long as it is open, and runs in
    a worker (see the module docstring)."""

    def __init__(self, napari_viewer, **kwargs: Any):
        super().__init__(**kwargs)
        self.viewer = napari_viewer
        self._life = _Lifetime()
        self.worker = None
        self._scroll_form()
        self.native.destroyed.connect(partial(_Lifetime.close, self._life))  # holds it
        self.native.installEventFilter(_CloseWatch(self._life, self.native))
        QTimer.singleShot(500, offer_reader_preference)  # once docked (the toast fits)

    def _scroll_form(self) -> None:
        """Put the form (the container's own widget) in a scroll area inside the widget that
        napari docks."""
        backend_widget = self._widget
        form = backend_widget._qwidget
        backend_widget._layout.addStretch(1)  # items go above it: the form stays at the top
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(form)
        form.installEventFilter(_FitWidth(scroll, form))
        outer = QWidget()
        layout = QVBoxLayout(outer)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        outer._magic_widget = self  # napari finds the panel of a dock by this name
        backend_widget._qwidget = outer

    @property
    def form_layout(self):
        """The layout of the form (for a plain Qt widget to add to the panel)."""
        return self._widget._layout

    @property
    def _closed(self) -> bool:
        return self._life.closed

    @property
    def _state(self) -> RunState:
        return self._life.state

    def insert(self, key: int, widget) -> None:
        super().insert(key, widget)
        _fit(widget)

    def on_close(self, cleanup: Callable[[], None]) -> None:
        """Call ``cleanup`` when the panel is closed; it must not use the panel's attributes
        (they may be gone by then)."""
        self._life.cleanups.append(cleanup)

    def listen(self, connections) -> None:
        """Connect viewer ``(event, callback)`` pairs until the panel is closed."""
        for event, callback in connections:
            event.connect(callback)
            self._life.connections.append((event, callback))

    def follow_layer_list(self, callback) -> None:
        """Call ``callback`` now and whenever a layer is added or removed (until closed)."""
        self.listen(
            [
                (self.viewer.layers.events.inserted, callback),
                (self.viewer.layers.events.removed, callback),
            ]
        )
        callback()

    def layers_of(self, kind, *, inputs: bool = True) -> list:
        """The viewer's layers of ``kind`` (e.g. ``napari.layers.Labels``); with ``inputs``,
        not the ones a panel made to look at (see :func:`is_shown_result`)."""
        return [
            layer
            for layer in self.viewer.layers
            if isinstance(layer, kind) and not (inputs and is_shown_result(layer))
        ]

    # -- runs ------------------------------------------------------------------------------

    def running_widgets(self, run_text: str = "Apply", result_label: str = "result") -> list:
        """The Run and Cancel buttons, the progress bar and the result line (to add)."""
        self.run_button = PushButton(text=run_text)
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(value=0, min=0, max=100, visible=False)
        self.result = Label(label=result_label, value="—")
        self.run_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.cancel)
        self._timer = QTimer(self.native)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._refresh)
        self._life.timers.append(self._timer)
        return [self.run_button, self.cancel_button, self.progress, self.result]

    def run(self, _=None):
        raise NotImplementedError

    def start(
        self,
        job: Callable[[RunState], Any],
        done: Callable[[Any], None],
        state: RunState | None = None,
    ):
        """Run ``job(state)`` in a worker; ``done(result)`` on the GUI thread when it returns
        (not when cancelled, superseded or closed). A run still going is superseded."""
        self._life.state.cancelled = True
        self._life.state = state = state or RunState()
        self.run_button.enabled, self.cancel_button.enabled = False, True
        self.progress.value, self.progress.visible = 0, True
        self.result.value = "running…"
        self._life.end_activity()
        self._life.activity = cancelable_progress(
            total=100, desc=type(self).__name__.removesuffix("Widget")
        )
        self._timer.start()
        life = self._life

        def current() -> bool:  # not closed, superseded or cancelled with Panel.cancel
            return not life.closed and state is life.state

        def returned(out) -> None:
            if current():
                try:
                    done(out)
                except Exception as err:  # noqa: BLE001 - shown in the panel, never raised
                    self.failed(err)

        def errored(err) -> None:
            if current():
                self.failed(err)

        def finished() -> None:
            _drop_stale_warning_hook()
            if not life.closed and state is life.state:
                self._idle()

        self.worker = _call(job, state)
        self.worker.returned.connect(returned)
        self.worker.errored.connect(errored)
        self.worker.finished.connect(finished)
        self.worker.start()
        return self.worker

    def in_background(
        self,
        job: Callable[[RunState], Any],
        done: Callable[[Any], None],
        after: Callable[[], None] | None = None,
    ):
        """Run ``job(state)`` in a worker beside the panel's run (e.g. a preview): ``done``
        with its result, then ``after``, on the GUI thread while the panel is open; an error
        is shown in the result line; closing the panel cancels it. Returns the worker."""
        life = self._life

        def returned(out) -> None:
            if not life.closed:
                try:
                    done(out)
                except Exception as err:  # noqa: BLE001 - shown in the panel, never raised
                    self._preview_failed(err)

        def errored(err) -> None:
            if not life.closed:
                self._preview_failed(err)

        def finished() -> None:
            _drop_stale_warning_hook()
            life.previews.discard(state)
            if not life.closed and after is not None:
                after()

        state = RunState()  # cancelled when the panel closes
        life.previews.add(state)
        worker = _call(job, state)
        worker.returned.connect(returned)
        worker.errored.connect(errored)
        worker.finished.connect(finished)
        worker.start()
        return worker

    def _preview_failed(self, err: BaseException) -> None:
        self.result.value = f"preview failed: {err or type(err).__name__}"
        if not isinstance(err, INPUT_ERRORS):
            log.error("%s preview failed", type(self).__name__, exc_info=err)

    def cancel(self, _=None) -> None:
        """Stop the run at its next progress report; the panel is usable again now."""
        if self.cancel_button.enabled:
            self._life.state.cancelled = True
            self._life.state = RunState()  # the cancelled run's end is not waited for
            self._idle()
            self.result.value = "cancelled"

    def _refresh(self) -> None:
        self.progress.value = done = int(100 * self._life.state.fraction)
        activity = self._life.activity
        if activity is not None:
            if activity.is_canceled:  # its button in the activity dock
                self.cancel()
            elif done > activity.n:
                activity.update(done - activity.n)

    def _idle(self) -> None:
        self._timer.stop()
        self._life.end_activity()
        self.run_button.enabled, self.cancel_button.enabled = True, False
        self.progress.visible = False

    def failed(self, err: BaseException) -> None:
        """Show an error of any type in the panel and as a notification; reset the panel."""
        if isinstance(err, Cancelled):
            self.result.value = "cancelled"
            self._idle()
            return
        text = str(err) or type(err).__name__
        self.result.value = f"failed: {text}"
        self._idle()
        if not isinstance(err, INPUT_ERRORS):  # a bug, not the input
            log.error("%s failed", type(self).__name__, exc_info=err)
            text = f"{type(err).__name__}: {text}"
        notifications.show_error(f"{type(self).__name__.removesuffix('Widget')}: {text}")


@thread_worker(ignore_errors=True)  # errors go to Panel.failed
def _call(job, state: RunState):
    out = job(state)
    _prepare_labels_colours(out)
    return out


def _drop_stale_warning_hook() -> None:
    """A running worker points ``warnings.showwarning`` at itself, and two at once can leave
    it pointing at one that has ended, whose Qt signals are then deleted: any later warning
    would raise RuntimeError. Put Python's own back once that worker has ended."""
    hook = warnings.showwarning
    owners = [
        cell.cell_contents
        for cell in getattr(hook, "__closure__", None) or ()
        if isinstance(cell.cell_contents, WorkerBase)
    ]
    if owners and not owners[0].is_running:
        warnings.showwarning = _PYTHON_SHOWWARNING


#: integer dtypes napari has compiled its label colouring for in this process
_COLOURED: set = set()


def _prepare_labels_colours(out, depth: int = 3) -> None:
    """napari compiles (numba) its label colouring for a dtype the first time a Labels
    layer of that dtype is made: about a second on the GUI thread. Make a tiny one in the
    worker first, for each integer array in a job's result (in tuples, lists, dicts)."""
    if isinstance(out, np.ndarray):
        if out.dtype.kind in "iu" and out.dtype not in _COLOURED:
            napari.layers.Labels(np.zeros((2, 2), out.dtype))
            _COLOURED.add(out.dtype)
    elif depth and isinstance(out, (tuple, list, dict)):
        for item in out.values() if isinstance(out, dict) else out:
            _prepare_labels_colours(item, depth - 1)


def _fit(widget) -> None:
    """Wrap labels; let drop-downs be narrower than their longest item; give tables room."""
    if isinstance(widget, Label):
        widget.native.setWordWrap(True)
        widget.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    elif isinstance(widget, ComboBox):
        widget.native.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        widget.native.setMinimumContentsLength(12)
    elif isinstance(widget, Table):
        widget.native.setMinimumHeight(180)
    elif isinstance(widget, Container):
        for child in widget:
            _fit(child)


# -- picking layers --------------------------------------------------------------------------


def is_shown_result(layer) -> bool:
    """A layer a panel made to look at, not to segment: a preview, the Try all montage, an
    error map, or an image result (edge map, probabilities)."""
    return layer.name.endswith((" preview", " try all", " errors")) or (
        isinstance(layer, napari.layers.Image) and "segkit" in layer.metadata
    )


def _same_layer(layer, choices: list):
    """The choice that is ``layer`` (napari may hand a panel proxies of its layers)."""
    return next((choice for choice in choices if choice is not None and choice == layer), None)


def pick(combo: ComboBox, viewer) -> None:
    """Refresh ``combo``'s layer choices; keep its layer while it is there, else take the
    active layer when it is a choice, else the newest choice that is not a shown result."""
    combo.reset_choices()
    choices = list(combo.choices)
    if combo.value is not None and _same_layer(combo.value, choices) is not None:
        return
    inputs = [layer for layer in choices if layer is not None and not is_shown_result(layer)]
    active = _same_layer(viewer.layers.selection.active, inputs)
    if active is not None:
        combo.value = active
    elif inputs:
        combo.value = inputs[-1]


def follow_active(combo: ComboBox, viewer) -> None:
    """Choose the layer just made active in the layer list when it is one of ``combo``'s
    choices and not a shown result."""
    active = viewer.layers.selection.active
    if active is None or is_shown_result(active):
        return
    combo.reset_choices()  # the active layer may be announced before it is inserted
    chosen = _same_layer(active, list(combo.choices))
    if chosen is not None:
        combo.value = chosen
