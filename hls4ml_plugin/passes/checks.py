"""Refuse, before hls4ml infers any precision, what cannot be bit-exact.

Runs only on models that contain hgq-compat quantizer nodes; other models convert as before.
"""

from __future__ import annotations

import warnings

import numpy as np
from hls4ml.model.layers import (
    Activation,
    BatchNormalization,
    GlobalPooling1D,
    GlobalPooling2D,
    Input,
    Layer,
    ParametrizedActivation,
    Pooling1D,
    Pooling2D,
    Softmax,
)
from hls4ml.model.optimizer.optimizer import ModelOptimizerPass
from hls4ml.model.optimizer.passes.bit_exact import get_output_layers
from hls4ml.model.optimizer.passes.hgq_proxy_model import FixedPointQuantizer as HlsFixedPointQuantizer

from ..ir import Attr, FixedPointQuantizer
from ..ir.exactness import (
    FOLD_HINT,
    INEXACT_HINT,
    SOFTMAX_ALTERNATIVES,
    ExactnessError,
    allow_inexact,
    constant_problem,
    record_inexact,
    wide_constant,
)
from ..ir.layers import FLOAT32_SIGNIFICAND_BITS, ScaleShift, window_sums


def _uses_plugin(model) -> bool:
    """True for models with any node made by an hgq-compat handler. Remembered on the model by
    the first (pre-bit_exact) check: fusion may remove every such node later."""
    if getattr(model, "_hgq_compat_model", False):
        return True
    found = any(
        isinstance(node, FixedPointQuantizer) or node.get_attr(Attr.WEIGHTS_CHECKED, False)
        for node in model.graph.values()
    )
    if found:
        model._hgq_compat_model = True
    return found


