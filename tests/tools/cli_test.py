#!/usr/bin/env python3
"""The `peftcpp` CLI (argument handling, info, tokenizer), run as a user runs it.

Usage: cli_test.py PEFTCPP_BINARY [GOLDEN_DIR]
Prints one line per check and exits non-zero on the first failure.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

BIN = sys.argv[1]
GOLDEN = sys.argv[2] if len(sys.argv) > 2 else ""


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
finally:
    shutil.rmtree(tmp)
print("all cli checks passed")
