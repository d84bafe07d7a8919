#!/usr/bin/env python
"""hls4ml 1.3's OWN recurrent layers (Vitis, io_parallel) against hgq_compat's QSimpleRNN/QLSTM/QGRU:
the measurement behind the plugin's decision to unroll recurrent layers (handlers/recurrent.py,
migration_guide/features.md).

Usage::

    python benchmarks/hls4ml_recurrent_native.py rnn lstm_same gru_relu gru_q [--out DIR]

Each case builds a 4-step, 3-input, 4-unit hgq_compat layer with weights on its quantizers' grid
and a state quantizer, copies the quantized weights into the plain Keras layer hls4ml converts
with its own handlers, and counts the outputs of the C simulation that differ from the
hgq_compat model on 10,000 inputs. ``lstm_same``: hls4ml's LSTM compiles only with one type for
input, state and accumulator. Results are printed and written as JSON.
"""

import json
import sys
import tempfile
from pathlib import Path

import hls4ml
import keras
import numpy as np

from hgq_compat import QGRU, QLSTM, QSimpleRNN

OUT = Path(sys.argv[sys.argv.index("--out") + 1]) if "--out" in sys.argv else Path(tempfile.mkdtemp())
T, N, U, B = 4, 3, 4, 10000
rng = np.random.default_rng(0)
x = (rng.integers(-16, 16, size=(B, T, N)) / 8).astype("float32")  # fixed<16,6> grid
WQ = "quantized_bits(6,1,alpha=1)"
results = {}


def run(tag, qlayer, plain_cls, plain_kwargs, precision):
    keras.utils.set_random_seed(1)
    qm = keras.Sequential([keras.Input((T, N)), qlayer])
    qm.layers[0].build((None, T, N)) if not qm.built else None
    # random weights on the quantizer grid
    for v in qm.layers[0].cell.weights:
        v.assign(rng.integers(-24, 24, size=v.shape) / 16)
    y_keras = qm.predict(x, batch_size=1000, verbose=0)
    cell = qm.layers[0].cell
    w = [
        np.asarray(keras.ops.convert_to_numpy(cell.quantized_weight(r))) for r in ("kernel", "recurrent_kernel", "bias")
    ]
    pm = keras.Sequential([keras.Input((T, N)), plain_cls(U, **plain_kwargs, name="rnn")])
    pm.layers[0].set_weights(w)
    cfg = hls4ml.utils.config_from_keras_model(pm, granularity="name", backend="Vitis")
    cfg["LayerName"]["rnn"]["Precision"].update(precision)
    if "input" in precision:
        for name in cfg["LayerName"]:
            if name != "rnn":
                cfg["LayerName"][name]["Precision"] = {"result": precision["input"]}
    try:
        hm = hls4ml.converters.convert_from_keras_model(
            pm, hls_config=cfg, backend="Vitis", io_type="io_parallel", output_dir=str(OUT / tag)
        )
        hm.compile()
        y_hls = hm.predict(x).reshape(y_keras.shape)
        bad = int(np.sum(y_hls != y_keras))
        results[tag] = dict(
            mismatched_outputs=bad,
            outputs=int(y_keras.size),
            inputs_with_mismatch=int(np.sum(np.any((y_hls != y_keras).reshape(B, -1), axis=1))),
            max_abs_diff=float(np.max(np.abs(y_hls - y_keras))),
        )
    except Exception as e:
        results[tag] = dict(error=f"{type(e).__name__}: {str(e)[:300]}")
    print(tag, results[tag], flush=True)


state = "quantized_bits(8,2)"
wide = {
    "accum": "fixed<32,12>",
    "weight": "fixed<16,6>",
    "recurrent_weight": "fixed<16,6>",
    "bias": "fixed<16,6>",
    "recurrent_bias": "fixed<16,6>",
    "table": "fixed<18,8>",
    "result": "fixed<8,3,RND_CONV,SAT>",
}
which = [a for a in sys.argv[1:] if a in ("rnn", "lstm_same", "lstm_relu", "lstm_q", "gru_relu", "gru_q")]
if "lstm_same" in which:  # hls4ml's LSTM compiles only with accum_t == result_t (nnet::lstm passes accum_t* as res_T*)
    for tag, p in (("lstm_q_default", "fixed<16,6>"), ("lstm_q_wide", "fixed<32,12,RND_CONV,SAT>")):
        run(
            tag,
            QLSTM(
                U,
                activation="quantized_tanh(8)",
                recurrent_activation="hard_sigmoid",
                kernel_quantizer=WQ,
                recurrent_quantizer=WQ,
                bias_quantizer=WQ,
                state_quantizer=state,
            ),
            keras.layers.LSTM,
            dict(activation="tanh", recurrent_activation="sigmoid"),
            {**wide, "accum": p, "result": p, "input": p},
        )
    run(
        "lstm_relu_state",
        QLSTM(
            U,
            activation="relu",
            recurrent_activation="relu",
            kernel_quantizer=WQ,
            recurrent_quantizer=WQ,
            bias_quantizer=WQ,
            state_quantizer=state,
        ),
        keras.layers.LSTM,
        dict(activation="relu", recurrent_activation="relu"),
        {
            **wide,
            "accum": "fixed<32,12,RND_CONV,SAT>",
            "result": "fixed<32,12,RND_CONV,SAT>",
            "input": "fixed<32,12,RND_CONV,SAT>",
        },
    )
if "lstm_relu" in which:
    run(
        "lstm_relu",
        QLSTM(
            U,
            activation="relu",
            recurrent_activation="relu",
            kernel_quantizer=WQ,
            recurrent_quantizer=WQ,
            bias_quantizer=WQ,
            state_quantizer=state,
        ),
        keras.layers.LSTM,
        dict(activation="relu", recurrent_activation="relu"),
        wide,
    )
if "lstm_q" in which:
    run(
        "lstm_q",
        QLSTM(
            U,
            activation="quantized_tanh(8)",
            recurrent_activation="hard_sigmoid",
            kernel_quantizer=WQ,
            recurrent_quantizer=WQ,
            bias_quantizer=WQ,
            state_quantizer=state,
        ),
        keras.layers.LSTM,
        dict(activation="tanh", recurrent_activation="sigmoid"),
        wide,
    )
if "gru_relu" in which:
    run(
        "gru_relu",
        QGRU(
            U,
            activation="relu",
            recurrent_activation="relu",
            kernel_quantizer=WQ,
            recurrent_quantizer=WQ,
            bias_quantizer=WQ,
            state_quantizer=state,
            reset_after=True,
        ),
        keras.layers.GRU,
        dict(activation="relu", recurrent_activation="relu", reset_after=True),
        wide,
    )
if "gru_q" in which:
    run(
        "gru_q",
        QGRU(
            U,
            activation="quantized_tanh(8)",
            recurrent_activation="hard_sigmoid",
            kernel_quantizer=WQ,
            recurrent_quantizer=WQ,
            bias_quantizer=WQ,
            state_quantizer=state,
            reset_after=True,
        ),
        keras.layers.GRU,
        dict(activation="tanh", recurrent_activation="sigmoid", reset_after=True),
        wide,
    )
if "rnn" in which:
    run(
        "simple_rnn",
        QSimpleRNN(
            U, activation="relu", kernel_quantizer=WQ, recurrent_quantizer=WQ, bias_quantizer=WQ, state_quantizer=state
        ),
        keras.layers.SimpleRNN,
        dict(activation="relu"),
        wide,
    )
(OUT / f"recurrent_native_{'_'.join(which)}.json").write_text(json.dumps(results, indent=1))
