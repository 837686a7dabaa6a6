"""Logit effects with numpy: effect = (W_dec * g) @ U.T - its mean over the vocabulary, per feature the k largest
(promoted) and k smallest (suppressed), ties to the lower token id. DIR/x.npy is W_dec [features, d], DIR/y.npy is
U [vocab, d]; params: k and gain (list, or null)."""
import json
import sys

import numpy as np

folder = sys.argv[1]
w_dec, unembed = np.load(f"{folder}/x.npy"), np.load(f"{folder}/y.npy")
params = json.load(open(f"{folder}/params.json"))
k, gain = params["k"], params["gain"]
directions = w_dec * np.asarray(gain)[None, :] if gain is not None else w_dec
effects = directions @ unembed.T
effects = effects - effects.mean(axis=1, keepdims=True)
out = []
for row in effects:
    order_up = np.lexsort((np.arange(len(row)), -row))[:k]
    order_down = np.lexsort((np.arange(len(row)), row))[:k]
    out.append({"promoted": [[int(t), float(row[t])] for t in order_up],
                "suppressed": [[int(t), float(row[t])] for t in order_down]})
json.dump(out, sys.stdout)
