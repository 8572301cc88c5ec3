"""PyTorch reference of bench/generate: the same LLaMA-style model (vocab 32000, hidden 512,
intermediate 1376, 8 layers, 8 heads, random weights), written with the operations transformers'
eager LlamaForCausalLM runs (RMSNorm, rotary embeddings, matmul/softmax attention with a KV cache
grown by torch.cat as DynamicCache does, SwiGLU MLP), batch 1.

  prefill: a 128-token prompt into a fresh cache, logits of the last position only;
  decode:  128 single-token greedy steps on that cache, argmax included.

Run with Debian's python3-torch: /usr/bin/python3 bench/reference/generate.py [repeats] [prompt]
[new]; threads: $OMP_NUM_THREADS, default 2 (scripts/bench_generate.sh sets it and the malloc
thresholds). Prints the best of the
repeats in bench_generate's format.
"""
import math
import os
import sys
import time

import torch

VOCAB, HIDDEN, INTER, LAYERS, HEADS, KV_HEADS = 32000, 512, 1376, 8, 8, 8
HEAD_DIM = HIDDEN // HEADS
EPS, THETA = 1e-6, 10000.0


def rms_norm(x, w):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + EPS))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Model:
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        def n(*shape):
            return torch.randn(*shape, generator=g) * 0.02
        self.embed = n(VOCAB, HIDDEN)
        self.layers = []
        for _ in range(LAYERS):
            self.layers.append(dict(
                q=n(HEADS * HEAD_DIM, HIDDEN), k=n(KV_HEADS * HEAD_DIM, HIDDEN),
                v=n(KV_HEADS * HEAD_DIM, HIDDEN), o=n(HIDDEN, HEADS * HEAD_DIM),
                gate=n(INTER, HIDDEN), up=n(INTER, HIDDEN), down=n(HIDDEN, INTER),
                ln1=torch.ones(HIDDEN), ln2=torch.ones(HIDDEN)))
        self.norm = torch.ones(HIDDEN)
        self.lm_head = n(VOCAB, HIDDEN)
        self.inv_freq = 1.0 / (THETA ** (torch.arange(0, HEAD_DIM, 2, dtype=torch.int64).float()
                                         / HEAD_DIM))

    def forward(self, ids, cache, keep_last=True):
        b, t = ids.shape
        past = cache[0][0].shape[2] if cache[0] is not None else 0
        pos = torch.arange(past, past + t).float()
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        mask = None
        if t > 1:
            mask = torch.full((t, past + t), torch.finfo(torch.float32).min)
            mask = torch.triu(mask, diagonal=past + 1)[None, None]
        h = torch.nn.functional.embedding(ids, self.embed)
        for i, L in enumerate(self.layers):
            x = rms_norm(h, L["ln1"])
            q = torch.nn.functional.linear(x, L["q"]).view(b, t, HEADS, HEAD_DIM).transpose(1, 2)
            k = torch.nn.functional.linear(x, L["k"]).view(b, t, KV_HEADS, HEAD_DIM).transpose(1, 2)
            v = torch.nn.functional.linear(x, L["v"]).view(b, t, KV_HEADS, HEAD_DIM).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if cache[i] is not None:
                k = torch.cat((cache[i][0], k), dim=2)
                v = torch.cat((cache[i][1], v), dim=2)
            cache[i] = (k, v)
            w = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(HEAD_DIM))
            if mask is not None:
                w = w + mask
            w = torch.softmax(w, dim=-1, dtype=torch.float32)
            a = torch.matmul(w, v).transpose(1, 2).reshape(b, t, HIDDEN)
            h = h + torch.nn.functional.linear(a, L["o"])
            x = rms_norm(h, L["ln2"])
            gated = torch.nn.functional.silu(torch.nn.functional.linear(x, L["gate"]))
            h = h + torch.nn.functional.linear(gated * torch.nn.functional.linear(x, L["up"]),
                                               L["down"])
        h = rms_norm(h, self.norm)
        if keep_last:
            h = h[:, -1:, :]
        return torch.nn.functional.linear(h, self.lm_head)


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    prompt = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    new_tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    model = Model()
    ids = torch.randint(0, VOCAB, (1, prompt), generator=torch.Generator().manual_seed(1))
    best_prefill = best_decode = float("inf")
    with torch.no_grad():
        for r in range(repeats + 1):
            cache = [None] * LAYERS
            t0 = time.perf_counter()
            nxt = model.forward(ids, cache)[:, -1].argmax(-1).view(1, 1)
            prefill = time.perf_counter() - t0
            t0 = time.perf_counter()
            for _ in range(new_tokens):
                nxt = model.forward(nxt, cache)[:, -1].argmax(-1).view(1, 1)
            decode = time.perf_counter() - t0
            if r > 0:
                best_prefill = min(best_prefill, prefill)
                best_decode = min(best_decode, decode)
    print(f"generate prefill {prompt / best_prefill:.1f} tokens/s "
          f"({1e3 * best_prefill:.2f} ms per {prompt}-token prompt)")
    print(f"generate decode {new_tokens / best_decode:.1f} tokens/s "
          f"({1e3 * best_decode / new_tokens:.3f} ms/token over {new_tokens} tokens)")
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
