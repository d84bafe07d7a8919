"""The hls4ml entry point loads the plugin during `import hls4ml`, quietly and idempotently."""

import subprocess
import sys
from importlib import metadata

import pytest

import hls4ml_plugin


def test_entry_point_is_declared():
    eps = [ep for ep in metadata.entry_points(group="hls4ml.backends") if ep.value == "hls4ml_plugin:register"]
    assert eps, "hgq-compat must be pip-installed for its entry point to exist"


def test_import_hls4ml_registers_without_warning():
    code = "import hls4ml, hls4ml_plugin; print('REGISTERED', hls4ml_plugin.is_registered())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "REGISTERED True" in out.stdout
    assert "WARNING" not in out.stdout and "plugin" not in out.stderr.lower()


def test_register_is_idempotent():
    hls4ml_plugin.register(register_backend=None, register_writer=None)
    hls4ml_plugin.register()
    assert hls4ml_plugin.is_registered()


def test_version_pin():
    assert hls4ml_plugin.check_hls4ml_version("1.3.0") == "1.3.0"
    with pytest.raises(hls4ml_plugin.PluginError, match=r"hls4ml 1.2.0 is not supported.*>= 1.3, < 1.4"):
        hls4ml_plugin.check_hls4ml_version("1.2.0")
    with pytest.raises(hls4ml_plugin.PluginError, match="hls4ml 1.4.1 is not supported"):
        hls4ml_plugin.check_hls4ml_version("1.4.1")


@pytest.mark.parametrize(
    "first", ["hls4ml_plugin.synth", "hls4ml_plugin.ir", "hls4ml_plugin.passes", "hls4ml", "hgq_compat.cli"]
)
def test_registers_whatever_is_imported_first(first):
    """In a fresh process, importing a plugin module before hls4ml must not meet the IR (or passes)
    package half-initialized when hls4ml's entry point registers the plugin (while hls4ml loads).
    Importing the plugin does not import hls4ml: the plugin registers when hls4ml is imported."""
    code = f"import {first}\nimport hls4ml_plugin\nimport hls4ml\nprint('registered', hls4ml_plugin.is_registered())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "failed to register" not in out.stderr
    assert out.stdout.strip().endswith("registered True")


def test_plugin_import_leaves_hls4ml_alone():
    """``import hls4ml_plugin`` (and its IR and passes packages) imports neither hls4ml nor keras."""
    code = (
        "import sys, hls4ml_plugin, hls4ml_plugin.ir, hls4ml_plugin.passes\n"
        "print(sorted(m for m in ('hls4ml', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "[]"


def test_submodule_imported_before_hls4ml_is_named():
    """An hls4ml-dependent IR submodule imported before hls4ml starts hls4ml's plugin registration while
    it is itself half-initialized: registration fails, saying so and what to import first, and
    `register` (called again by `convert`) then succeeds."""
    code = (
        "import hls4ml_plugin.ir.layers\nimport hls4ml_plugin\nprint('first', hls4ml_plugin.is_registered())\n"
        "hls4ml_plugin.register()\nprint('then', hls4ml_plugin.is_registered())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-4:] == ["first", "False", "then", "True"]
    assert "imported before hls4ml" in out.stderr and "import hls4ml" in out.stderr
