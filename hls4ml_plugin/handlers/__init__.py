"""Keras-v3 layer handlers for hgq_compat layers, one module per layer family.

Importing a module registers its handlers: `KerasV3LayerHandler`'s metaclass files each class
under the strings in ``handles``, which must be ``layer.__module__ + '.' + class name`` of the
module that DEFINES the layer (subclasses need their own entry).
"""

from . import activation, conv, dense, quantizer  # noqa: F401

HANDLED = sorted(h for mod in (activation, conv, dense, quantizer) for cls in vars(mod).values()
                 if isinstance(cls, type) and cls.__module__ == mod.__name__ for h in getattr(cls, "handles", ()))
"""Registry keys of the handled hgq_compat layers."""