class CheckExactness(ModelOptimizerPass):
    """Raise `ExactnessError` naming the layer and the change to make.

    Approximations a handler made (`ir.Attr.INEXACT`) and float batch norms are
    refused too, unless the config allows inexact exports (`ir.exactness.allow_inexact`): then
    they are recorded on the model (`ir.exactness.record_inexact`) and kept."""

    name = "hgq_compat_check_exactness"

    def __init__(self) -> None:
        pass

    def transform(self, model) -> bool:
        if not _uses_plugin(model):
            return False
        self._require_bit_exact(model)
        io_type = model.config.get_config_value("IOType")
        inexact = allow_inexact(model)
        for node in list(model.graph.values()):
            for layer_name, message in node.get_attr(Attr.INEXACT, None) or ():
                if not inexact:
                    raise NotImplementedError(message + INEXACT_HINT)
                record_inexact(model, layer_name, message)
            if isinstance(node, BatchNormalization) and not isinstance(node, ScaleShift):
                self._check_batch_normalization(model, node, inexact)
            elif isinstance(node, Input):
                self._check_input(node)
            elif isinstance(node, FixedPointQuantizer) and io_type != "io_parallel":
                k, b, i = node.mask_kbi
                if any(np.unique(a).size > 1 for a in (k, b, i)):
                    what = node.get_attr(Attr.KERAS_LAYER, node.name)
                    raise ExactnessError(
                        f"layer {what!r}: its activation quantizer has per-element or per-channel precision, which "
                        f"hls4ml supports with io_type='io_parallel' only (got {io_type!r}: a stream carries one type "
                        "for all channels of a pixel); convert with io_type='io_parallel', or build the model with "
                        "per-tensor activation bitwidths, "
                        "hgq_compat.quantization_config(activation_granularity='per-tensor')"
                    )
            else:
                self._check_layer(model, node, inexact)
        return True  # a model pass that returns True is not run again on the changed graph

    @staticmethod
    def _require_bit_exact(model) -> None:
        """Every type of a plugin model comes from hls4ml's bit_exact pass. hls4ml runs it only when a
        quantizer node is present (or Model/BitExact is set): a plugin model without one (e.g. float
        input -> unrolled recurrent layer) would otherwise keep the default precision everywhere."""
        conf = model.config.config["HLSConfig"]["Model"]
        if conf.get("BitExact") is False:
            raise ExactnessError(
                "config['Model']['BitExact'] is False, but hgq-compat's export infers every type with hls4ml's "
                "bit_exact pass (the only way the C simulation equals Keras); remove the key or set it to True"
            )
        model.config.config["HLSConfig"]["Model"] = {**conf, "BitExact": True}  # a copy: the user's dict stays

    @staticmethod
    def _check_batch_normalization(model, node: Layer, inexact: bool) -> None:
        """hls4ml's own BatchNormalization node (from a float keras BatchNormalization): Keras computes
        it in float32 with a float scale; kept, with constants hls4ml holds exactly, when allowed."""
        reason = (
            f"layer {node.name!r}: a float BatchNormalization is not exact (Keras computes x * scale + shift "
            f"in float32 with scale = gamma / sqrt(variance + epsilon)); {FOLD_HINT}"
        )
        if not inexact:
            raise ExactnessError(reason + INEXACT_HINT)
        for var in ("scale", "bias"):
            weight = node.weights.get(var)
            if weight is not None:
                weight.data = wide_constant(weight.data)
        record_inexact(model, node.name, reason)

    @staticmethod
    def _check_input(node: Layer) -> None:
        bad = [c.name for c in get_output_layers(node) if not isinstance(c, HlsFixedPointQuantizer)]
        if bad and not node.get_attr(Attr.INPUT_PRECISION):  # passes.input_precision declares it
            raise ExactnessError(
                f"model input {node.name!r} feeds layer(s) {bad} directly: exactness cannot be guaranteed for "
                "a float input; declare the fixed-point type the hardware receives, "
                "hls4ml_plugin.convert(..., input_precision='fixed<16,6>') or hgq-compat synth --input-precision "
                "'fixed<16,6>' (hls4ml's default; the inputs are then quantized to it on entry, in Keras too), "
                "or add an input quantizer right after the Input, e.g. QActivation('quantized_bits(8,3,alpha=1)')"
            )

    @staticmethod
    def _check_layer(model, node: Layer, inexact: bool) -> None:
        act = str(node.get_attr("activation", "")).lower()
        reason = None
        if isinstance(node, Softmax) and not node.get_attr(Attr.EXACT_SOFTMAX, False):  # QSoftmax is exact
            reason = (
                f"layer {node.name!r}: a float softmax cannot be reproduced bit for bit by hls4ml (it computes "
                f"softmax from lookup tables); {SOFTMAX_ALTERNATIVES}"
            )
        elif not isinstance(node, Softmax) and (
            isinstance(node, ParametrizedActivation) or (isinstance(node, Activation) and act not in ("linear", "relu"))
        ):
            reason = (
                f"layer {node.name!r} ({node.class_name} {act}) cannot be reproduced bit for bit by hls4ml "
                "(non-linear activations are table approximations); use a quantizer activation or put a "
                "quantizer before it (after a quantizer, elementwise Keras activations export as exact lookup "
                "tables)"
            )
        if reason is not None:
            if not inexact:
                raise ExactnessError(reason + ("" if "allow_inexact" in reason else INEXACT_HINT))
            record_inexact(model, node.get_attr(Attr.KERAS_LAYER, node.name), reason)
            return
        if node.get_attr("pool_op") == "Average":
            counts = _pool_counts(node)
            if np.any((counts <= 0) | ((counts & (counts - 1)) != 0)):
                raise ExactnessError(
                    f"layer {node.name!r} averages over {sorted(set(counts.ravel().tolist()))} pixels; Keras divides "
                    "in float32, which rounds unless every count is a power of two, so hls4ml cannot match it bit for "
                    "bit; use a power-of-two pool size (and padding='valid' or an input size that needs no padding)"
                )
        if node.get_attr(Attr.WEIGHTS_CHECKED, False):
            return
        for var in ("weight", "bias"):
            data = node.get_attr(f"{var}_data")
            if data is None:
                continue
            problem = constant_problem(np.asarray(data, np.float64), None)  # the handlers' check
            if problem:
                raise ExactnessError(
                    f"layer {node.name!r} has unquantized {var}s {problem}, so hls4ml cannot hold them exactly; "
                    "use the quantized layer (QDense, QConv2D, ...) with a quantizer"
                )


