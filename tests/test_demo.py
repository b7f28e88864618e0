"""The demo (``python -m skvae``) without its optional plotting dependency."""

import sys

from skvae import __main__ as demo


def test_demo_skips_figures_without_matplotlib(monkeypatch):
    # A None entry in sys.modules makes ``import matplotlib`` raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert demo.pyplot() is None
    assert "skvae[demo]" in demo.NO_MATPLOTLIB
