# Sourced by the PyTorch oracles' runners (run_torch_oracle*.sh): sets PYTHON to the interpreter
# ($PYTHON, else $ICL_PYTHON, else /usr/bin/python3: the OS packages, not a virtualenv's), or exits
# 77 (ctest's skip) with the reason when it cannot import torch.
if [ -z "${PYTHON:-}" ]; then
  if [ -n "${ICL_PYTHON:-}" ]; then PYTHON=$ICL_PYTHON
  elif [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
  echo "torch not installed ($PYTHON cannot import torch; the OS package is python3-torch)"
  exit 77
fi
