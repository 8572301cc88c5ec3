#!/usr/bin/env python3
"""The training step of bench/lora_step written in PyTorch: a LLaMA-style causal LM (RMSNorm,
RoPE, grouped-query attention, SwiGLU) with LoRA on q,k,v,o,gate,up,down (PEFT's math:
y = W x + (alpha / r) * B A x), AdamW, float32, random tokens. Prints `tokens/s: <x>` last.

Run it as bench/lora_step/run.sh does: Debian's python3-torch, torch.set_num_threads(threads),
MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000.
"""
import argparse
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoraLinear(nn.Module):
    def __init__(self, fin, fout, r, alpha):
        super().__init__()
        self.base = nn.Linear(fin, fout, bias=False)
        self.r = r
        if r > 0:
            self.lora_A = nn.Linear(fin, r, bias=False)
            self.lora_B = nn.Linear(r, fout, bias=False)
            nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B.weight)
            self.scaling = alpha / r

    def forward(self, x):
        y = self.base(x)
        if self.r > 0:
            y = y + self.lora_B(self.lora_A(x)) * self.scaling
        return y


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Block(nn.Module):
    def __init__(self, a, r):
        super().__init__()
        h, self.nh, self.nkv = a.hidden, a.heads, a.kv_heads
        self.hd = h // a.heads
        L = lambda i, o: LoraLinear(i, o, r, a.alpha)
        self.q, self.k, self.v = L(h, h), L(h, self.nkv * self.hd), L(h, self.nkv * self.hd)
        self.o = L(h, h)
        self.gate, self.up, self.down = L(h, a.intermediate), L(h, a.intermediate), L(a.intermediate, h)
        self.n1, self.n2 = RMSNorm(h), RMSNorm(h)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        if not hasattr(self, "mask") or self.mask.shape[0] < T:
            self.mask = torch.full((T, T), float("-inf")).triu(1)
        hs = self.n1(x)
        q = self.q(hs).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k(hs).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v(hs).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if self.nkv != self.nh:
            k = k.repeat_interleave(self.nh // self.nkv, dim=1)
            v = v.repeat_interleave(self.nh // self.nkv, dim=1)
        # Eager attention as transformers' LlamaAttention (torch 1.13 has no fused SDPA).
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd) + self.mask[:T, :T]
        att = torch.softmax(scores, dim=-1) @ v
        x = x + self.o(att.transpose(1, 2).reshape(B, T, -1))
        hs = self.n2(x)
        return x + self.down(F.silu(self.gate(hs)) * self.up(hs))


class Model(nn.Module):
    def __init__(self, a, r):
        super().__init__()
        self.emb = nn.Embedding(a.vocab, a.hidden)
        self.layers = nn.ModuleList(Block(a, r) for _ in range(a.layers))
        self.norm = RMSNorm(a.hidden)
        self.head = nn.Linear(a.hidden, a.vocab, bias=False)
        hd = a.hidden // a.heads
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
        f = torch.outer(torch.arange(a.seq).float(), inv)
        emb = torch.cat((f, f), dim=-1)
        self.register_buffer("cos", emb.cos()[None, None], persistent=False)
        self.register_buffer("sin", emb.sin()[None, None], persistent=False)

    def forward(self, ids):
        x = self.emb(ids)
        for l in self.layers:
            x = l(x, self.cos, self.sin)
        return self.head(self.norm(x))


def main():
    p = argparse.ArgumentParser()
    for n, d in [("vocab", 32000), ("hidden", 512), ("intermediate", 1376), ("layers", 4),
                 ("heads", 8), ("kv-heads", 8), ("seq", 256), ("batch", 4), ("rank", 16),
                 ("steps", 10), ("warmup", 2), ("threads", 2)]:
        p.add_argument("--" + n, type=int, default=d)
    p.add_argument("--alpha", type=float, default=32.0)
    p.add_argument("--full", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    r = 0 if a.full else a.rank
    model = Model(a, r)
    if not a.full:
        for n, prm in model.named_parameters():
            prm.requires_grad = "lora_" in n
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=g)

    def step():
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"mode: {'full' if a.full else 'lora'}  trainable: {sum(q.numel() for q in params)}  "
          f"loss: {loss:.4f}  step: {dt / a.steps * 1000:.1f} ms  peak RSS: {rss:.0f} MiB")
    print(f"tokens/s: {a.batch * a.seq * a.steps / dt:.1f}")


if __name__ == "__main__":
    main()
