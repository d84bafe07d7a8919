"""Make the float -> fixed conversion at the model input exact.

- `DeclareInputPrecision` (before 'bit_exact'): a model input that feeds anything but quantizers
  takes hls4ml's input type from the hls4ml config, as hls4ml does: the input layer's
  ``config['LayerName'][name]['Precision']`` (or its 'result' entry), else the model default
  ``config['Model']['Precision']`` (``fixed<16,6>`` from ``config_from_keras_model``). The float
  inputs are quantized to that type on entry (a warning says so, once per input) and bit_exact
  infers every later type from it: the C simulation equals the Keras model with its inputs
  quantized to that type (`hls4ml_plugin.quantize_inputs`) bit for bit.
- `WidenInputPrecision` (after 'fix_input_precision'): inputs that feed rounding quantizers keep
  enough fractional bits that the float -> fixed conversion does not round first.
"""

from __future__ import annotations

import warnings

import numpy as np
from hls4ml.model.layers import Input
from hls4ml.model.optimizer import OptimizerPass
from hls4ml.model.optimizer.optimizer import ModelOptimizerPass
from hls4ml.model.optimizer.passes.bit_exact import get_output_layers
from hls4ml.model.optimizer.passes.hgq_proxy_model import FixedPointQuantizer as HlsFixedPointQuantizer
from hls4ml.model.types import FixedPrecisionType, NamedType

from .. import InputQuantizedWarning
from ..ir import Attr, FixedPointQuantizer  # only hgq-compat's own quantizer nodes, never HGQ2's or others'

"""Input-node attribute: the declared input type (str(InputPrecision)) of a float input."""


def configured_input_precision(model, node) -> tuple[str, str]:
    """(precision text, config key it came from) of a model input: the input layer's Precision
    under LayerName (a string, or its 'result' / 'default' entry), else LayerType['Input'], else
    the model default. 'auto' counts as not set."""
    hls = model.config.config.get("HLSConfig", {})
    keras_name = node.get_attr(Attr.KERAS_LAYER, node.name)
    candidates = [
        (hls.get("LayerName", {}).get(name, {}), f"config['LayerName'][{name!r}]['Precision']")
        for name in dict.fromkeys((node.name, keras_name))
    ]
    candidates += [
        (hls.get("LayerType", {}).get("Input", {}), "config['LayerType']['Input']['Precision']"),
        (hls.get("Model", {}), "config['Model']['Precision']"),
    ]
    for conf, key in candidates:
        prec = conf.get("Precision") if isinstance(conf, dict) else None
        if isinstance(prec, dict):
            for sub in ("result", "default"):
                if prec.get(sub) not in (None, "auto"):
                    return str(prec[sub]), f"{key}[{sub!r}]"
        elif prec not in (None, "auto"):
            return str(prec), key
    return "fixed<16,6>", "hls4ml's default"


class DeclareInputPrecision(ModelOptimizerPass):
    """Give each float model input hls4ml's configured input type, trusted by bit_exact."""

    name = "hgq_compat_declare_input_precision"

    def __init__(self) -> None:
        pass

    def transform(self, model) -> bool:
        from ..inputs import parse_input_precision
        from .checks import _uses_plugin

        if not _uses_plugin(model):
            return False
        for node in model.graph.values():
            if not isinstance(node, Input) or node.get_attr(Attr.INPUT_PRECISION):
                continue
            direct = [c.name for c in get_output_layers(node) if not isinstance(c, HlsFixedPointQuantizer)]
            if not direct:
                continue  # every consumer quantizes the float input itself: exact for every float32
            text, key = configured_input_precision(model, node)
            try:
                p = parse_input_precision(text.replace(",0>", ">") if text.count(",") == 4 else text)
            except ValueError as exc:
                raise ValueError(
                    f"model input {node.name!r} feeds {direct} directly, so its float inputs are "
                    f"quantized to the input type {key} = {text!r} on entry; {exc}"
                ) from None
            precision = FixedPrecisionType(p.width, p.integer, p.signed, p.rounding, p.overflow)
            new_type = NamedType(f"{node.name}_t", precision)
            node.get_output_variable().type = new_type
            node.attributes["result_t"] = new_type
            node.attributes["trusted"] = True  # bit_exact starts from this type
            node.attributes[Attr.INPUT_PRECISION] = str(p)
            model.config.layer_name_precision[node.name] = str(precision)
            warnings.warn(
                f"model input {node.name!r} feeds {direct} directly: its float inputs are quantized to {p} on entry "
                f"(hls4ml's input type, from {key}); the C simulation equals the Keras model with its inputs quantized "
                f"to {p} (hls4ml_plugin.quantize_inputs) bit for bit. Set another type with "
                f"config['LayerName'][{node.name!r}]['Precision'] or hls4ml_plugin.convert(..., input_precision=...)",
                InputQuantizedWarning,
                stacklevel=2,
            )
        return True


