#!/usr/bin/env python3
"""Differential check of peftcpp's tokenizer against the HuggingFace tokenizers library.

Encodes ~700 generated texts (random mixes of scripts, combining marks, emoji, private-use,
unassigned and control characters, odd spaces, special-token spellings, corpus lines) with every
golden tokenizer and with variants of them that exercise other components (Roberta/ByteLevel
post-processing, Metaspace prepend schemes, Bert options, normalizer and pre-tokenizer
sequences, Split behaviours), then compares every field.

usage: crosscheck.py <dump binary> <node_modules dir> <golden tokenizers dir> <work dir>
"""
import copy
import json
import os
import random
import subprocess
import sys


def texts(corpus_lines):
    rnd = random.Random(12345)
    pool = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") * 3
    pool += list(" " * 30 + "\t\n\r") + list(".,;:!?'\"()[]{}<>-_/\\|@#$%^&*+=~`")
    pool += ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "\u2019", "\u201c", "\u2014", "\u2026"]
    pool += list("àáâãäåæçèéêëñòóöøùúüýÿÀÉÎÕÜßĞİıŁłŒœŠšŽžẞ")
    pool += ["e\u0301", "a\u0300", "\u0301", "\u0323\u0302", "Z\u0334\u0351\u0360", "\u1e9b\u0323"]
    pool += list("αβγΣσςΩΆАБВабвЁё我爱自然语言處理東京日本한국어문장เขาไม่ได้ड़ीदुखمرحباשלום١٢٣")
    pool += ["\U0001F44D", "\U0001F44D\U0001F3FD", "\U0001F468\u200d\U0001F469", "\U0001F1EF\U0001F1F5",
             "\u2764\ufe0f", "1\ufe0f\u20e3", "\U0001F972", "\U0001FAE0", "\U0001FAF0"]
    pool += ["\ue000", "\ue001", "\U000f0001", "\u0378", "\u08e2", "\ufffd", "\u2028", "\x85",
             "\xa0", "\u2002", "\u3000", "\u200b", "\u200d", "\ufeff", "\u202f", "\x00", "\x07",
             "\x0b", "\x1e", "\x7f"]
    pool += list("ﬁﬂＡＢＣ１２３²①Ⅻµ㎒½ℌ𝔘𝔫⅋☃ꙮ𠜎")
    pool += ["<|endoftext|>", "<|endoftext|", "[CLS]", "[SEP]", "[MASK]", "<s>", "</s>", "<unk>",
             "<pad>", "<mask>", "<|im_start|>", "<think>", "<|begin_of_text|>", "hello", "Hello"]
    words = " ".join(corpus_lines).split() or ["word"]
    out = []
    for _ in range(600):
        out.append("".join(rnd.choice(words) if rnd.random() < 0.25 else rnd.choice(pool)
                           for _ in range(rnd.randint(0, 60))))
    for _ in range(100):
        k = rnd.randint(0, max(0, len(corpus_lines) - 10))
        out.append("\n".join(corpus_lines[k:k + rnd.randint(1, 8)]))
    return out + ["", " ", "\n", "a", "\ufb01", "\u0130stanbul \u03a3\u038a\u03a3", "x\u0301\u0302" * 5]


