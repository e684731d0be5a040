#!/usr/bin/python3
"""Oracle for the xgboost baseline (tests/test_xgboost.cpp): Garg et al.'s XGBoostModel loop
(src/models.py in github.com/dtsip/in-context-learning) through the Python package's
XGBRegressor, on prompts written by the test.

    /usr/bin/python3 tests/reference/xgboost_oracle.py DIR B K D '{"max_depth": 3}'

DIR holds xs.bin (float32 [B, K, D]) and ys.bin (float32 [B, K]); the fifth argument is a JSON
object of XGBRegressor keyword arguments (empty: its defaults, as the reference calls it). Writes
DIR/pred.bin (float32 [B, K]): 0 at k = 0, else the regressor fitted on examples 0..k-1 of the
prompt, predicting example k.
"""
import json
import os
import sys

import numpy as np
import xgboost


def main():
    folder, b, k, d, kwargs = sys.argv[1], *map(int, sys.argv[2:5]), json.loads(sys.argv[5])
    xs = np.fromfile(os.path.join(folder, "xs.bin"), dtype=np.float32).reshape(b, k, d)
    ys = np.fromfile(os.path.join(folder, "ys.bin"), dtype=np.float32).reshape(b, k)
    pred = np.zeros((b, k), dtype=np.float32)
    for i in range(1, k):
        for j in range(b):
            model = xgboost.XGBRegressor(**kwargs).fit(xs[j, :i], ys[j, :i])
            pred[j, i] = model.predict(xs[j, i : i + 1])[0]
    pred.tofile(os.path.join(folder, "pred.bin"))


if __name__ == "__main__":
    main()