INPUT_GUARD_BITS = 24
"""Fractional bits on the input beyond the largest f of the quantizers it feeds: float32 has a
24-bit significand, so every value that can decide a rounding (|x| >= 2**-(f+1)) converts exactly.
Inputs given as float64 with more significant bits are not covered (Keras casts to float32)."""

MIXED_MODE_GUARD_INT_BITS = 24
"""When one input feeds both WRAP and SAT quantizers no single input type is exact for every
float; the input gets this many extra integer bits (SAT), exact for |x| < 2**(i_max + 24)."""


class WidenInputPrecision(OptimizerPass):
    """Avoid double rounding at the model input.

    hls4ml's FixInputPrecision gives the input ``fixed<k+i+24, k+i, TRN, SAT>`` when its quantizers
    round (RND_CONV): the float -> input_t conversion truncates below 2**-24, and a value just
    above a tie becomes a tie that the quantizer rounds to even (about 10% mismatches on
    adversarial inputs). Here the input keeps ``max(f) + INPUT_GUARD_BITS`` fractional bits.
    """

    name = "hgq_compat_widen_input_precision"

    def match(self, node) -> bool:
        return (
            isinstance(node, Input)
            and node.attributes.get("bit_exact_transformed", False)
            and not node.attributes.get(Attr.INPUT_WIDENED, False)
        )

    def transform(self, model, node) -> bool:
        node.attributes[Attr.INPUT_WIDENED] = True
        if node.get_attr(Attr.INPUT_PRECISION):
            return False  # a declared input type (`DeclareInputPrecision`): the conversion is that type
        if node.attributes.get("_result_t_propagated", False):
            return False  # a fused input quantizer: its type already converts float -> fixed exactly
        consumers = get_output_layers(node)
        if not consumers or not all(isinstance(c, FixedPointQuantizer) for c in consumers):
            return False  # a fused (uniform) quantizer already converts float -> RND/SAT type directly
        prec = node.get_output_variable().type.precision
        integer, sat = prec.integer, prec.saturation_mode
        mixed = len({c.SAT == "WRAP" for c in consumers}) > 1
        if mixed:
            integer, sat = integer + MIXED_MODE_GUARD_INT_BITS, "SAT"
        frac = prec.fractional
        if not all(c.RND == "TRN" for c in consumers):
            f_max = max(int(np.max(c.mask_kbi[1] - c.mask_kbi[2])) for c in consumers)  # f = B - I
            frac = max(frac, f_max + INPUT_GUARD_BITS)
        if frac == prec.fractional and not mixed:
            return False
        new_type = NamedType(f"{node.name}_t", FixedPrecisionType(integer + frac, integer, prec.signed, "TRN", sat))
        node.get_output_variable().type = new_type
        node.attributes["result_t"] = new_type
        model.config.layer_name_precision[node.name] = str(new_type.precision)
        return False
