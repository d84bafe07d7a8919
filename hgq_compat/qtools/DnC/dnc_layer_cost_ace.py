"""Per-layer hardware cost for QKeras' divide-and-conquer search (``qkeras.qtools.DnC.dnc_layer_cost_ace``):
MAC gate counts from a fitted polynomial of input, weight and accumulator bits (ACE metric)."""

from __future__ import annotations

from typing import Any

import numpy as np

MemoryGatesPerBit = {"Register": 10.0, "SRAM": 1.0, "ROM": 0.1}
"""Gates per stored bit of each memory kind."""

MAC_POLY3D_PARAMS = np.array([7.70469119, 13.76199652, -92.15756665])
"""QKeras' fitted (a, b, c) of `mac_gates_polynomial_3d`."""

_NAN = np.nan
# MAC gate counts from QKeras' ASIC data: per accumulator width, rows = weight bits (1, 2, 4, 8, 12, 16),
# columns = input bits (1, 2, 4, 8, 10, 12, 16, 24, 32); NaN where there is no data point.
MAC24 = np.array(
    [
        [283, 280, 286, 313, 325, 336, 356, _NAN, _NAN],
        [274, 290, 325, 372, 401, 428, 485, _NAN, _NAN],
        [285, 325, 388, 510, 568, 614, 713, _NAN, _NAN],
        [308, 372, 509, 750, 865, 1002, 1167, _NAN, _NAN],
        [336, 427, 617, 1003, 1151, 1309, _NAN, _NAN, _NAN],
        [356, 480, 722, 1165, _NAN, _NAN, _NAN, _NAN, _NAN],
    ]
)
MAC32 = np.array(
    [
        [391, 365, 377, 410, 453, 433, 458, 507, _NAN],
        [364, 382, 418, 466, 497, 521, 578, 685, _NAN],
        [378, 418, 485, 594, 659, 721, 832, 1035, _NAN],
        [408, 466, 596, 843, 1029, 1151, 1321, 1642, _NAN],
        [432, 521, 724, 1153, 1363, 1512, 1797, _NAN, _NAN],
        [457, 578, 830, 1330, 1551, 1782, 2273, _NAN, _NAN],
    ]
)
MAC40 = np.array(
    [
        [458, 457, 470, 500, 522, 527, 551, 605, 664],
        [457, 475, 513, 561, 597, 616, 670, 782, 888],
        [470, 513, 579, 699, 766, 816, 928, 1150, 1358],
        [499, 561, 699, 996, 1161, 1273, 1499, 1850, 2189],
        [527, 612, 818, 1275, 1545, 1691, 2054, 2516, _NAN],
        [549, 670, 927, 1496, 1798, 2035, 2490, 3294, _NAN],
    ]
)
MAC48 = np.array(
    [
        [595, 550, 566, 594, 659, 624, 642, 694, 745],
        [551, 566, 607, 654, 727, 707, 763, 881, 984],
        [566, 607, 679, 794, 871, 921, 1017, 1270, 1489],
        [594, 655, 793, 1097, 1285, 1401, 1668, 2101, 2378],
        [624, 711, 921, 1397, 1816, 1950, 2277, 2763, 3301],
        [642, 762, 1015, 1669, 1974, 2264, 2718, 3631, 4415],
    ]
)


def mac_gates_polynomial_3d(xyz: tuple, a: float, b: float, c: float) -> Any:
    """MAC area a * x * y + b * z + c (multiplier ~ input x weight bits, accumulator ~ its bits z)."""
    x, y, z = xyz
    return a * x * y + b * z + c


def _data_points() -> tuple:
    """(input bits, weight bits, accumulator bits, gates) of the valid data points."""
    xbit = np.tile([1, 2, 4, 8, 10, 12, 16, 24, 32], 24)
    wbit = np.tile(np.repeat([1, 2, 4, 8, 12, 16], 9), 4)
    abit = np.repeat([24, 32, 40, 48], 54)
    gates = np.concatenate([t.reshape(-1) for t in (MAC24, MAC32, MAC40, MAC48)])
    valid = ~np.isnan(gates)
    return xbit[valid], wbit[valid], abit[valid], gates[valid]


def gen_mac_gate_model(do_plot: bool = False) -> tuple:
    """Fits `mac_gates_polynomial_3d` to the data: (params, relative mean absolute error, params' standard
    deviations). ``do_plot`` draws the data and the fit (needs matplotlib)."""
    from scipy.optimize import curve_fit

    xbit, wbit, abit, gates = _data_points()
    params, covariance = curve_fit(mac_gates_polynomial_3d, (xbit, wbit, abit), gates)
    std = np.sqrt(np.diag(covariance))
    predicted = mac_gates_polynomial_3d((xbit, wbit, abit), *params)
    mae_predict = np.mean(np.abs(predicted - gates)) / np.mean(gates)
    if do_plot:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(16, 16))
        xmesh, wmesh = np.meshgrid(np.linspace(xbit.min(), xbit.max(), 50), np.linspace(wbit.min(), wbit.max(), 50))
        for index, acc_bits in enumerate((24, 32, 40, 48), start=1):
            ax = fig.add_subplot(2, 2, index, projection="3d")
            sel = abit == acc_bits
            ax.scatter(xbit[sel], wbit[sel], gates[sel], label="Data")
            ax.plot_surface(
                xmesh,
                wmesh,
                mac_gates_polynomial_3d((xmesh, wmesh, np.full((50, 50), acc_bits)), *params),
                cmap="viridis",
                alpha=0.8,
            )
            ax.set_xlabel("X")
            ax.set_ylabel("W")
            ax.set_zlabel("MAC")
            ax.set_title(f"accumulator bitwidth: {acc_bits}")
        plt.show()
    return params, mae_predict, std


def get_ace_mac_gates(xbit: float, wbit: float, abit: float, regen_params: bool = False) -> float:
    """Gates of one multiplier plus one accumulator (``regen_params``: refit the model first)."""
    params = gen_mac_gate_model(do_plot=True)[0] if regen_params else MAC_POLY3D_PARAMS
    return mac_gates_polynomial_3d((xbit, wbit, abit), *params)
