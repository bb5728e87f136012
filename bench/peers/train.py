"""The phase-1 step of RALM (user representation: attention-merge user tower, sampled softmax over
rank-sampled negatives, Adam) written in PyTorch from the same configuration, on the inputs
bench/train.ts wrote: the RALM model's initial weights, real encoded phase-1 batches of the
synthetic data set (same fields, vocabularies, multivalent widths, present masks), the item ranking
the negative sampler draws from, and one step of RALM's own (candidates, loss, gradients, weights
after one Adam step) to check this implementation against.

CPU, one thread (torch.set_num_threads(1), one inter-op thread; bench/train.ts also sets
OMP/OPENBLAS/MKL_NUM_THREADS=1). Prints two JSON lines:
  {"check": ...}  this step against RALM's on the same batch and weights (loss, gradients, weights after one Adam step)
  {"bench": ...}  samples/s over `timed` batches after `warmup`, from the initial weights again

Each timed batch, like RALM's, draws its negatives (log-uniform over click ranks), runs forward,
backward and the Adam update, and reads the loss back; the user features come pre-encoded
(RALM encodes them in JavaScript inside its timed loop: 2–4% of its step on wasm).

  python3 bench/peers/train.py DIR WARMUP TIMED
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

folder, warmup, timed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
manifest = json.load(open(os.path.join(folder, "manifest.json")))
blob = open(os.path.join(folder, "arrays.bin"), "rb").read()


def array(ref):
    """A tensor from the blob: ref = {dtype: float32|int32, offset (bytes), shape}."""
    dtype = np.float32 if ref["dtype"] == "float32" else np.int32
    count = int(np.prod(ref["shape"])) if ref["shape"] else 1
    a = np.frombuffer(blob, dtype=dtype, count=count, offset=ref["offset"]).reshape(ref["shape"])
    t = torch.from_numpy(a.copy())
    return t.long() if dtype == np.int32 else t


cfg = manifest["config"]
fields = manifest["fields"]  # [{name, kind: univalent|multivalent|continuous}], schema order
B, width, D = cfg["batchSize"], cfg["negativesPerPositive"] + 1, cfg["items"]
layers = len(cfg["hidden"]) + 1
item_of_rank = array(manifest["itemOfRank"])
log_range = math.log(D + 1)


def initial_params():
    """name -> leaf tensor, RALM's own names and shapes (kernels are in × out: x @ W)."""
    return {name: array(ref).requires_grad_(True) for name, ref in manifest["weights"].items()}


def batch_tensors(b):
    """A phase-1 batch as RALM's FeatureEncoder made it: per field ids (and 1/count weights), present mask, positives."""
    out = {"present": array(b["present"]), "positives": array(b["positives"]), "fields": []}
    for f, enc in zip(fields, b["fields"]):
        if f["kind"] == "continuous":
            out["fields"].append({"values": array(enc["values"])})
        elif f["kind"] == "univalent":
            out["fields"].append({"ids": array(enc["ids"])})
        else:
            out["fields"].append({"ids": array(enc["ids"]), "weights": array(enc["weights"])})
    return out


def user_tower(p, batch):
    """u = MLP(Σ_i α_i h_i), α = masked softmax(tanh(H W1 + b1) w2) (spec §2, attention merge)."""
    present = batch["present"]  # B × n
    n = len(fields)
    vectors = []
    for f, enc in zip(fields, batch["fields"]):
        if f["kind"] == "continuous":
            x = enc["values"].reshape(-1, 1)
            vectors.append(x @ p[f"user.field.{f['name']}.kernel"] + p[f"user.field.{f['name']}.bias"])
        elif f["kind"] == "univalent":
            vectors.append(p[f"user.field.{f['name']}.embedding"][enc["ids"]])
        else:  # average pooling: padding and unknown ids weigh 0, known ids 1/count
            rows = p[f"user.field.{f['name']}.embedding"][enc["ids"]]  # B × L × m
            vectors.append((rows * enc["weights"].unsqueeze(2)).sum(1))
    H = torch.stack(vectors, 1) * present.reshape(B, n, 1)  # B × n × m, masked fields zero
    m = H.shape[2]
    U = torch.tanh(H.reshape(B * n, m) @ p["user.attention.w1"] + p["user.attention.b1"])
    s = (U @ p["user.attention.w2"]).reshape(B, n)
    alpha = torch.softmax(s + (1 - present) * -1e9, dim=1) * present
    x = (H * alpha.reshape(B, n, 1)).sum(1)
    for i in range(layers):
        x = x @ p[f"user.mlp.{i}.kernel"] + p[f"user.mlp.{i}.bias"]
        if i < layers - 1:
            x = torch.relu(x)
    return x


