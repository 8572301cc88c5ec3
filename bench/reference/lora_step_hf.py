#!/usr/bin/env python3
"""The training step of bench/lora_step with HuggingFace transformers + PEFT: LlamaForCausalLM
built from a config (random weights), LoRA (PEFT's LoraConfig) on q,k,v,o,gate,up,down or
--full fine-tuning, torch.optim.AdamW, random tokens, loss = transformers' own causal-LM loss
(labels = input_ids). Prints `tokens/s: <x>` last, and on CUDA the peak allocated memory.

CPU anchor (issue #8, float32, reference configuration):
  python3 bench/reference/lora_step_hf.py --threads 2
GPU benchmark (issue #10, next to `bench_lora_step --device cuda --dtype bf16 --preset-1b`):
  python3 bench/reference/lora_step_hf.py --device cuda --dtype bf16 --preset-1b
Needs torch, transformers and peft (installed on the GPU machines; not available from Debian).
"""
import argparse
import resource
import time

import torch


def main():
    p = argparse.ArgumentParser()
    for n, d in [("vocab", 32000), ("hidden", 512), ("intermediate", 1376), ("layers", 4),
                 ("heads", 8), ("kv-heads", 8), ("seq", 256), ("batch", 4), ("rank", 16),
                 ("steps", 10), ("warmup", 2), ("threads", 2)]:
        p.add_argument("--" + n, type=int, default=d)
    p.add_argument("--alpha", type=float, default=32.0)
    p.add_argument("--full", action="store_true")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="f32", choices=["f32", "bf16", "f16"])
    p.add_argument("--preset-1b", action="store_true",
                   help="vocab 32000, hidden 2048, intermediate 5632, 22 layers, 32 heads, 4 kv heads")
    a = p.parse_args()
    if a.preset_1b:
        a.vocab, a.hidden, a.intermediate, a.layers, a.heads, a.kv_heads = 32000, 2048, 5632, 22, 32, 4

    from transformers import LlamaConfig, LlamaForCausalLM
    from peft import LoraConfig, get_peft_model

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[a.dtype]
    cfg = LlamaConfig(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate,
                      num_hidden_layers=a.layers, num_attention_heads=a.heads,
                      num_key_value_heads=a.kv_heads, max_position_embeddings=max(a.seq, 2048),
                      tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg).to(dtype=dtype, device=a.device)
    if not a.full:
        lc = LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=0.0, task_type="CAUSAL_LM",
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                        "down_proj"])
        model = get_peft_model(model, lc)
    model.train()
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=g).to(a.device)
    cuda = a.device.startswith("cuda")

    def step():
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()  # also synchronises the device

    for _ in range(a.warmup):
        step()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"mode: {'full' if a.full else 'lora'}  device: {a.device}  dtype: {a.dtype}  "
          f"trainable: {sum(q.numel() for q in params)}  loss: {loss:.4f}  "
          f"step: {dt / a.steps * 1000:.1f} ms  peak RSS: {rss:.0f} MiB")
    if cuda:
        print(f"peak device memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    print(f"tokens/s: {a.batch * a.seq * a.steps / dt:.1f}")


if __name__ == "__main__":
    main()
