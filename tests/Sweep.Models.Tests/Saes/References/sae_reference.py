"""Independent float64 numpy reference of the SAE encodings Sweep implements (docs/saes.md).

Usage: sae_reference.py FOLDER INPUT.f32 LENGTHS OUTDIR
  FOLDER    an SAE folder: SAELens (cfg.json + sae_weights.safetensors), sparsify (cfg.json + sae.safetensors)
            or temporal (conf.yaml + latest_ckpt.safetensors)
  INPUT.f32 raw little-endian float32 tokens x d_in
  LENGTHS   comma-separated sequence lengths (tokens of consecutive sequences)
Writes OUTDIR/<output>.f64 (tokens x d_sae dense codes, one file per output) and OUTDIR/recon.f64 (tokens x d_in).

Definitions follow the published code: SAELens SAE/TopKSAE/JumpReLUSAE (encode, decode, run-time
normalisation), EleutherAI sparsify Sae.encode/decode, and the temporal SAE of Lubana et al.
(TemporalSAE.forward with ManualAttention; train_temporal_saes.py multiplies the activations by
sae.scaling_factor before the SAE, so the codes are those of the scaled activations and the
reconstruction is divided by the factor to compare it with the activations in their own units).
Written from those definitions, not from Sweep's code.
"""
import json
import os
import struct
import sys

import numpy as np
import yaml


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", e["dtype"]
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[b:end], dtype="<f4").astype(np.float64).reshape(e["shape"])
    return out


def relu(x):
    return np.maximum(x, 0.0)


def topk_keep(x, k):
    """Keep the k largest entries per row (after ReLU), zero elsewhere."""
    out = np.zeros_like(x)
    idx = np.argsort(-x, axis=-1, kind="stable")[:, :k]
    rows = np.arange(x.shape[0])[:, None]
    out[rows, idx] = relu(x[rows, idx])
    return out


def saelens(folder, x):
    cfg = json.load(open(os.path.join(folder, "cfg.json")))
    w = read_safetensors(os.path.join(folder, "sae_weights.safetensors"))
    d_in = cfg["d_in"]
    norm = cfg.get("normalize_activations", "none")
    if norm == "constant_norm_rescale":
        coeff = np.sqrt(d_in) / np.linalg.norm(x, axis=-1, keepdims=True)
        xin, undo = x * coeff, (lambda y: y / coeff)
    elif norm == "layer_norm":
        mu = x.mean(-1, keepdims=True)
        c = x - mu
        std = c.std(-1, ddof=1, keepdims=True)
        xin, undo = c / (std + 1e-5), (lambda y: y * std + mu)
    else:
        xin, undo = x, (lambda y: y)
    sae_in = xin - w["b_dec"] * (1.0 if cfg.get("apply_b_dec_to_input", True) else 0.0)
    pre = sae_in @ w["W_enc"] + w["b_enc"]
    arch = cfg.get("architecture", "standard")
    if arch == "topk":
        codes = topk_keep(pre, cfg["k"])
    elif arch == "jumprelu":
        codes = relu(pre) * (pre > w["threshold"])
    else:
        codes = relu(pre)
    recon = undo(codes @ w["W_dec"] + w["b_dec"])
    return {"codes": codes}, recon


def sparsify(folder, x):
    cfg = json.load(open(os.path.join(folder, "cfg.json")))
    w = read_safetensors(os.path.join(folder, "sae.safetensors"))
    pre = relu((x - w["b_dec"]) @ w["encoder.weight"].T + w["encoder.bias"])
    codes = topk_keep(pre, cfg["k"])
    return {"codes": codes}, codes @ w["W_dec"] + w["b_dec"]


def causal_attention(q, k, v, heads):
    L = q.shape[0]
    qh = q.reshape(L, heads, -1).transpose(1, 0, 2)
    kh = k.reshape(L, heads, -1).transpose(1, 0, 2)
    vh = v.reshape(L, heads, -1).transpose(1, 0, 2)
    out = np.zeros_like(vh)
    for h in range(heads):
        s = qh[h] @ kh[h].T / np.sqrt(qh.shape[-1])
        s = np.where(np.tril(np.ones((L, L), dtype=bool)), s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        out[h] = s @ vh[h]
    return out.transpose(1, 0, 2).reshape(L, -1)


def temporal(folder, x, lengths):
    conf = yaml.safe_load(open(os.path.join(folder, "conf.yaml")))
    w = read_safetensors(os.path.join(folder, "latest_ckpt.safetensors"))
    d_in = conf["llm"]["dimin"]
    s = conf["sae"]
    D, b = w["D"], w["b"].reshape(-1)
    E = D.T if s.get("tied_weights", True) else w["E"]
    lam = 1.0 / (4 * d_in)
    c = float(s.get("scaling_factor", 1.0))
    x = x * c
    novel_all, pred_all, recon_all = [], [], []
    start = 0
    for L in lengths:
        xs = x[start:start + L] - b
        start += L
        z_pred = np.zeros((L, D.shape[0]))
        for i in range(s.get("n_attn_layers", 1)):
            p = lambda n: w[f"attn_layers.{i}.{n}"]
            z = relu((xs * lam) @ E)
            ctx = np.concatenate([np.zeros((1, z.shape[1])), z[:-1]], axis=0)
            k = ctx @ p("k_ctx.weight").T + p("k_ctx.bias")
            v = ctx @ p("v_ctx.weight").T + p("v_ctx.bias")
            q = z @ p("q_target.weight").T + p("q_target.bias")
            zp = relu(causal_attention(q, k, v, s["n_heads"]) @ p("c_proj.weight").T + p("c_proj.bias"))
            dz = zp @ D
            scale = (dz * xs).sum(-1, keepdims=True) / (np.linalg.norm(dz, axis=-1, keepdims=True) + 1e-6) ** 2
            z_pred = z_pred + zp * scale
            xs = xs - scale * dz
        novel = relu((xs * lam) @ E)
        if s.get("sae_diff_type", "relu") == "topk":
            novel = topk_keep(novel, s["kval_topk"])
        novel_all.append(novel)
        pred_all.append(z_pred)
        recon_all.append((novel + z_pred) @ D + b)
    return {"novel": np.concatenate(novel_all), "pred": np.concatenate(pred_all)}, np.concatenate(recon_all) / c


def main():
    folder, input_path, lengths, outdir = sys.argv[1:5]
    lengths = [int(v) for v in lengths.split(",")]
    raw = np.fromfile(input_path, dtype="<f4").astype(np.float64)
    if os.path.exists(os.path.join(folder, "conf.yaml")):
        d_in = yaml.safe_load(open(os.path.join(folder, "conf.yaml")))["llm"]["dimin"]
        outputs, recon = temporal(folder, raw.reshape(-1, d_in), lengths)
    elif os.path.exists(os.path.join(folder, "sae_weights.safetensors")):
        d_in = json.load(open(os.path.join(folder, "cfg.json")))["d_in"]
        outputs, recon = saelens(folder, raw.reshape(-1, d_in))
    else:
        d_in = json.load(open(os.path.join(folder, "cfg.json")))["d_in"]
        outputs, recon = sparsify(folder, raw.reshape(-1, d_in))
    os.makedirs(outdir, exist_ok=True)
    for name, codes in outputs.items():
        codes.astype("<f8").tofile(os.path.join(outdir, name + ".f64"))
    recon.astype("<f8").tofile(os.path.join(outdir, "recon.f64"))


if __name__ == "__main__":
    main()
