"""Folded batch-norm layers train under model.fit (batch size unknown while tracing): the moving
statistics after one fit step equal those of the same batch called eagerly."""

import keras
import numpy as np
import pytest

import hgq_compat as hq
from tests.conftest import to_np

KQ, BQ = "quantized_bits(6,0,alpha=1)", "quantized_bits(6,2,alpha=1)"


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: hq.QConv2DBatchnorm(4, 3, kernel_quantizer=KQ, bias_quantizer=BQ, name="f"), (6, 6, 2)),
        (lambda: hq.QDepthwiseConv2DBatchnorm(3, depthwise_quantizer=KQ, bias_quantizer=BQ, name="f"), (6, 6, 2)),
        (lambda: hq.QDenseBatchnorm(5, kernel_quantizer=KQ, bias_quantizer=BQ, name="f"), (7,)),
    ],
    ids=["conv2d", "depthwise", "dense"],
)
def test_fit_updates_moving_statistics_as_an_eager_call(make, shape):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(1).uniform(-1, 2, (40, *shape)).astype("float32")  # batches of 32 and 8
    fitted = keras.Sequential([keras.Input(shape), make(), keras.layers.Flatten()])
    eager = keras.Sequential([keras.Input(shape), make(), keras.layers.Flatten()])
    eager.set_weights(fitted.get_weights())
    fitted.compile(keras.optimizers.SGD(0.0), "mse")  # no weight update: only the moving statistics move
    y = np.zeros((40, fitted.output_shape[-1]), "float32")
    fitted.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)  # the second step retraces: batch None
    eager.layers[0](x[:32], training=True)
    eager.layers[0](x[32:], training=True)
    a, b = fitted.layers[0], eager.layers[0]
    assert not np.allclose(to_np(a.moving_variance), 1.0)  # it moved
    np.testing.assert_allclose(to_np(a.moving_mean), to_np(b.moving_mean), rtol=1e-6)
    np.testing.assert_allclose(to_np(a.moving_variance), to_np(b.moving_variance), rtol=1e-6)
