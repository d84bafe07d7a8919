"""FixedPointQuantizer: granularity, trainable bitwidths, range tracking, serialization."""

import keras
import numpy as np
import pytest

from hgq_compat.core import FixedPointQuantizer, QuantSpec
from hgq_compat.training import trace_minmax
from tests.conftest import to_np


@pytest.mark.parametrize(
    "gran, shape",
    [("per-tensor", (1, 1)), ("per-channel", (1, 3)), ("per-element", (4, 3)), ((0,), (1, 3)), ((1,), (4, 1))],
)
def test_variable_shapes_for_activations(gran, shape):
    q = FixedPointQuantizer(QuantSpec(granularity=gran, trainable_f=True))
    q.build((None, 4, 3))
    assert tuple(q.f.shape) == shape and tuple(q.i.shape) == shape
    assert q.f.trainable and not q.i.trainable


def test_weight_quantizer_has_no_batch_axis():
    q = FixedPointQuantizer(QuantSpec(granularity="per-element"), is_weight=True)
    q.build((5, 2))
    assert tuple(q.f.shape) == (5, 2)


def test_granularity_that_does_not_fit_raises_at_build():
    q = FixedPointQuantizer(QuantSpec(granularity=(2,)))
    with pytest.raises(ValueError, match=r"granularity .*\(2,\) does not fit a tensor of rank 1"):
        q.build((None, 8))


def test_non_fixed_spec_refused():
    with pytest.raises(ValueError, match="kind 'fixed'"):
        FixedPointQuantizer(QuantSpec(kind="po2"))


def test_per_element_bitwidths_apply_elementwise():
    q = FixedPointQuantizer(QuantSpec(keep_negative=1, integer=1, fractional=0, granularity="per-element"))
    q.build((None, 3))
    q.assign_bitwidths(fractional=[0, 1, 3])
    out = to_np(q(np.full((2, 3), 0.7, np.float32)))
    np.testing.assert_array_equal(out, [[1.0, 0.5, 0.75]] * 2)
    np.testing.assert_array_equal(to_np(q.bits()), [2, 3, 5])
    k, i, f = q.kif()
    np.testing.assert_array_equal(f, [0, 1, 3])


def test_range_tracking_running_max_and_trace_minmax():
    spec = QuantSpec(
        keep_negative=1, integer=0, fractional=2, overflow="WRAP", range_tracking=True, granularity="per-element"
    )
    q = FixedPointQuantizer(spec)
    q.build((None, 2))
    # training updates the running range: max |x| = 2.9 and 0.4 -> i = ceil(log2(amax + 2^-f))
    q(np.array([[2.9, 0.4], [-1.0, -0.1]], np.float32), training=True)
    np.testing.assert_array_equal(to_np(q.integer_bits()), [2, 0])
    q(np.array([[0.1, -3.6]], np.float32), training=True)  # the running max only grows
    np.testing.assert_array_equal(to_np(q.integer_bits()), [2, 2])
    # inference does not change the range; values beyond it wrap
    out = to_np(q(np.array([[5.0, 0.5]], np.float32), training=False))
    np.testing.assert_array_equal(out, [[-3.0, 0.5]])
    np.testing.assert_array_equal(to_np(q.integer_bits()), [2, 2])

    model = keras.Sequential([keras.Input((2,)), q])
    trace_minmax(model, np.array([[5.0, 0.5], [-0.2, 0.1]], np.float32))
    np.testing.assert_array_equal(to_np(q.integer_bits()), [3, 0])
    np.testing.assert_array_equal(to_np(model(np.array([[5.0, 0.5]], np.float32))), [[5.0, 0.5]])


def test_serialization_round_trip():
    q = FixedPointQuantizer(QuantSpec(granularity=(0,), round_mode="TRN", trainable_f=True), name="qq")
    cfg = keras.saving.serialize_keras_object(q)
    q2 = keras.saving.deserialize_keras_object(cfg)
    assert q2.spec == q.spec and q2.name == "qq"
