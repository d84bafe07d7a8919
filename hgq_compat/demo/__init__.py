"""`hgq-compat demo`: a QKeras model, converted, retrained with HGQ, synthesized bit-exactly.

The starting point ships with the package (``data/qkeras_digits.h5``): a uniform 8-bit QKeras
0.9.0 MLP trained on sklearn's bundled digits by ``tests/fixtures/make_qkeras_goldens.py
--only demo``. No network is needed.
"""

from .pipeline import DemoError, run_demo

__all__ = ["DemoError", "run_demo"]
