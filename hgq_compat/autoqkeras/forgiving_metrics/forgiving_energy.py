"""QKeras ``ForgivingFactorPower`` with EBOPs as the energy proxy.

QKeras estimates energy with qtools (a process model such as 'horowitz', memory placement,
...). Here the cost is EBOPs (effective bit-operations, `hgq_compat.training.model_ebops`),
which HGQ training minimises directly and which tracks FPGA resources: the reference is
the model with its float layers at the ``reference_internal`` width (int8: 8 bits, fp16: 16,
fp32: 32 bits, inputs included), a trial is the model's EBOPs with any float layer left counted
at that width. The qtools arguments are validated as in QKeras and recorded, but do not change
the cost (``trained_model``, ``process``, memory placement, ``reference_accumulator``).
"""

from __future__ import annotations

import json
from typing import Any

import keras
import numpy as np

from .forgiving_factor import ForgivingFactor
from .uniform_ebops import uniform_layer_ebops

REFERENCE_BITS = {"int8": 8, "fp16": 16, "fp32": 32}
_KWARGS = (
    "process",
    "parameters_on_memory",
    "activations_on_memory",
    "min_sram_size",
    "rd_wr_on_io",
    "config_json",
    "source_quantizers",
    "trained_model",
    "reference_internal",
    "reference_accumulator",
    "keras_layer_quantizer",
)


def _check(name: str, value: Any, accepted: tuple) -> None:
    if value not in accepted:
        raise ValueError(
            f"ForgivingFactorPower: {name}={value!r} is not accepted; accepted values: "
            f"{', '.join(repr(a) for a in accepted)}"
        )


class ForgivingFactorPower(ForgivingFactor):
    """Get the cost (EBOPs, standing in for QKeras' qtools energy) of a given model.

    Args:
        delta_p, delta_n, rate: see `ForgivingFactor`.
        stress: factor on the reference cost.
        **kwargs: QKeras' qtools settings (``process``, ``parameters_on_memory``,
            ``activations_on_memory``, ``min_sram_size``, ``rd_wr_on_io``, ``config_json``,
            ``source_quantizers``, ``trained_model``, ``reference_internal`` ('int8', 'fp16',
            'fp32': the reference width), ``reference_accumulator``, ``keras_layer_quantizer``).
    """

    def __init__(self, delta_p: float, delta_n: float, rate: float, stress: float = 1.0, **kwargs: Any):
        super().__init__(delta_p, delta_n, rate)
        unknown = sorted(set(kwargs) - set(_KWARGS))
        if unknown:
            raise TypeError(f"ForgivingFactorPower got unexpected arguments {unknown}; accepted: {', '.join(_KWARGS)}")
        self.stress = stress
        self.process = kwargs.get("process", "horowitz")
        self.parameters_on_memory = kwargs.get("parameters_on_memory", ["fixed"] * 2)
        self.activations_on_memory = kwargs.get("activations_on_memory", ["dram"] * 2)
        self.min_sram_size = kwargs.get("min_sram_size", [0] * 2)
        self.rd_wr_on_io = kwargs.get("rd_wr_on_io", [True] * 2)
        self.config_json = kwargs.get("config_json", None)
        self.source_quantizers = kwargs.get("source_quantizers", None)
        self.trained_model = kwargs.get("trained_model", False)
        self.reference_internal = kwargs.get("reference_internal", "fp32")
        self.reference_accumulator = kwargs.get("reference_accumulator", "fp32")
        self.reference_size = None
        self.ref_energy_dict = None
        self.trial_energy_dict = None
        for n in range(2):
            _check(f"parameters_on_memory[{n}]", self.parameters_on_memory[n], ("dram", "sram", "fixed"))
            _check(f"activations_on_memory[{n}]", self.activations_on_memory[n], ("dram", "sram", "fixed"))
        _check("reference_internal", self.reference_internal, tuple(REFERENCE_BITS))
        _check("reference_accumulator", self.reference_accumulator, ("int16", "int32", "fp16", "fp32"))

    @property
    def reference_bits(self) -> int:
        """Bits of the reference model's weights, activations and inputs."""
        return REFERENCE_BITS[self.reference_internal]

    def _profile(self, model: keras.Model) -> dict:
        return {name: {"total": ebops} for name, ebops in uniform_layer_ebops(model, self.reference_bits).items()}

    def get_reference(self, model: keras.Model) -> float:
        """Reference EBOPs of ``model`` (float layers at ``reference_internal``) times ``stress``;
        computed once, then cached."""
        if self.reference_size is not None:
            return self.reference_size * self.stress
        self.reference_energy_profile = self._profile(model)
        self.ref_energy_dict = {
            **self.reference_energy_profile,
            "total_cost": sum(v["total"] for v in self.reference_energy_profile.values()),
        }
        self.reference_size = self.ref_energy_dict["total_cost"]
        return self.reference_size * self.stress

    def get_trial(self, model: keras.Model) -> float:
        """EBOPs of a quantization trial (float layers counted at ``reference_internal``)."""
        self.trial_energy_profile = self._profile(model)
        self.trial_energy_dict = {
            **self.trial_energy_profile,
            "total_cost": sum(v["total"] for v in self.trial_energy_profile.values()),
        }
        self.trial_size = self.trial_energy_dict["total_cost"]
        return self.trial_size

    def get_total_factor(self) -> float:
        """we adjust the learning rate by size reduction."""
        return (self.trial_size - self.reference_size) / self.reference_size

    def get_reference_stats(self) -> dict:
        return self.reference_energy_profile

    def get_trial_stats(self) -> dict:
        return self.trial_energy_profile

    def print_stats(self, verbosity: int = 0) -> None:
        """Prints statistics of current model."""
        if self.ref_energy_dict and self.trial_energy_dict:
            print(
                "stats: delta_p={} delta_n={} rate={} trial_size={} reference_size={}\n       delta={:.2f}%".format(
                    self.delta_p, self.delta_n, self.rate, self.trial_size, int(self.reference_size), 100 * self.delta()
                )
            )
        if verbosity > 0 and self.ref_energy_dict:
            print("Reference Cost Distribution:")
            print(json.dumps(self.ref_energy_dict, indent=4))
        if verbosity > 0 and self.trial_energy_dict:
            print("Trial Cost Distribution:")
            print(json.dumps(self.trial_energy_dict, indent=4))
        if self.ref_energy_dict and self.trial_energy_dict:
            print("Total Cost Reduction:")
            reduction = np.round(100.0 * (self.trial_size - self.reference_size) / self.reference_size, 2)
            print("       {} vs {} ({:.2f}%)".format(int(self.trial_size), int(self.reference_size), reduction))
