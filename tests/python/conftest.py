"""Fixtures of the Python package's tests (run by ctest as python_api: PYTHONPATH=build/python,
ICL_BINARY=build/icl). Without the module (ICL_PYTHON off) the whole directory is skipped."""
import os
import subprocess

import pytest

try:
    import iclbench  # noqa: F401
    _MISSING = None
except ImportError as e:  # the build has no Python package
    _MISSING = str(e)


def pytest_collection_modifyitems(config, items):
    if _MISSING:
        skip = pytest.mark.skip(reason=f"iclbench not importable ({_MISSING}); build with "
                                       "ICL_PYTHON and set PYTHONPATH=build/python")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def icl():
    """Runs the icl binary; returns the CompletedProcess (text)."""
    binary = os.path.abspath(os.environ.get("ICL_BINARY", "build/icl"))
    if not os.path.exists(binary):
        pytest.skip(f"no icl binary at {binary} (set ICL_BINARY)")

    def run(*args, cwd=None, check=True):
        p = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, cwd=cwd)
        if check and p.returncode != 0:
            raise AssertionError(f"icl {' '.join(map(str, args))} failed ({p.returncode}):\n"
                                 f"{p.stderr}")
        return p
    return run
