"""Writes SAE weight files with the writers researchers use: numpy's own np.savez / np.savez_compressed for
.npz, and PyTorch's torch.save for .pt (Debian's python3-numpy and python3-torch, independent of Sweep).

Usage: write_sae_files.py MANIFEST.json
The manifest: {"format": "npz" | "npz_compressed" | "pt" | "pt_legacy", "out": PATH, "nest": null | KEY,
               "extra": {KEY: INT, ...}, "tensors": [{"name": N, "file": RAW.f32, "shape": [..],
               "dtype": "float32" | "float16" | "bfloat16" | "float64" | "int64", "layout": "c" | "transposed" | "slice"}]}
Each tensor's values are raw little-endian float32 in row-major order of "shape". "layout" says how the array
is laid out in memory when saved, which the files record: "transposed" saves the transpose of a contiguous
array of the reversed shape (numpy: fortran_order True; torch: a non-contiguous view with swapped strides),
"slice" (torch only) saves a row of a larger tensor (a view with a storage offset). With "nest" the tensors are
saved as {KEY: state_dict, **extra} as training scripts do; "pt_legacy" uses the pre-1.6 (non-zip) format.
"""
import collections
import json
import sys

import numpy as np


def as_array(spec):
    values = np.fromfile(spec["file"], dtype="<f4").reshape(spec["shape"])
    if spec.get("layout") == "transposed":
        assert values.ndim == 2
        values = np.ascontiguousarray(values.T).T
        assert values.flags["F_CONTIGUOUS"] and not values.flags["C_CONTIGUOUS"]
    return values


def write_npz(manifest, compressed):
    arrays = {}
    for spec in manifest["tensors"]:
        a = as_array(spec)
        dtype = {"float32": np.float32, "float16": np.float16, "float64": np.float64, "int64": np.int64}[spec["dtype"]]
        arrays[spec["name"]] = a.astype(dtype, order="K")
    (np.savez_compressed if compressed else np.savez)(manifest["out"], **arrays)


def write_pt(manifest, legacy):
    import torch

    state = collections.OrderedDict()
    for spec in manifest["tensors"]:
        values = np.fromfile(spec["file"], dtype="<f4").reshape(spec["shape"])
        dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
                 "float64": torch.float64, "int64": torch.int64}[spec["dtype"]]
        t = torch.from_numpy(values.copy()).to(dtype)
        layout = spec.get("layout", "c")
        if layout == "transposed":
            t = t.t().contiguous().t()
            assert not t.is_contiguous()
        elif layout == "slice":
            big = torch.zeros((3,) + tuple(t.shape), dtype=dtype)
            big[1] = t
            t = big[1]
            assert t.storage_offset() > 0
        state[spec["name"]] = t
    obj = state
    if manifest.get("nest"):
        obj = {manifest["nest"]: state}
        obj.update(manifest.get("extra") or {})
    torch.save(obj, manifest["out"], _use_new_zipfile_serialization=not legacy)


def main():
    manifest = json.load(open(sys.argv[1]))
    fmt = manifest["format"]
    if fmt in ("npz", "npz_compressed"):
        write_npz(manifest, fmt == "npz_compressed")
    elif fmt in ("pt", "pt_legacy"):
        write_pt(manifest, fmt == "pt_legacy")
    else:
        raise SystemExit(f"unknown format {fmt}")


if __name__ == "__main__":
    main()
