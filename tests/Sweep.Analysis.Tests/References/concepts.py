"""Independent reference values for Sweep's concept measures (numpy / scipy / scikit-learn).

Usage: /usr/bin/python3 concepts.py DIR  -- reads DIR/x.npy (token rows x units: activations or dense SAE codes),
DIR/y.npy (token rows x 4: seq, pos, token, label index of the sequence or -1) and DIR/params.json, prints one JSON
object. Every prompt is reduced here directly from the token rows (last token, mean without BOS, every token, or the
last token of the first marker occurrence), then each measure is computed from the reduced vectors as plain numpy /
scipy / sklearn code, never from sums.
"""
import json
import sys

import numpy as np
import scipy.special
import scipy.stats
from sklearn.decomposition import PCA


def reduce_prompts(x, index, reduction, bos, marker):
    items, labels = [], []
    seqs = index[:, 0].astype(int)
    for s in np.unique(seqs):
        rows = np.nonzero(seqs == s)[0]
        tokens = index[rows, 2].astype(int)
        label = int(index[rows[0], 3])
        start = 1 if bos is not None and tokens[0] == bos else 0
        body = rows[start:]
        if len(body) == 0:
            continue
        if reduction == "last":
            chosen = [x[rows[-1]]]
        elif reduction == "mean":
            chosen = [x[body].mean(axis=0)]
        elif reduction == "every":
            chosen = [x[r] for r in body]
        else:
            body_tokens = list(tokens[start:])
            m = len(marker)
            hits = [i for i in range(len(body_tokens) - m + 1) if body_tokens[i:i + m] == marker]
            chosen = [x[body[hits[0] + m - 1]]] if hits else []
        for v in chosen:
            if label >= 0:
                items.append(v)
                labels.append(label)
    return np.array(items), np.array(labels)


def bh(p):
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    pv = p[ok]
    m = len(pv)
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


def contrast(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        t, p = scipy.stats.ttest_ind(a, b, axis=0, equal_var=False)
        na, nb = len(a), len(b)
        va, vb = a.var(axis=0, ddof=1), b.var(axis=0, ddof=1)
        sa, sb = va / na, vb / nb
        df = (sa + sb) ** 2 / (sa ** 2 / (na - 1) + sb ** 2 / (nb - 1))
        pooled = np.sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2))
        d = (a.mean(axis=0) - b.mean(axis=0)) / pooled
    return {
        "diff": (a.mean(axis=0) - b.mean(axis=0)).tolist(),
        "t": nan_to_none(t), "df": nan_to_none(df), "p": nan_to_none(p), "q": nan_to_none(bh(p)), "d": nan_to_none(d),
    }


def nan_to_none(values):
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]


def signed_pca(items, k):
    pca = PCA(n_components=k, svd_solver="full").fit(items)
    comps = pca.components_.copy()
    coords = pca.transform(items)
    for c in range(comps.shape[0]):
        if comps[c, np.argmax(np.abs(comps[c]))] < 0:
            comps[c] = -comps[c]
            coords[:, c] = -coords[:, c]
    return {
        "components": comps.tolist(), "coordinates": coords.tolist(),
        "explained_variance": pca.explained_variance_.tolist(), "ratio": pca.explained_variance_ratio_.tolist(),
    }


def main():
    folder = sys.argv[1]
    x = np.load(f"{folder}/x.npy")
    index = np.load(f"{folder}/y.npy")
    params = json.load(open(f"{folder}/params.json"))
    names = params["labels"]
    items, labels = reduce_prompts(x, index, params["reduction"], params.get("bos"), params.get("marker") or [])
    groups = [items[labels == l] for l in range(len(names))]
    out = {
        "items": int(len(items)),
        "counts": [int(len(g)) for g in groups],
        "means": [g.mean(axis=0).tolist() for g in groups],
        "variances": [nan_to_none(g.var(axis=0, ddof=1)) if len(g) > 1 else None for g in groups],
    }
    baseline = names.index(params["baseline"])
    out["contrast_baseline"] = {names[l]: contrast(groups[l], groups[baseline]) for l in range(len(names)) if l != baseline}
    out["contrast_rest"] = {
        names[l]: contrast(groups[l], np.concatenate([groups[o] for o in range(len(names)) if o != l]))
        for l in range(len(names))
    }

    means = np.array([g.mean(axis=0) for g in groups])
    best = np.argmax(means, axis=0)
    width = means.shape[1]
    others = np.array([(means[:, j].sum() - means[best[j], j]) / (len(names) - 1) for j in range(width)])
    top = means[best, np.arange(width)]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (top - others) / (top + others)
        within = sum((len(g) - 1) * g.var(axis=0, ddof=1) for g in groups if len(g) > 1) / (len(items) - len(names))
        dprime = (top - others) / np.sqrt(within)
    out["selectivity"] = {"preferred": best.tolist(), "ratio": nan_to_none(ratio), "dprime": nan_to_none(dprime)}

    k = params["components"]
    out["pca_means"] = signed_pca(means, k)
    out["pca_items"] = signed_pca(items, k)
    print(json.dumps(out))


main()