def sample_candidates(positives, gen):
    """Column 0 the positive, then negatives r = ⌊exp(U·ln(D + 1))⌋ − 1 over click ranks; a draw equal to the positive is masked."""
    u = torch.rand(B, width - 1, dtype=torch.float64, generator=gen)
    ranks = (torch.floor(torch.exp(u * log_range)) - 1).clamp_(max=D - 1).long()
    items = torch.cat([positives.reshape(B, 1), item_of_rank[ranks]], 1)
    valid = torch.ones(B, width)
    valid[:, 1:] = (items[:, 1:] != positives.reshape(B, 1)).float()
    return items, valid


def loss_of(p, batch, items, valid):
    """Sampled softmax: −log P(c = positive | u) over {positive} ∪ negatives, mean over the batch."""
    u = user_tower(p, batch)
    x = p["item.embedding"][items]  # B × w × d
    logits = (x * u.reshape(B, 1, -1)).sum(2)
    log_probs = torch.log_softmax(logits + (1 - valid) * -1e9, dim=1)
    return -log_probs[:, 0].mean()


def adam(params):
    # RALM's Adam: β1 0.9, β2 0.999, ε 1e-7 added to √v̂ (tfjs' default; PyTorch's is 1e-8), dense over every parameter.
    return torch.optim.Adam(list(params.values()), lr=cfg["learningRate"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["epsilon"])


def step(params, optimizer, batch, items, valid):
    optimizer.zero_grad(set_to_none=True)
    loss = loss_of(params, batch, items, valid)
    loss.backward()
    optimizer.step()
    return loss.item()


def blas():
    try:
        return os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    except OSError:
        return "unknown"


def cpu_capability():
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


# 1. The same step as RALM's on the same batch, candidates and weights.
check = manifest["check"]
params = initial_params()
batch = batch_tensors(manifest["batches"][check["batch"]])
items, valid = array(check["items"]), array(check["valid"])
loss = loss_of(params, batch, items, valid)
loss.backward()
grad_rel = 0.0
for name, ref in check["grads"].items():
    theirs = array(ref)
    ours = params[name].grad
    scale = max(float(theirs.abs().max()), 1e-30)
    grad_rel = max(grad_rel, float((ours - theirs).abs().max()) / scale)
optimizer = adam(params)
optimizer.step()  # the gradients just computed: Adam's first step
weight_diff_lr = 0.0
for name, ref in check["after"].items():
    weight_diff_lr = max(weight_diff_lr, float((params[name].detach() - array(ref)).abs().max()) / cfg["learningRate"])
print(json.dumps({"check": {"loss": loss.item(), "ralm_loss": check["loss"], "max_grad_rel_diff": grad_rel, "max_weight_diff_in_lr": weight_diff_lr}}), flush=True)

# 2. Throughput from the initial weights again, cycling through the batches RALM's encoder made.
params = initial_params()
optimizer = adam(params)
batches = [batch_tensors(b) for b in manifest["batches"]]
gen = torch.Generator().manual_seed(1)
losses = []
for i in range(warmup + timed):
    if i == warmup:
        t0 = time.perf_counter()
    b = batches[i % len(batches)]
    items, valid = sample_candidates(b["positives"], gen)
    losses.append(step(params, optimizer, b, items, valid))
seconds = time.perf_counter() - t0
print(json.dumps({"bench": {
    "samples_per_s": timed * B / seconds, "seconds": seconds, "batches": timed, "warmup": warmup, "batch_size": B,
    "params": sum(p.numel() for p in params.values()), "first_loss": losses[0], "last_loss": losses[-1],
    "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
    "torch": torch.__version__, "blas": blas(), "cpu_capability": cpu_capability(),
}}), flush=True)
