"""Shared by the GUI tests."""


def run_widget(qtbot, widget):
    """Run and wait: the button comes back when the worker has finished (a signal could be
    missed if the worker ends before we listen)."""
    worker = widget.run()
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=60_000)
    return worker
