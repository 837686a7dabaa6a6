"""Independent reference values for Sweep's similarity measures (numpy / scipy / scikit-learn).

Usage: /usr/bin/python3 similarity.py DIR   -- reads DIR/x.npy, DIR/y.npy (rows = items, columns = units)
and DIR/params.json, prints one JSON object. Each measure is computed directly on the rows, the way
the original papers' code does it (cca_core's compute_ccas, Kornblith's feature_space_linear_cka,
scipy's pdist / orthogonal_procrustes, sklearn's NearestNeighbors), not from Sweep's statistics.
"""
import json
import sys

import numpy as np
import scipy.linalg
import scipy.stats
from scipy.spatial.distance import pdist
from sklearn.neighbors import NearestNeighbors


def centred(a):
    return a - a.mean(axis=0, keepdims=True)


def linear_cka(x, y, debiased=False):
    # Kornblith et al.'s feature_space_linear_cka, verbatim in substance.
    x, y = centred(x), centred(y)
    xty = np.linalg.norm(x.T @ y) ** 2
    nx, ny = np.linalg.norm(x.T @ x), np.linalg.norm(y.T @ y)
    if debiased:
        n = x.shape[0]
        ssr_x, ssr_y = np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", y, y)
        sq_x, sq_y = ssr_x.sum(), ssr_y.sum()

        def helper(v, a, b, sa, sb):
            return v - n / (n - 2.0) * a.dot(b) + sa * sb / ((n - 1) * (n - 2))

        xty = helper(xty, ssr_x, ssr_y, sq_x, sq_y)
        nx = np.sqrt(helper(nx ** 2, ssr_x, ssr_x, sq_x, sq_x))
        ny = np.sqrt(helper(ny ** 2, ssr_y, ssr_y, sq_y, sq_y))
    return xty / (nx * ny)


def positivedef_matrix_sqrt(array):
    w, v = np.linalg.eigh(array)
    return (v * np.sqrt(w)) @ v.T


def cca_core_coefs(acts1, acts2):
    """cca_core.get_cca_similarity(epsilon=0)'s coefficients; acts are [neurons, datapoints] as in cca_core."""
    numx = acts1.shape[0]
    covariance = np.cov(np.concatenate((acts1, acts2), axis=0))
    sxx, sxy = covariance[:numx, :numx], covariance[:numx, numx:]
    syx, syy = covariance[numx:, :numx], covariance[numx:, numx:]
    xmax, ymax = np.max(np.abs(sxx)), np.max(np.abs(syy))
    sxx, syy = sxx / xmax, syy / ymax
    sxy, syx = sxy / np.sqrt(xmax * ymax), syx / np.sqrt(xmax * ymax)
    inv_xx = positivedef_matrix_sqrt(np.linalg.pinv(sxx))
    inv_yy = positivedef_matrix_sqrt(np.linalg.pinv(syy))
    arr = inv_xx @ sxy @ inv_yy
    s = np.linalg.svd(arr, compute_uv=False)
    return np.abs(s[: min(acts1.shape[0], acts2.shape[0])])


def svcca(x, y, keep):
    """Raghu et al.'s recipe: SVD of the centred data, keep `keep` of the variance, then cca_core."""
    reduced = []
    for a in (x, y):
        u, s, _ = np.linalg.svd(centred(a), full_matrices=False)
        frac = np.cumsum(s ** 2) / np.sum(s ** 2)
        k = int(np.searchsorted(frac, keep * (1 - 1e-12)) + 1)
        reduced.append((u[:, :k] * s[:k]).T)
    return float(np.mean(cca_core_coefs(*reduced)))


def pwcca(x, y):
    """Morcos et al.'s PWCCA via principal angles (QR / orthonormal bases), weights from the smaller side."""
    bx, by = scipy.linalg.orth(centred(x)), scipy.linalg.orth(centred(y))
    if by.shape[1] < bx.shape[1]:
        x, y, bx, by = y, x, by, bx
    u, s, _ = np.linalg.svd(bx.T @ by, full_matrices=False)
    h = bx @ u  # canonical variates of the smaller side, orthonormal columns
    weights = np.abs(h.T @ centred(x)).sum(axis=1)
    weights = weights / weights.sum()
    return float(np.sum(weights * np.clip(s, 0, 1)))


def procrustes(x, y):
    xs, ys = centred(x), centred(y)
    xs, ys = xs / np.linalg.norm(xs), ys / np.linalg.norm(ys)
    d = max(xs.shape[1], ys.shape[1])
    xs = np.pad(xs, ((0, 0), (0, d - xs.shape[1])))
    ys = np.pad(ys, ((0, 0), (0, d - ys.shape[1])))
    r, _ = scipy.linalg.orthogonal_procrustes(xs, ys)
    return float(np.linalg.norm(xs @ r - ys))


def rsa(x, y, inner, outer):
    dx, dy = pdist(x, metric=inner), pdist(y, metric=inner)
    if outer == "spearman":
        return float(scipy.stats.spearmanr(dx, dy).correlation)
    if outer == "pearson":
        return float(scipy.stats.pearsonr(dx, dy)[0])
    return float(scipy.stats.kendalltau(dx, dy).correlation)


def knn(x, y, k, metric):
    def sets(a):
        nn = NearestNeighbors(n_neighbors=k + 1, metric=metric, algorithm="brute").fit(a)
        _, idx = nn.kneighbors(a)
        return [set([j for j in row if j != i][:k]) for i, row in enumerate(idx)]

    sx, sy = sets(x), sets(y)
    overlap = np.mean([len(a & b) / k for a, b in zip(sx, sy)])
    jaccard = np.mean([len(a & b) / len(a | b) for a, b in zip(sx, sy)])
    return float(overlap), float(jaccard)


def best_matches(x, y):
    """Pearson correlation of every column of x with every column of y; dead columns never match."""
    fa = x.shape[1]
    r = np.corrcoef(np.concatenate([x, y], axis=1), rowvar=False)[:fa, fa:]
    dead_a, dead_b = x.std(axis=0) == 0, y.std(axis=0) == 0
    r = np.where(np.isnan(r), -np.inf, r)
    r[dead_a, :] = -np.inf
    r[:, dead_b] = -np.inf
    a_to_b = [int(np.argmax(row)) if not dead_a[i] else -1 for i, row in enumerate(r)]
    b_to_a = [int(np.argmax(col)) if not dead_b[j] else -1 for j, col in enumerate(r.T)]
    a_val = [float(r[i, j]) if j >= 0 else 0.0 for i, j in enumerate(a_to_b)]
    return a_to_b, b_to_a, a_val


def main():
    folder = sys.argv[1]
    x = np.load(f"{folder}/x.npy").astype(np.float64)
    y = np.load(f"{folder}/y.npy").astype(np.float64)
    params = json.load(open(f"{folder}/params.json"))
    out = {
        "cka": float(linear_cka(x, y)),
        "cka_unbiased": float(linear_cka(x, y, debiased=True)),
        "svcca": svcca(x, y, params.get("keep", 0.99)),
        "pwcca": pwcca(x, y),
        "procrustes": procrustes(x, y),
        "rsa": {f"{i}/{o}": rsa(x, y, i, o) for i in ("correlation", "cosine", "euclidean") for o in ("spearman", "pearson", "kendall")},
    }
    k = params.get("k", 10)
    for metric in ("cosine", "euclidean"):
        out[f"knn/{metric}"] = knn(x, y, k, metric)
    if params.get("matches", False):
        out["a_to_b"], out["b_to_a"], out["a_val"] = best_matches(x, y)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
