#!/usr/bin/python3
"""Independent float64 forward pass of GPT-2, GPT-NeoX, Llama and Gemma-2 in numpy.

Written from the published definitions (the papers and Hugging Face's modeling_gpt2.py, modeling_gpt_neox.py,
modeling_llama.py and modeling_gemma2.py), not from Sweep's C# code. One sequence at a time, no padding.

usage: reference_forward.py MODEL_DIR TOKENS_JSON OUT_SAFETENSORS
  TOKENS_JSON: [[id, ...], ...]
  writes, for sequence i, "{i}/{hook name}" [T, d] for every TransformerLens hook point the model defines and
  "{i}/logits" [T, vocab] and "{i}/log_probs_next" [T-1, 1] (log_softmax(logits[t])[ids[t+1]]), as F32 safetensors.
Hook conventions (TransformerLens with its default fold_ln): ln_final.hook_normalized is the final norm without
its gain (and bias); GPT-2's hook_embed is the token embedding alone; Gemma-2's is the scaled embedding.
"""
import json
import math
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        buf = data[b:end]
        if e["dtype"] == "F32":
            a = np.frombuffer(buf, dtype="<f4")
        elif e["dtype"] == "F16":
            a = np.frombuffer(buf, dtype="<f2")
        elif e["dtype"] == "BF16":
            a = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{name}: dtype {e['dtype']}")
        out[name] = a.astype(np.float64).reshape(e["shape"])
    return out


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        blob = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for blob in blobs:
            f.write(blob)


# ---- shared pieces -------------------------------------------------------------------------------------------

