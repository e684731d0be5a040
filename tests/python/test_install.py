"""cmake --install puts the package where this Python finds it: installed into a fresh prefix, it
imports from there (and not from build/python) and samples."""
import os
import subprocess
import sys

import pytest

BUILD = os.environ.get("ICL_BUILD_DIR")


@pytest.mark.skipif(not BUILD, reason="ICL_BUILD_DIR not set (ctest sets it)")
def test_cmake_install_into_a_prefix(tmp_path):
    p = subprocess.run(["cmake", "--install", BUILD, "--prefix", str(tmp_path)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    site = [os.path.join(r, d) for r, ds, _ in os.walk(tmp_path) for d in ds if d == "iclbench"]
    assert len(site) == 1, site
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.path.dirname(site[0])
    code = ("import iclbench, _iclbench; print(iclbench.__file__); print(_iclbench.__file__); "
            "print(iclbench.sample('linear_regression', 2, 3, d=2).xs.shape)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert all(line.startswith(str(tmp_path)) for line in lines[:2]), lines
    assert lines[2] == "(2, 3, 2)"
