"""The keys of what the plugin records on hls4ml IR nodes and models (handlers write them, passes read them)."""


class Attr:
    """Keys of what the plugin records on hls4ml IR nodes and models, in one place."""

    KERAS_LAYER = (
        "hgq_compat_keras_layer"  # name of the Keras layer a node comes from (errors and LayerName settings name it)
    )
    LUT = "hgq_compat_lut"  # the LutFunction of a lookup-table activation node
    WEIGHTS_CHECKED = "hgq_compat_weights_checked"  # the handler checked the node's constants are exact in hls4ml
    ORIGINAL_TYPE = "hgq_compat_orig"  # a quantizer node's (kbi masks, rounding, overflow) before hls4ml's bit_exact passes changed it
    INPUT_PRECISION = "hgq_compat_input_precision"  # the input type hls4ml's config gives a float model input
    INEXACT = "hgq_compat_inexact"  # model-level dict: Keras layer -> why its export is approximate (allow_inexact)
    EXACT_SOFTMAX = "hgq_compat_softmax"  # a QSoftmax node (exact), not hls4ml's float Softmax
    LUT_FOR = "hgq_compat_lut_for"  # the input type a LUT table was built for
    INPUT_WIDENED = "hgq_compat_input_widened"  # the input precision pass already widened this node
    ACCUM_WARNED = "hgq_compat_acc_warned"  # the accumulator-width warning was given for this node
