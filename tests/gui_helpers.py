"""Shared by the GUI tests."""


def run_widget(qtbot, widget):
    """Run and wait: the button comes back when the worker has finished (a signal could be
    missed if the worker ends before we listen)."""
    worker = widget.run()
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=60_000)
    return worker


class GapMeter:
    """The longest time (ms) between event-loop turns while it is on: a 10 ms QTimer
    notes when it fires; a blocked GUI thread shows as a long gap."""

    def __init__(self):
        from qtpy.QtCore import QTimer

        self.longest, self._last = 0.0, None
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)

    def _tick(self):
        import time

        now = time.perf_counter()
        if self._last is not None:
            self.longest = max(self.longest, 1000 * (now - self._last))
        self._last = now

    def __enter__(self):
        self._last = None
        self._timer.start()
        return self

    def __exit__(self, *_):
        self._timer.stop()
