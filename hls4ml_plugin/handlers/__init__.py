"""Keras-v3 layer handlers for hgq_compat layers, one module per layer family.

Importing a module registers its handlers: `KerasV3LayerHandler`'s metaclass files each class
under the strings in ``handles``, which must be ``layer.__module__ + '.' + class name`` of the
module that DEFINES the layer (subclasses need their own entry). `refused` holds layers that
are rejected with a reason (and `recurrent` its 'Refused*' handler of bare cells); `recurrent`
unrolls QSimpleRNN/QLSTM/QGRU over time; `keras_layers` extends hls4ml's own Add/Concatenate
handlers to more than two inputs.
"""

from . import (  # noqa: F401  (an input named 'input'; the nested-model handler)
    activation,
    conv,
    conv_extra,
    dense,
    folded,
    input_layer,
    keras_layers,
    nested,
    normalization,
    pooling,
    quantizer,
    recurrent,
    refused,
    softmax,
)

_MODULES = (activation, conv, conv_extra, dense, folded, normalization, pooling, quantizer, recurrent, softmax)


def _keys(modules: tuple, refused_handlers: bool) -> list[str]:
    """Registry keys of the handler classes defined in ``modules`` that refuse (named 'Refused*',
    or in `refused`) or that convert."""
    return sorted(
        h
        for mod in modules
        for cls in vars(mod).values()
        if isinstance(cls, type)
        and cls.__module__ == mod.__name__
        and (mod is refused or cls.__name__.startswith("Refused")) == refused_handlers
        for h in getattr(cls, "handles", ())
    )


HANDLED = _keys(_MODULES, False)
"""Registry keys of the hgq_compat layers that convert (bit-exactly or with a clear error)."""

REFUSED = _keys((refused, recurrent), True)
"""Registry keys of the hgq_compat layers the export refuses (NotImplementedError with the reason)."""
