"""Train a small quantized CNN on the 8x8 digits: a typical QKeras 0.9.0 training script.

train_qkeras.py is the original (QKeras on TensorFlow 2 / Keras 2; shown, not run here, since
QKeras does not run on Keras 3). train_hgq_compat.py is the same file with only its import
lines changed, and runs on Keras 3. Both take --quick (2 epochs) and --out DIR.
"""

import argparse
import json
import os

import numpy as np
from sklearn.datasets import load_digits
import keras
from keras.layers import Activation, Flatten, Input, MaxPooling2D
from hgq_compat import QActivation, QConv2D, QDense, quantized_bits, quantized_relu
from hgq_compat.utils import load_qmodel

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true", help="2 epochs")
parser.add_argument("--out", default="examples_out/01_migrate_qkeras_script")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
keras.utils.set_random_seed(0)

# data: sklearn's 8x8 digits, pixels scaled to [0, 1), 25% held out
digits = load_digits()
x = (digits.images / 16.0 * 0.9375).astype("float32")[..., None]
y = digits.target
order = np.random.default_rng(0).permutation(len(x))
x, y = x[order], y[order]
n_test = len(x) // 4
x_train, y_train, x_test, y_test = x[n_test:], y[n_test:], x[:n_test], y[:n_test]

# the model
model = keras.Sequential(
    [
        Input(shape=(8, 8, 1)),
        QActivation(quantized_bits(8, 0, alpha=1), name="q_input"),
        QConv2D(
            8,
            (3, 3),
            kernel_quantizer=quantized_bits(6, 0, alpha=1),
            bias_quantizer=quantized_bits(6, 0, alpha=1),
            name="conv1",
        ),
        QActivation(quantized_relu(6, 2), name="relu1"),
        MaxPooling2D((2, 2), name="pool1"),
        Flatten(name="flatten"),
        QDense(
            32, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), name="fc1"
        ),
        QActivation("quantized_relu(6, 2)", name="relu2"),
        QDense(
            10,
            kernel_quantizer="quantized_bits(6, 0, alpha=1)",
            bias_quantizer="quantized_bits(6, 0, alpha=1)",
            name="fc2",
        ),
        Activation("softmax", name="softmax"),
    ]
)
model.summary()

model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
)
history = model.fit(x_train, y_train, validation_split=0.2, batch_size=32, epochs=2 if args.quick else 30, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)

# save, reload, check the reloaded model gives the same outputs
path = os.path.join(args.out, "model.keras")
model.save(path)
reloaded = load_qmodel(path)
same = bool(np.array_equal(model.predict(x_test, verbose=0), reloaded.predict(x_test, verbose=0)))

summary = {"test_accuracy": float(accuracy), "epochs": len(history.history["loss"]), "reload_identical": same}
with open(os.path.join(args.out, "summary.json"), "w") as fh:
    json.dump(summary, fh, indent=1)
print("RESULT", json.dumps(summary))
