"""Independent best matches of Pearson feature correlation (numpy), for codes of any sign.

Usage: /usr/bin/python3 correlation_matches.py DIR   -- reads DIR/x.npy, DIR/y.npy (rows = tokens, columns =
features, zeros included) and DIR/params.json ({"k": top-k}), prints one JSON object: every A feature's best B
feature and its r, every B feature's best A feature and its r, and the k best B features of every A feature.
The full correlation matrix is computed with np.corrcoef (no statistic of Sweep's); a dead feature (zero variance)
never matches and has no match (-1); ties go to the lower index (np.argmax's and a stable sort's first).
"""
import json
import sys

import numpy as np


def main():
    folder = sys.argv[1]
    x = np.load(f"{folder}/x.npy").astype(np.float64)
    y = np.load(f"{folder}/y.npy").astype(np.float64)
    k = json.load(open(f"{folder}/params.json"))["k"]
    fa = x.shape[1]
    dead_a, dead_b = x.var(axis=0) == 0, y.var(axis=0) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(np.concatenate([x, y], axis=1), rowvar=False)[:fa, fa:]
    r[dead_a, :] = -np.inf
    r[:, dead_b] = -np.inf
    a_to_b = [-1 if dead_a[i] else int(np.argmax(r[i])) for i in range(r.shape[0])]
    b_to_a = [-1 if dead_b[j] else int(np.argmax(r[:, j])) for j in range(r.shape[1])]
    live_b = np.flatnonzero(~dead_b)
    top = []
    for i in range(r.shape[0]):
        if dead_a[i]:
            top.append([])
            continue
        order = live_b[np.argsort(-r[i, live_b], kind="stable")]
        top.append([int(j) for j in order[:k]])
    json.dump({
        "a_to_b": a_to_b, "b_to_a": b_to_a,
        "a_value": [0.0 if j < 0 else float(r[i, j]) for i, j in enumerate(a_to_b)],
        "b_value": [0.0 if i < 0 else float(r[i, j]) for j, i in enumerate(b_to_a)],
        "top": top,
        "negative_a": int((x < 0).sum()), "negative_b": int((y < 0).sum()),
    }, sys.stdout)


if __name__ == "__main__":
    main()
