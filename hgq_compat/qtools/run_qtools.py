"""`QTools`: data type map and energy estimate of a quantized model (QKeras ``qtools.run_qtools``)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .. import _atomic
from . import generate_layer_data_type_map, interface, qgraph, qtools_util
from .config_public import config_settings
from .qenergy import qenergy
from .settings import cfg


class QTools:
    """Data types (``qtools_stats``-style JSON dict) and energy of ``model``.

    Args:
      model: a Keras 3 model of hgq_compat (QKeras-named) and Keras layers.
      process: energy process in `config_public.config_settings` (``"horowitz"``).
      source_quantizers: input quantizer(s): one per input, one for all, or None (default source type).
      is_inference: the weights are trained (power-of-two types count their distinct values).
      weights_path: weights file loaded into ``model`` first.
      keras_quantizer / keras_accumulator: types ('int8', 'fp32', a quantizer string...) given to the
        weights / MAC results of float layers, or of every layer when ``for_reference``.
      for_reference: compute the reference (baseline) model instead of the quantized one.
      model_weights_already_quantized: the weights need no quantizer applied.
      hw_weight_dict: `hgq_compat.utils.model_save_quantized_weights`' output, for batch normalization
        fusing.
    """

    def __init__(
        self,
        model: Any,
        process: str,
        source_quantizers: Any = None,
        is_inference: bool = False,
        weights_path: str | None = None,
        keras_quantizer: Any = None,
        keras_accumulator: Any = None,
        for_reference: bool = False,
        model_weights_already_quantized: bool = True,
        hw_weight_dict: dict | None = None,
    ):
        if model is not None:
            self._model = model
        if weights_path is not None:
            self._model.load_weights(weights_path)
        cfg.update(process, config_settings)
        graph, source_quantizer_list = qgraph.CreateGraph(model, source_quantizers, cfg.default_source_quantizer)
        qgraph.GraphPropagateActivationsToEdges(graph)
        self._layer_map = generate_layer_data_type_map.generate_layer_data_type_map(
            graph,
            source_quantizer_list,
            is_inference,
            keras_quantizer,
            keras_accumulator,
            for_reference,
            model_weights_already_quantized=model_weights_already_quantized,
            hw_weight_dict=hw_weight_dict,
        )
        self._output_dict = interface.map_to_json(self._layer_map)
        self.source_quantizer_list = source_quantizer_list

    def qtools_stats_to_json(self, json_name: str) -> None:
        """Writes the layer data types to ``json_name`` (atomically)."""
        text = json.dumps(self._output_dict, indent=4, default=_json_default)
        _atomic.write_text_atomic(json_name, text)

    def qtools_stats_print(self) -> None:
        """Prints the layer data types as JSON."""
        print(json.dumps(self._output_dict, indent=4, default=_json_default))

    def pe(
        self,
        weights_on_memory: str = "dram",
        activations_on_memory: str = "dram",
        min_sram_size: float = 0,
        rd_wr_on_io: bool = True,
        verbose: bool = False,
    ) -> dict:
        """Energy per layer (pJ); see `qenergy.energy_estimate`."""
        assert weights_on_memory in ["dram", "sram", "fixed"]
        energy = qenergy.energy_estimate(
            self._model, self._layer_map, weights_on_memory, activations_on_memory, min_sram_size, rd_wr_on_io
        )
        if verbose:
            print("COST:")
            print(json.dumps(energy, indent=4))
        return energy

    def extract_energy_sum(self, cfg_setting: dict, energy_dict: dict) -> int:
        """Sum over layers of the energy terms ``cfg_setting`` selects per class (``"default"`` otherwise)."""
        value = 0
        for name, profile in self.extract_energy_profile(cfg_setting, energy_dict).items():
            value += profile["total"]
        return int(value)

    def extract_energy_profile(self, cfg_setting: dict, energy_dict: dict) -> dict:
        """Per layer: its energy terms and their selected total."""
        profile = {}
        for name in energy_dict:
            if name == "total_cost":
                continue
            keys = cfg_setting.get(energy_dict[name]["class_name"], cfg_setting.get("default", []))
            profile[name] = {
                "energy": energy_dict[name]["energy"],
                "total": sum(energy_dict[name]["energy"][key] for key in keys),
            }
        return profile

    def calculate_ace(self, default_float_bits: int) -> tuple:
        """(ACE, float ACE): multiplications x input bits x weight bits over conv/dense layers."""

        def ace(layer: Any) -> tuple:
            item = self._output_dict.get(layer.name)
            weight_quantizer = qtools_util.get_val(item, "weight_quantizer") if item is not None else None
            if not weight_quantizer:
                return 0, 0
            count = item["operation_count"]
            return (
                count * item["input_quantizer_list"][0]["bits"] * weight_quantizer["bits"],
                count * default_float_bits * default_float_bits,
            )

        print("WARNING: ACE are computed from conv/dense layers only!")
        values = [ace(layer) for layer in self._model.layers]
        return sum(v[0] for v in values), sum(v[1] for v in values)

    def calculate_output_bytes(self, include_model_input_size: bool, default_float_bits: int) -> tuple:
        """(bytes, float bytes) of the QActivation outputs (plus the model input when asked)."""

        def size(layer: Any) -> tuple:
            if layer.__class__.__name__ != "QActivation":
                return 0, 0
            output_quantizer = self._output_dict[layer.name]["output_quantizer"]
            n = np.prod(output_quantizer["shape"][1:])
            return int(n * output_quantizer["bits"] / 8.0), int(n * default_float_bits / 8.0)

        values = [size(layer) for layer in self._model.layers]
        output_bytes = sum(v[0] for v in values)
        output_bytes_float = sum(v[1] for v in values)
        if include_model_input_size:
            if len(self._model.inputs) != 1:  # QKeras multiplies the Keras 2 list of input shapes and fails
                raise NotImplementedError(
                    f"QTools: the model input size is counted for single-input models only (this model has "
                    f"{len(self._model.inputs)} inputs); pass include_model_input_size=False"
                )
            n = np.prod(tuple(self._model.inputs[0].shape)[1:])
            output_bytes += n * self.source_quantizer_list[0].bits / 8.0
            output_bytes_float += n * default_float_bits / 8.0
        return output_bytes, output_bytes_float

    def calculate_weight_bytes(self, default_float_bits: int) -> tuple:
        """(bytes, float bytes) of the conv/dense kernels and biases."""

        def size(layer: Any) -> tuple:
            item = self._output_dict.get(layer.name)
            weight_quantizer = qtools_util.get_val(item, "weight_quantizer") if item is not None else None
            if not weight_quantizer:
                return 0, 0
            n = np.prod(layer.weights[0].shape)
            total = int(n * weight_quantizer["bits"] / 8.0)
            total_float = int(n * default_float_bits / 8.0)
            if getattr(layer, "use_bias", False):
                bias_quantizer = qtools_util.get_val(item, "bias_quantizer")
                assert bias_quantizer is not None, f"{layer.name} has no bias_quantizer!"
                n = np.prod(layer.weights[1].shape)
                total += int(n * bias_quantizer["bits"] / 8.0)
                total_float += int(n * default_float_bits / 8.0)
            return total, total_float

        values = [size(layer) for layer in self._model.layers]
        return sum(v[0] for v in values), sum(v[1] for v in values)

    def get_roofline_numbers(self, include_model_input_size: bool = True, default_float_bits: int = 32) -> dict:
        """ACE, weight and activation bytes, quantized and float, for a roofline analysis."""
        ace = self.calculate_ace(default_float_bits)
        weights = self.calculate_weight_bytes(default_float_bits)
        outputs = self.calculate_output_bytes(include_model_input_size, default_float_bits)
        return {
            "ACE": ace[0],
            "weight_in_bytes": weights[0],
            "activation_in_bytes": outputs[0],
            "ACE_float": ace[1],
            "weight_in_bytes_float": weights[1],
            "activation_in_bytes_float": outputs[1],
        }


def _json_default(value: Any) -> Any:
    """NumPy scalars and arrays in the data type map as JSON numbers/lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
