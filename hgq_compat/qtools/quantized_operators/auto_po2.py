"""QTools' handling of alpha='auto_po2' weights (QKeras ``qtools_util`` functions, re-exported there):
the per-channel power-of-two scales widen the multiplier so one fixed-point type covers every channel."""

from __future__ import annotations

import sys
from typing import Any

import keras
import numpy as np


def get_scale_from_quantized_bits_with_auto_po2(quantizer: Any) -> Any:
    """The per-channel scale a quantized_bits(alpha='auto_po2') found on its last call (None if never called)."""
    scale = quantizer.scale
    if isinstance(scale, np.ndarray):
        return scale
    if hasattr(scale, "numpy"):
        return scale.numpy()
    if keras.ops.is_tensor(scale) and not isinstance(scale, keras.KerasTensor):  # e.g. a JAX array
        return keras.ops.convert_to_numpy(scale)
    return None


def adjust_multiplier_for_auto_po2(multiplier: Any, qkeras_weight_quantizer: Any) -> None:
    """Widen a multiplier for an alpha='auto_po2' weight quantizer so one type covers every channel's
    power-of-two scale: bits + log2(max scale) - log2(min scale) bits, int_bits + log2(max scale)."""
    print("adjust multiplier for auto_po2 ...")
    output = multiplier.output
    if "quantized_bits" in str(qkeras_weight_quantizer) and qkeras_weight_quantizer.alpha == "auto_po2":
        scale = get_scale_from_quantized_bits_with_auto_po2(qkeras_weight_quantizer)
        if scale is None:
            print(
                "[WARNING] The weight quantizer is never called even though it has alpha=auto_po2. In this case "
                "we do not adjust the multiplier and accumulator bit width since we don't know the exact values "
                "of scale",
                file=sys.stderr,
            )
            return
        if isinstance(scale, np.ndarray):
            scale = np.squeeze(scale)
            max_shift = int(np.log2(np.max(scale)))
            min_shift = int(np.log2(np.min(scale)))
        elif isinstance(scale, float):
            max_shift = min_shift = int(np.log2(scale))
        else:
            raise ValueError(f"Scale should be either numpy array or float,{type(scale)} is found instead!")
        max_fractional_bits = output.bits - output.int_bits - min_shift
        max_int_bits = output.int_bits + max_shift
        output.bits = max_int_bits + max_fractional_bits
        output.int_bits = max_int_bits
    elif getattr(qkeras_weight_quantizer, "alpha", None) == "auto_po2":
        print(
            "[WARNING] auto_po2 is detected on a non-quantized_bits quantizer.Currently in QTools we do not yet "
            f"support the auto_po2 with the  given quantizer type: {type(qkeras_weight_quantizer)}.Therefore we do "
            "not adjust the multiplier and accumulator bit width"
        )
