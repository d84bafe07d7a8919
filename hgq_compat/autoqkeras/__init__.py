"""QKeras ``qkeras.autoqkeras``: the model-summary helper (AutoQKeras itself is not provided)."""

from .utils import print_qmodel_summary

__all__ = ["print_qmodel_summary"]
