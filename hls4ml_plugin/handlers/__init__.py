"""Keras-v3 layer handlers for hgq_compat layers, one module per layer family.

Importing a module registers its handlers: `KerasV3LayerHandler`'s metaclass files each class
under the strings in ``handles``, which must be ``layer.__module__ + '.' + class name`` of the
module that DEFINES the layer (subclasses need their own entry). `refused` holds layers that
are rejected with a reason; `keras_layers` extends hls4ml's own Add/Concatenate handlers to more
than two inputs.
"""

from . import (activation, conv, conv_extra, dense, folded, keras_layers, normalization, pooling, quantizer, refused,
               softmax)
from . import nested  # noqa: F401  (registers the nested-model handler)

_MODULES = (activation, conv, conv_extra, dense, folded, normalization, pooling, quantizer, softmax)

HANDLED = sorted(h for mod in _MODULES for cls in vars(mod).values()
                 if isinstance(cls, type) and cls.__module__ == mod.__name__ for h in getattr(cls, "handles", ()))
"""Registry keys of the hgq_compat layers that convert (bit-exactly or with a clear error)."""

REFUSED = sorted(h for cls in vars(refused).values()
                 if isinstance(cls, type) and cls.__module__ == refused.__name__ for h in getattr(cls, "handles", ()))
"""Registry keys of the hgq_compat layers the export refuses (NotImplementedError with the reason)."""
