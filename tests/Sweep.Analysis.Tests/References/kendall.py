"""Kendall's tau-b of the single columns of DIR/x.npy and DIR/y.npy (scipy.stats.kendalltau)."""
import json
import sys

import numpy as np
import scipy.stats

folder = sys.argv[1]
x, y = np.load(f"{folder}/x.npy")[:, 0], np.load(f"{folder}/y.npy")[:, 0]
json.dump({"tau": float(scipy.stats.kendalltau(x, y).correlation)}, sys.stdout)
