"""Every public QKeras 0.9.0 name imports from hgq_compat and from QKeras' own submodule paths."""

import importlib

import pytest

MODULES = {
    "quantizers": [
        "quantized_bits",
        "quantized_relu",
        "quantized_tanh",
        "quantized_sigmoid",
        "quantized_ulaw",
        "quantized_po2",
        "quantized_relu_po2",
        "quantized_hswish",
        "binary",
        "stochastic_binary",
        "ternary",
        "stochastic_ternary",
        "bernoulli",
        "get_quantizer",
        "set_internal_sigmoid",
    ],
    "qlayers": [
        "QDense",
        "QActivation",
        "QAdaptiveActivation",
        "Clip",
        "QInitializer",
        "get_auto_range_constraint_initializer",
        "get_quantizer",
    ],
    "qconvolutional": [
        "QConv1D",
        "QConv2D",
        "QConv2DTranspose",
        "QDepthwiseConv2D",
        "QSeparableConv1D",
        "QSeparableConv2D",
    ],
    "qnormalization": ["QBatchNormalization"],
    "qpooling": ["QAveragePooling2D", "QGlobalAveragePooling2D"],
    "qrecurrent": ["QSimpleRNN", "QSimpleRNNCell", "QLSTM", "QLSTMCell", "QGRU", "QGRUCell", "QBidirectional"],
    "qconv2d_batchnorm": ["QConv2DBatchnorm"],
    "qdepthwiseconv2d_batchnorm": ["QDepthwiseConv2DBatchnorm"],
    "qdense_batchnorm": ["QDenseBatchnorm"],
    "utils": [
        "model_save_quantized_weights",
        "load_qmodel",
        "quantized_model_from_json",
        "clone_model",
        "_add_supported_quantized_objects",
        "model_quantize",
        "get_model_sparsity",
        "quantized_model_debug",
        "convert_to_folded_model",
    ],
    "estimate": [
        "print_qstats",
        "extract_model_operations",
        "analyze_accumulator",
        "analyze_accumulator_from_sample",
        "create_activation_cache",
        "get_operation_type",
        "get_quant_mode",
    ],
    "callbacks": ["QNoiseScheduler"],
    "bn_folding_utils": ["unfold_model", "convert_folded_layer_to_unfolded", "convert_to_folded_model"],
}
TOP_LEVEL_FROM = [
    "quantizers",
    "qlayers",
    "qconvolutional",
    "qnormalization",
    "qpooling",
    "qrecurrent",
    "estimate",
    "qconv2d_batchnorm",
    "qdepthwiseconv2d_batchnorm",
    "qdense_batchnorm",
]


@pytest.mark.parametrize("module, name", [(m, n) for m, names in MODULES.items() for n in names])
def test_submodule_path(module, name):
    mod = importlib.import_module(f"hgq_compat.{module}")
    assert hasattr(mod, name), f"hgq_compat.{module}.{name} is missing"


@pytest.mark.parametrize("name", sorted({n for m in TOP_LEVEL_FROM for n in MODULES[m]}))
def test_top_level(name):
    import hgq_compat

    assert hasattr(hgq_compat, name), f"hgq_compat.{name} is missing"


def test_same_objects_everywhere():
    import hgq_compat
    from hgq_compat import qlayers, quantizers

    assert hgq_compat.QDense is qlayers.QDense
    assert hgq_compat.quantized_bits is quantizers.quantized_bits
