"""Co-activation partners of the features (columns) of DIR/x.npy, with numpy: per feature its top-k partners by
Pearson r over the rows (r > 0, not itself) and by Jaccard of firing sets (value > 0; J > 0, not itself), ties to the
lower index, with the number of rows where both fire."""
import json
import sys

import numpy as np

folder = sys.argv[1]
x = np.load(f"{folder}/x.npy")
k = json.load(open(f"{folder}/params.json"))["k"]
n, width = x.shape
centred = x - x.mean(axis=0)
std = np.sqrt((centred ** 2).sum(axis=0))
with np.errstate(invalid="ignore", divide="ignore"):
    r = (centred.T @ centred) / np.outer(std, std)
fires = (x > 0).astype(np.float64)
both = fires.T @ fires
count = fires.sum(axis=0)
with np.errstate(invalid="ignore", divide="ignore"):
    jaccard = both / (count[:, None] + count[None, :] - both)


def top(row, i, dead):
    if dead:
        return []
    candidates = [(j, row[j]) for j in range(width) if j != i and np.isfinite(row[j]) and row[j] > 0]
    candidates.sort(key=lambda c: (-c[1], c[0]))
    return [[int(j), float(v), int(both[i, j])] for j, v in candidates[:k]]


# Sweep's dead-feature rule: centred sum of squares not above 1e-12 of the raw one.
dead = ~(std ** 2 > 1e-12 * (x ** 2).sum(axis=0))
json.dump({
    "correlation": [top(r[i], i, dead[i]) for i in range(width)],
    "jaccard": [top(jaccard[i], i, False) for i in range(width)],
}, sys.stdout)