def _pool_counts(node: Layer) -> np.ndarray:
    """Input pixels (padding excluded) in each window of an hls4ml pooling node."""

    if isinstance(node, GlobalPooling2D):
        return np.array([node.get_attr("in_height") * node.get_attr("in_width")])
    if isinstance(node, GlobalPooling1D):
        return np.array([node.get_attr("n_in")])
    one_d = isinstance(node, Pooling1D)
    dims = ("width",) if one_d else ("height", "width")
    sides = {"height": ("pad_top", "pad_bottom"), "width": ("pad_left", "pad_right")}
    size = [node.get_attr("n_in") if one_d else node.get_attr(f"in_{d}") for d in dims]
    pads = [tuple(node.get_attr(p, 0) for p in sides[d]) for d in dims]
    return window_sums(
        np.pad(np.ones(size), pads),
        [node.get_attr(f"pool_{d}") for d in dims],
        [node.get_attr(f"stride_{d}") for d in dims],
    )


class CheckInferredTypes(ModelOptimizerPass):
    """Refuse hls4ml code that is wrong for the types bit_exact inferred (after 'bit_exact').

    Max pooling pads with ``x[MSB] = 1``, the most negative value of a signed type but
    ``2**(I-1)`` of an unsigned one, so a padded window of unsigned values can return that
    constant instead of its maximum.
    """

    name = "hgq_compat_check_inferred_types"

    def __init__(self) -> None:
        pass

    def transform(self, model) -> bool:
        if not _uses_plugin(model):
            return False
        for node in model.graph.values():
            if node.get_attr("pool_op") != "Max" or not isinstance(node, (Pooling1D, Pooling2D)):
                continue
            padded = any(node.get_attr(p, 0) for p in ("pad_top", "pad_bottom", "pad_left", "pad_right"))
            if padded and not node.get_input_variable().type.precision.signed:
                raise ExactnessError(
                    f"layer {node.name!r}: hls4ml 1.3.0 pads max pooling with 2**(I-1) for unsigned inputs (the most "
                    "negative value only for signed ones), so padded windows give wrong maxima; use padding='valid', "
                    "or keras.layers.ZeroPadding2D/1D (exact for non-negative inputs) followed by a 'valid' pooling"
                )
        return True


class CheckFloat32Accumulation(ModelOptimizerPass):
    """Keras computes Dense/Conv in float32: its results are exact only while the accumulator
    fits a float32 significand. Warn, naming the layer, where the inferred type is wider.

    Checked: every node an hgq-compat handler made, and every node with weights (plain Keras
    layers converted by hls4ml's own handlers, whose unquantized weights are accepted when
    exact constants). ``synth`` turns the warning into an 'EXACTNESS NOT GUARANTEED' status."""

    name = "hgq_compat_check_float32_accumulation"

    def __init__(self) -> None:
        pass

    def transform(self, model) -> bool:
        if not _uses_plugin(model):
            return False
        for node in model.graph.values():
            mine = node.get_attr(Attr.WEIGHTS_CHECKED, False) or node.get_attr("weight_data") is not None
            if not mine or node.get_attr(Attr.ACCUM_WARNED, False):
                continue
            node.set_attr(Attr.ACCUM_WARNED, True)
            accum = node.get_attr("accum_t")
            if node.get_attr("hgq_compat_float32_sum", False):  # a Merge (add, multiply) Keras computes in float32
                accum = node.get_output_variable().type
            prec = getattr(accum, "precision", None)
            width = getattr(prec, "width", None)
            if width is not None and width > FLOAT32_SIGNIFICAND_BITS:
                warnings.warn(
                    f"layer {node.name!r}: the exact accumulator needs {width} bits, more than float32's "
                    f"{FLOAT32_SIGNIFICAND_BITS}; Keras may round where hls4ml does not, so the C simulation is "
                    "not guaranteed to equal Keras bit for bit. Use fewer weight or input bits.",
                    stacklevel=2,
                )
        return True