def variants(golden):
    def load(case):
        with open(os.path.join(golden, case, "tokenizer.json"), encoding="utf-8") as f:
            return json.load(f)
    out = {}
    for case in sorted(os.listdir(golden)):
        if os.path.exists(os.path.join(golden, case, "tokenizer.json")):
            out[case] = load(case)
    byte_level = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                  "use_regex": True}
    if "gpt2_bytelevel_bpe" in out:
        t = copy.deepcopy(out["gpt2_bytelevel_bpe"])
        t["pre_tokenizer"]["add_prefix_space"] = True
        t["post_processor"] = {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                               "trim_offsets": True, "add_prefix_space": True}
        t["added_tokens"].append({"id": 50257, "content": "<mask>", "single_word": False,
                                  "lstrip": True, "rstrip": False, "normalized": False,
                                  "special": True})
        out["v_roberta"] = t
        t = copy.deepcopy(out["gpt2_bytelevel_bpe"])
        t["post_processor"] = dict(byte_level, add_prefix_space=False)
        t["added_tokens"].append({"id": 50257, "content": "hello", "single_word": True,
                                  "lstrip": False, "rstrip": True, "normalized": True,
                                  "special": False})
        out["v_gpt2_trim"] = t
        t = copy.deepcopy(out["gpt2_bytelevel_bpe"])
        t["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "Lowercase"},
                                                               {"type": "Prepend", "prepend": " "}]}
        t["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, dict(byte_level, use_regex=False)]}
        t["decoder"] = {"type": "Sequence", "decoders": [
            byte_level, {"type": "Strip", "content": " ", "start": 2, "stop": 0}]}
        out["v_gpt2_lower"] = t
    if "mistral_sp_bpe_byte_fallback" in out:
        for scheme, split in (("first", False), ("always", True)):
            t = copy.deepcopy(out["mistral_sp_bpe_byte_fallback"])
            t["normalizer"] = None
            ms = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": scheme,
                  "split": split}
            t["pre_tokenizer"] = ms
            t["decoder"] = ms
            out["v_metaspace_%s" % scheme] = t
    if "bert_wordpiece_uncased" in out:
        t = copy.deepcopy(out["bert_wordpiece_uncased"])
        t["normalizer"] = {"type": "BertNormalizer", "clean_text": True,
                           "handle_chinese_chars": False, "strip_accents": None,
                           "lowercase": False}
        out["v_bert_cased"] = t
        t = copy.deepcopy(out["bert_wordpiece_uncased"])
        t["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "NFKD"}, {"type": "StripAccents"}, {"type": "Lowercase"}]}
        t["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Whitespace"}, {"type": "Digits", "individual_digits": True},
            {"type": "Punctuation", "behavior": "Contiguous"}]}
        for tok in t["added_tokens"]:
            tok["lstrip"] = tok["rstrip"] = tok["content"] == "[MASK]"
        out["v_bert_seq"] = t
        t = copy.deepcopy(out["bert_wordpiece_uncased"])
        t["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "NFD"}, {"type": "StripAccents"},
            {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": "[0-9]+"}, "content": "#"}]}
        t["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "Split", "pattern": {"String": "-"}, "behavior": "MergedWithPrevious",
             "invert": False}]}
        out["v_bert_strip"] = t
    if "unigram_kjv_jargon" in out:
        t = copy.deepcopy(out["unigram_kjv_jargon"])
        t["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Nmt"}, {"type": "NFKC"},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}
        t["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581",
                              "prepend_scheme": "first", "split": True}
        out["v_unigram_nmt"] = t
    if "llama3_bytelevel_bpe" in out:
        t = copy.deepcopy(out["llama3_bytelevel_bpe"])
        t["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "MergedWithNext"
        out["v_llama3_mwn"] = t
        t = copy.deepcopy(out["llama3_bytelevel_bpe"])
        t["pre_tokenizer"]["pretokenizers"][0].update(invert=True, behavior="Removed")
        t["pre_tokenizer"]["pretokenizers"].insert(
            0, {"type": "Punctuation", "behavior": "MergedWithNext"})
        out["v_llama3_inv"] = t
    return out


def main():
    dump, modules, golden, work = sys.argv[1:5]
    os.makedirs(work, exist_ok=True)
    corpus = []
    for case in sorted(os.listdir(golden)):
        p = os.path.join(golden, case, "cases.json")
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                corpus += [e["text"] for e in json.load(f) if e.get("kind") == "encode"]
    corpus = "\n".join(corpus).split("\n")
    texts_path = os.path.join(work, "texts.json")
    with open(texts_path, "w", encoding="utf-8") as f:
        json.dump(texts(corpus), f, ensure_ascii=False)
    here = os.path.dirname(os.path.abspath(__file__))
    failed = 0
    for name, tok in variants(golden).items():
        tok_path = os.path.join(work, name + ".json")
        with open(tok_path, "w", encoding="utf-8") as f:
            json.dump(tok, f, ensure_ascii=False)
        ref_path, ours_path = tok_path + ".ref", tok_path + ".ours"
        subprocess.run(["node", os.path.join(here, "crosscheck_ref.js"), modules, tok_path,
                        texts_path, ref_path], check=True)
        subprocess.run([dump, tok_path, texts_path, ours_path], check=True)
        with open(ref_path, encoding="utf-8") as f:
            ref = json.load(f)
        with open(ours_path, encoding="utf-8") as f:
            ours = json.load(f)
        bad = [(i, k) for i, (r, o) in enumerate(zip(ref, ours)) for k in r if r[k] != o.get(k)]
        status = "PASS" if not bad and len(ref) == len(ours) else "FAIL"
        failed += status == "FAIL"
        detail = "" if not bad else " first: text %d field %s" % bad[0]
        print("%s crosscheck %s (%d texts)%s" % (status, name, len(ref), detail))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
