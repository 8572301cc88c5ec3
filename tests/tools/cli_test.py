#!/usr/bin/env python3
"""The `peftcpp` CLI (argument handling, info, tokenizer), run as a user runs it.

Usage: cli_test.py PEFTCPP_BINARY PRETRAIN_BINARY [GOLDEN_DIR]
Prints one line per check and exits non-zero on the first failure.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

BIN = sys.argv[1]
PRETRAIN = sys.argv[2]
GOLDEN = sys.argv[3] if len(sys.argv) > 3 else ""


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    if not ok:
        sys.exit(1)


def write_st(path, header: bytes, data: bytes):
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)


tmp = tempfile.mkdtemp(prefix="peftcpp_cli_")
try:
    rc, out, err = run("--help")
    check("--help lists info", rc == 0 and "info" in out, out + err)
    rc, out, err = run("nonsense")
    check("unknown command exits 2 naming it", rc == 2 and "nonsense" in err, err)
    rc, out, err = run("info", "--help")
    check("info --help", rc == 0 and "usage: peftcpp info PATH" in out, out)
    rc, out, err = run("info", "--bogus", "x")
    check("unknown option exits 2", rc == 2 and "--bogus" in err and "--help" in err, err)
    rc, out, err = run("info")
    check("missing PATH exits 2", rc == 2 and "PATH" in err, err)

    good = os.path.join(tmp, "good.safetensors")
    write_st(good, b'{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}', bytes(16))
    rc, out, err = run("info", good)
    check("info on a file lists its tensor", rc == 0 and "w" in out and "[2, 2]" in out and "F32" in out, out + err)

    trunc = os.path.join(tmp, "trunc.safetensors")
    write_st(trunc, b'{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}', bytes(8))
    rc, out, err = run("info", trunc)
    lines = [l for l in err.splitlines() if l.strip()]
    check("truncated file: exit 1, one line naming the file and tensor",
          rc == 1 and len(lines) == 1 and "trunc.safetensors" in err and "'w'" in err, repr(err))

    huge = os.path.join(tmp, "huge.safetensors")
    with open(huge, "wb") as f:
        f.write(struct.pack("<Q", 1 << 60) + b"{}")
    rc, out, err = run("info", huge)
    check("header length beyond the file: exit 1, one line", rc == 1 and len(err.strip().splitlines()) == 1, err)

    rc, out, err = run("info", os.path.join(tmp, "missing.safetensors"))
    check("missing file: exit 1 naming it", rc == 1 and "missing.safetensors" in err, err)

    empty = os.path.join(tmp, "emptydir")
    os.mkdir(empty)
    rc, out, err = run("info", empty)
    check("directory without model or adapter: exit 1", rc == 1 and "emptydir" in err, err)

    if GOLDEN and os.path.isdir(GOLDEN):
        case = os.path.join(GOLDEN, "peft", "lora_mlp_basic")
        if os.path.isdir(case):
            rc, out, err = run("info", case)
            check("adapter dir: method, rank and tensors", rc == 0 and "LORA adapter" in out and "lora_A" in out and "r: 4" in out, out + err)
        models = os.path.join(GOLDEN, "models")
        if os.path.isdir(models):
            for name in sorted(os.listdir(models)):
                d = os.path.join(models, name)
                rc, out, err = run("info", d)
                check("model dir " + name, rc == 0 and "model_type" in out and "parameters" in out, out + err)
                rc, out, err = run("info", os.path.join(d, "config.json"))
                check("config.json stands for its dir " + name, rc == 0 and "model_type" in out, out + err)
    readme = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")
    rc, out, err = run("methods")
    text = open(readme).read()
    table = text.split("<!-- methods-table -->\n", 1)[1].split("<!-- /methods-table -->", 1)[0]
    check("README methods table is `peftcpp methods` output", rc == 0 and table == out, out)

    corpus = os.path.join(tmp, "corpus.txt")
    with open(corpus, "w") as f:
        f.write("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    tok = os.path.join(tmp, "tokenizer.json")
    rc, out, err = run("tokenizer", "train", "--input", corpus, "--output", tok, "--vocab-size", "280")
    check("tokenizer train writes tokenizer.json", rc == 0 and os.path.exists(tok), out + err)
    rc, out, err = run("tokenizer", "encode", "the cat", "--tokenizer", tok)
    check("tokenizer encode with the trained tokenizer", rc == 0 and "Ġcat" in out, out + err)
    rc, out, err = run("tokenizer", "train", "--input", os.path.join(tmp, "nope.txt"), "--output", tok)
    check("tokenizer train on a missing file: exit 1 naming it", rc == 1 and "nope.txt" in err, err)
    rc, out, err = run("tokenizer", "train", "--input", corpus, "--output", tok, "--vocab-size", "x")
    check("non-integer --vocab-size: exit 2", rc == 2 and "--vocab-size" in err, err)
    rc, out, err = run("tokenizer", "frobnicate")
    check("unknown tokenizer subcommand: exit 2", rc == 2 and "frobnicate" in err, err)

    # A tiny base model (pretrained for 2 steps by demos/pretrain) and the training commands.
    def tiny(name, hidden):
        out = os.path.join(tmp, name)
        p = subprocess.run([PRETRAIN, "--corpus", corpus, "--output", out, "--vocab-size", "280",
                            "--hidden", str(hidden), "--layers", "1", "--heads", "2", "--intermediate", "32",
                            "--context", "16", "--max-steps", "2", "--batch", "2", "--eval-fraction", "0.1"],
                           capture_output=True, text=True)
        check("pretrain tiny model " + name, p.returncode == 0, p.stdout + p.stderr)
        return out
    base = tiny("base", 16)
    other = tiny("other", 24)
    data = os.path.join(tmp, "data.jsonl")
    with open(data, "w") as f:
        for i in range(40):
            f.write('{"prompt": "the cat ", "completion": "sat on the mat %d"}\n' % i)
    ada = os.path.join(tmp, "adapter")
    ft = ["finetune", "--model", base, "--data", data, "--output", ada, "--r", "2", "--alpha", "4",
          "--target-modules", "q_proj,v_proj", "--seq-len", "8", "--batch-size", "2", "--max-steps", "4",
          "--save-steps", "2", "--no-progress"]
    rc, out, err = run(*ft)
    check("finetune writes an adapter", rc == 0 and os.path.exists(os.path.join(ada, "adapter_model.safetensors")), out + err)
    check("finetune writes the loss curve and a checkpoint",
          os.path.exists(os.path.join(ada, "loss_curve.svg")) and os.path.isdir(os.path.join(ada, "checkpoint-2")), str(os.listdir(ada)))
    import json
    cfg = json.load(open(os.path.join(ada, "adapter_config.json")))
    check("adapter_config.json as PEFT writes it", cfg["peft_type"] == "LORA" and cfg["r"] == 2 and cfg["lora_alpha"] == 4
          and cfg["task_type"] == "CAUSAL_LM" and sorted(cfg["target_modules"]) == ["q_proj", "v_proj"], str(cfg))
    rc, out, err = run(*(ft + ["--resume"]))
    check("finetune --resume continues from checkpoint-2", rc == 0 and "resumed from step 2" in out, out + err)
    rc, out, err = run("finetune", "--model", base, "--data", data, "--output", os.path.join(tmp, "x"), "--method", "nosuch")
    check("unknown --method: exit 2", rc == 2 and "nosuch" in err, err)
    rc, out, err = run("finetune", "--model", os.path.join(tmp, "nomodel"), "--data", data, "--output", os.path.join(tmp, "x"))
    check("missing model dir: exit 1 naming it", rc == 1 and "nomodel" in err, err)
    bad = os.path.join(tmp, "bad.jsonl")
    with open(bad, "w") as f:
        f.write('{"text": "ok"}\n{"nope": 1}\n')
    rc, out, err = run("finetune", "--model", base, "--data", bad, "--output", os.path.join(tmp, "x"))
    check("malformed JSONL: exit 1 naming the line", rc == 1 and "line 2" in err, err)
    rc, out, err = run("generate", "--model", base, "--adapter", ada, "--prompt", "the cat", "--max-new-tokens", "3")
    check("generate with the adapter", rc == 0 and out.startswith("the cat"), out + err)
    rc, out, err = run("eval", "--model", base, "--adapter", ada, "--data", data, "--seq-len", "8")
    check("eval prints perplexity", rc == 0 and "perplexity" in out, out + err)
    rc, out, err = run("generate", "--model", other, "--adapter", ada, "--prompt", "the")
    check("an adapter for another base: exit 1 naming a tensor and both shapes",
          rc == 1 and "lora_A" in err and "[2, 16]" in err and "[2, 24]" in err, err)
    merged = os.path.join(tmp, "merged")
    rc, out, err = run("merge", "--model", base, "--adapter", ada, "--output", merged)
    check("merge writes a full checkpoint", rc == 0 and os.path.exists(os.path.join(merged, "model.safetensors")), out + err)
    rc1, out1, _ = run("eval", "--model", merged, "--data", data, "--seq-len", "8")
    rc2, out2, _ = run("eval", "--model", base, "--adapter", ada, "--data", data, "--seq-len", "8")
    check("merged model evaluates as base + adapter", rc1 == 0 and out1.split()[1] == out2.split()[1], out1 + out2)
    ids = os.path.join(tmp, "ids.safetensors")
    hdr = b'{"input_ids":{"dtype":"I64","shape":[1,3],"data_offsets":[0,24]}}'
    write_st(ids, hdr, struct.pack("<3q", 1, 2, 3))
    rc, out, err = run("forward", "--model", base, "--input", ids, "--output", os.path.join(tmp, "logits.safetensors"))
    vocab = json.load(open(os.path.join(base, "config.json")))["vocab_size"]
    check("forward writes logits", rc == 0 and "[1, 3, %d]" % vocab in out, out + err)
    write_st(ids, hdr, struct.pack("<3q", 1, 2, 999))
    rc, out, err = run("forward", "--model", base, "--input", ids, "--output", os.path.join(tmp, "l2.safetensors"))
    check("forward rejects ids outside the vocabulary", rc == 1 and "vocabulary" in err, err)
finally:
    shutil.rmtree(tmp)
print("all cli checks passed")