def layer_norm_plain(x, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def rms_plain(x, eps):
    return x / np.sqrt((x ** 2).mean(-1, keepdims=True) + eps)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gelu_exact(x):
    from scipy.special import erf
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def softmax(s):
    s = s - s.max(-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(-1, keepdims=True)


def rope(x, theta, rot_dims):
    """x [h, T, hd]: rotate-half RoPE on the first rot_dims dims of each head (pairs (i, i + rot_dims/2))."""
    T = x.shape[1]
    inv = 1.0 / theta ** (np.arange(0, rot_dims, 2, dtype=np.float64) / rot_dims)
    ang = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]
    cos, sin = np.cos(ang), np.sin(ang)
    r, rest = x[..., :rot_dims], x[..., rot_dims:]
    a, b = r[..., :rot_dims // 2], r[..., rot_dims // 2:]
    rotated = np.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1)
    return np.concatenate([rotated, rest], axis=-1)


def attention(q, k, v, scale, window=None, softcap=None):
    """q [h, T, hd], k and v [kvh, T, hd]; causal (and windowed) softmax attention; returns [T, h*hd]."""
    h, T, hd = q.shape
    rep = h // k.shape[0]
    k = np.repeat(k, rep, axis=0)
    v = np.repeat(v, rep, axis=0)
    s = q @ k.transpose(0, 2, 1) * scale
    if softcap is not None:
        s = softcap * np.tanh(s / softcap)
    qi, ki = np.arange(T)[:, None], np.arange(T)[None, :]
    allowed = ki <= qi
    if window is not None:
        allowed &= (qi - ki) < window
    s = np.where(allowed[None], s, -np.inf)
    return (softmax(s) @ v).transpose(1, 0, 2).reshape(T, h * hd)


def heads(x, n):
    T = x.shape[0]
    return x.reshape(T, n, -1).transpose(1, 0, 2)


# ---- families ------------------------------------------------------------------------------------------------

def gpt2(cfg, W, ids, hook):
    p = "transformer." if "transformer.wte.weight" in W else ""
    d, nh, eps = cfg["n_embd"], cfg["n_head"], cfg.get("layer_norm_epsilon", 1e-5)
    T = len(ids)
    tok = W[p + "wte.weight"][ids]
    hook("hook_embed", tok)
    x = tok + W[p + "wpe.weight"][:T]
    ln = lambda x, name: layer_norm_plain(x, eps) * W[name + ".weight"] + W[name + ".bias"]
    conv1d = lambda x, name: x @ W[name + ".weight"] + W[name + ".bias"]   # Conv1D: weight [in, out]
    for l in range(cfg["n_layer"]):
        b = f"{p}h.{l}."
        hook(f"blocks.{l}.hook_resid_pre", x)
        qkv = conv1d(ln(x, b + "ln_1"), b + "attn.c_attn")
        q, k, v = heads(qkv[:, :d], nh), heads(qkv[:, d:2 * d], nh), heads(qkv[:, 2 * d:], nh)
        a = conv1d(attention(q, k, v, 1.0 / math.sqrt(d // nh)), b + "attn.c_proj")
        hook(f"blocks.{l}.hook_attn_out", a)
        x = x + a
        hook(f"blocks.{l}.hook_resid_mid", x)
        m = conv1d(gelu_tanh(conv1d(ln(x, b + "ln_2"), b + "mlp.c_fc")), b + "mlp.c_proj")
        hook(f"blocks.{l}.hook_mlp_out", m)
        x = x + m
        hook(f"blocks.{l}.hook_resid_post", x)
    n = layer_norm_plain(x, eps)
    hook("ln_final.hook_normalized", n)
    head = W["lm_head.weight"] if "lm_head.weight" in W and not cfg.get("tie_word_embeddings", True) else W[p + "wte.weight"]
    return (n * W[p + "ln_f.weight"] + W[p + "ln_f.bias"]) @ head.T


def gpt_neox(cfg, W, ids, hook):
    d, nh, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg.get("layer_norm_eps", 1e-5)
    hd = d // nh
    rot = int(hd * cfg.get("rotary_pct", 0.25))
    theta = cfg.get("rotary_emb_base", 10000)
    parallel = cfg.get("use_parallel_residual", True)
    ln = lambda x, name: layer_norm_plain(x, eps) * W[name + ".weight"] + W[name + ".bias"]
    lin = lambda x, name: x @ W[name + ".weight"].T + W[name + ".bias"]
    x = W["gpt_neox.embed_in.weight"][ids]
    hook("hook_embed", x)
    T = len(ids)
    for l in range(cfg["num_hidden_layers"]):
        b = f"gpt_neox.layers.{l}."
        hook(f"blocks.{l}.hook_resid_pre", x)
        qkv = lin(ln(x, b + "input_layernorm"), b + "attention.query_key_value").reshape(T, nh, 3 * hd).transpose(1, 0, 2)
        q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
        q, k = rope(q, theta, rot), rope(k, theta, rot)
        a = lin(attention(q, k, v, 1.0 / math.sqrt(hd)), b + "attention.dense")
        hook(f"blocks.{l}.hook_attn_out", a)
        mlp = lambda h: lin(gelu_exact(lin(ln(h, b + "post_attention_layernorm"), b + "mlp.dense_h_to_4h")), b + "mlp.dense_4h_to_h")
        if parallel:
            m = mlp(x)
            hook(f"blocks.{l}.hook_mlp_out", m)
            x = x + a + m
        else:
            x = x + a
            hook(f"blocks.{l}.hook_resid_mid", x)
            m = mlp(x)
            hook(f"blocks.{l}.hook_mlp_out", m)
            x = x + m
        hook(f"blocks.{l}.hook_resid_post", x)
    n = layer_norm_plain(x, eps)
    hook("ln_final.hook_normalized", n)
    return (n * W["gpt_neox.final_layer_norm.weight"] + W["gpt_neox.final_layer_norm.bias"]) @ W["embed_out.weight"].T


def llama(cfg, W, ids, hook):
    d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    kvh = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim") or d // nh
    eps, theta = cfg.get("rms_norm_eps", 1e-6), cfg.get("rope_theta", 10000.0)
    window = cfg.get("sliding_window")
    lin = lambda x, name: x @ W[name + ".weight"].T
    x = W["model.embed_tokens.weight"][ids]
    hook("hook_embed", x)
    for l in range(cfg["num_hidden_layers"]):
        b = f"model.layers.{l}."
        hook(f"blocks.{l}.hook_resid_pre", x)
        h = rms_plain(x, eps) * W[b + "input_layernorm.weight"]
        q = rope(heads(lin(h, b + "self_attn.q_proj"), nh), theta, hd)
        k = rope(heads(lin(h, b + "self_attn.k_proj"), kvh), theta, hd)
        v = heads(lin(h, b + "self_attn.v_proj"), kvh)
        a = lin(attention(q, k, v, 1.0 / math.sqrt(hd), window=window), b + "self_attn.o_proj")
        hook(f"blocks.{l}.hook_attn_out", a)
        x = x + a
        hook(f"blocks.{l}.hook_resid_mid", x)
        h = rms_plain(x, eps) * W[b + "post_attention_layernorm.weight"]
        m = lin(silu(lin(h, b + "mlp.gate_proj")) * lin(h, b + "mlp.up_proj"), b + "mlp.down_proj")
        hook(f"blocks.{l}.hook_mlp_out", m)
        x = x + m
        hook(f"blocks.{l}.hook_resid_post", x)
    n = rms_plain(x, eps)
    hook("ln_final.hook_normalized", n)
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return (n * W["model.norm.weight"]) @ head.T


def gemma2(cfg, W, ids, hook):
    d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    kvh, hd = cfg.get("num_key_value_heads", nh), cfg.get("head_dim", 256)
    eps, theta = cfg.get("rms_norm_eps", 1e-6), cfg.get("rope_theta", 10000.0)
    scale = cfg.get("query_pre_attn_scalar", 256) ** -0.5
    attn_cap, final_cap = cfg.get("attn_logit_softcapping", 50.0), cfg.get("final_logit_softcapping", 30.0)
    window = cfg.get("sliding_window", 4096)
    norm = lambda x, name: rms_plain(x, eps) * (1.0 + W[name + ".weight"])
    lin = lambda x, name: x @ W[name + ".weight"].T
    x = W["model.embed_tokens.weight"][ids] * math.sqrt(d)
    hook("hook_embed", x)
    for l in range(cfg["num_hidden_layers"]):
        b = f"model.layers.{l}."
        hook(f"blocks.{l}.hook_resid_pre", x)
        h = norm(x, b + "input_layernorm")
        q = rope(heads(lin(h, b + "self_attn.q_proj"), nh), theta, hd)
        k = rope(heads(lin(h, b + "self_attn.k_proj"), kvh), theta, hd)
        v = heads(lin(h, b + "self_attn.v_proj"), kvh)
        sliding = l % 2 == 0   # Gemma2DecoderLayer: is_sliding = not bool(layer_idx % 2)
        a = lin(attention(q, k, v, scale, window=window if sliding else None, softcap=attn_cap), b + "self_attn.o_proj")
        a = norm(a, b + "post_attention_layernorm")
        hook(f"blocks.{l}.hook_attn_out", a)
        x = x + a
        hook(f"blocks.{l}.hook_resid_mid", x)
        h = norm(x, b + "pre_feedforward_layernorm")
        m = lin(gelu_tanh(lin(h, b + "mlp.gate_proj")) * lin(h, b + "mlp.up_proj"), b + "mlp.down_proj")
        m = norm(m, b + "post_feedforward_layernorm")
        hook(f"blocks.{l}.hook_mlp_out", m)
        x = x + m
        hook(f"blocks.{l}.hook_resid_post", x)
    n = rms_plain(x, eps)
    hook("ln_final.hook_normalized", n)
    logits = (n * (1.0 + W["model.norm.weight"])) @ W["model.embed_tokens.weight"].T
    if final_cap is not None:
        logits = final_cap * np.tanh(logits / final_cap)
    return logits


FAMILIES = {"gpt2": gpt2, "gpt_neox": gpt_neox, "llama": llama, "mistral": llama, "gemma2": gemma2}


def main(model_dir, tokens_json, out_path):
    with open(f"{model_dir}/config.json") as f:
        cfg = json.load(f)
    W = read_safetensors(f"{model_dir}/model.safetensors")
    with open(tokens_json) as f:
        sequences = json.load(f)
    out = {}
    for i, ids in enumerate(sequences):
        def hook(name, value, i=i):
            out[f"{i}/{name}"] = value
        logits = FAMILIES[cfg["model_type"]](cfg, W, np.asarray(ids), hook)
        out[f"{i}/logits"] = logits
        if len(ids) > 1:
            m = logits.max(-1, keepdims=True)
            log_probs = logits - (m + np.log(np.exp(logits - m).sum(-1, keepdims=True)))
            out[f"{i}/log_probs_next"] = log_probs[np.arange(len(ids) - 1), ids[1:]][:, None]
    write_safetensors(out_path, out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
