"""QTools configuration: default quantizers and energy models (QKeras ``qtools.settings``).

Energies are in pJ; each model is a polynomial (``np.poly1d``) of the operand bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_POLYNOMIALS = ("fpm_add", "fpm_mul", "fp16_add", "fp16_mul", "fp32_add", "fp32_mul", "sram_rd", "dram_rd")


class ConfigClass:
    """Settings read by QTools; `update` overlays a process from a config dict."""

    def __init__(self) -> None:
        self.default_source_quantizer = "quantized_bits(8, 0, 1)"
        self.default_interm_quantizer = "fp32"
        # Horowitz, ISSCC 2014
        self.fpm_add = np.poly1d([0.003125, 0])
        self.fpm_mul = np.poly1d([0.002994791667, 0.001041666667, 0])
        self.fp16_add = np.poly1d([0.4])
        self.fp16_mul = np.poly1d([1.1])
        self.fp32_add = np.poly1d([0.9])
        self.fp32_mul = np.poly1d([3.7])
        self.sram_rd = np.poly1d([0.02455, -0.2656, 0.8661])
        self.dram_rd = np.poly1d([20.3125, 0])
        self.sram_mul_factor = 1 / 64.0
        self.dram_mul_factor = 1.0
        self.include_energy = {
            "default": ["inputs", "parameters", "op_cost"],
            "QActivation": ["outputs"],
            "QAdaptiveActivation": ["outputs"],
            "Activation": ["outputs"],
            "QBatchNormalization": ["parameters"],
            "BatchNormalization": ["parameters"],
            "Add": ["op_cost"],
            "Subtract": ["op_cost"],
            "MaxPooling2D": ["op_cost"],
        }

    def update(self, process: str, cfg_setting: dict[str, Any]) -> None:
        """Take the default quantizers, ``cfg_setting[process]``'s polynomials and ``include_energy``
        from ``cfg_setting``; missing entries leave the current values (as QKeras)."""
        for key in ("default_source_quantizer", "default_interm_quantizer"):
            if key in cfg_setting:
                setattr(self, key, cfg_setting[key])
        process_setting = cfg_setting.get(process)
        if isinstance(process_setting, dict):
            for key in _POLYNOMIALS:
                if key in process_setting:
                    setattr(self, key, np.poly1d(process_setting[key]))
        for key, value in (cfg_setting.get("include_energy") or {}).items():
            self.include_energy[key] = value
            if key[0] == "Q":  # the same rule for the Keras layer
                self.include_energy[key[1:]] = value


cfg = ConfigClass()
