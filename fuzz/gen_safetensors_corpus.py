#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/safetensors/ (small valid and invalid safetensors files).

Standard library only; re-run after changing it: python3 fuzz/gen_safetensors_corpus.py
Valid files follow HuggingFace's layout (u64 LE header length, compact JSON header padded with
spaces to a multiple of 8, data section ordered by offsets).
"""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "safetensors")
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
         "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1,
         "U16": 2, "U32": 4, "U64": 8}


def image(header_text, data=b"", pad=True):
    h = header_text.encode("utf-8") if isinstance(header_text, str) else header_text
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def valid(tensors, metadata=None):
    """tensors: list of (name, dtype, shape); data bytes are a counting pattern."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        n = SIZES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + n]}
        data += bytes((len(data) + i) % 251 for i in range(n))
    return image(json.dumps(header, separators=(",", ":"), ensure_ascii=False), data)


def entry(name, dtype, shape, b, e):
    return '"%s":{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}' % (name, dtype, shape, b, e)


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {
        "valid_all_dtypes": valid([("t_" + d.lower(), d, [2, 3]) for d in SIZES if d != "U64"],
                                  {"format": "pt"}),
        "valid_lora_adapter": valid([("base_model.model.lin0.lora_A.weight", "F32", [2, 6]),
                                     ("base_model.model.lin0.lora_B.weight", "F32", [8, 2])],
                                    {"format": "pt"}),
        "valid_mixed_order": valid([("ids", "I64", [2, 3]), ("mask", "F64", [1]), ("w", "F32", [3]),
                                    ("b", "BF16", [2]), ("flag", "BOOL", [1])], {"format": "pt", "k": "v"}),
        "valid_empty": image("{}"),
        "valid_metadata_only": image('{"__metadata__":{"format":"pt"}}'),
        "valid_scalar_and_zero": valid([("s", "F32", []), ("z", "F16", [0, 4]), ("y", "U8", [3])]),
        "valid_escaped_names": valid([("a\"b\\c\n\u00e9", "U8", [2]), ("", "I8", [1])], {"n\t": "\u2603"}),
        "valid_fp8": valid([("e4", "F8_E4M3", [16]), ("e5", "F8_E5M2", [16])]),
        "valid_unpadded": image('{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', b"\x01\x02", False),
        "bad_overlap": image("{%s,%s}" % (entry("a", "U8", "[16]", 0, 16), entry("b", "U8", "[16]", 8, 24)),
                             bytes(24)),
        "bad_gap": image("{%s,%s}" % (entry("a", "U8", "[8]", 0, 8), entry("b", "U8", "[8]", 16, 24)), bytes(24)),
        "bad_size_mismatch": image("{%s}" % entry("w", "F32", "[2,2]", 0, 12), bytes(12)),
        "bad_huge_dims": image("{%s}" % entry("w", "F32", "[4294967296,4294967296]", 0, 0)),
        "bad_1e18": image("{%s}" % entry("w", "F32", "[1000000000000000000]", 0, 4), bytes(4)),
        "bad_negative_dim": image("{%s}" % entry("w", "U8", "[-1]", 0, 0)),
        "bad_duplicate": image("{%s,%s}" % (entry("w", "U8", "[1]", 0, 1), entry("w", "U8", "[1]", 1, 2)), bytes(2)),
        "bad_not_object": image("[1,2,3]"),
        "bad_non_utf8": image(b'{"w\xff":{}}'),
        "bad_trailing_garbage": image("{}xyz"),
        "bad_trailing_data": image("{%s}" % entry("a", "U8", "[4]", 0, 4), bytes(12)),
        "bad_wrong_types": image('{"w":{"dtype":5,"shape":"2","data_offsets":{"a":1}}}'),
        "bad_unknown_dtype": image("{%s}" % entry("w", "F128", "[1]", 0, 16), bytes(16)),
        "bad_header_too_long": struct.pack("<Q", 1 << 63) + b"{}",
        "bad_short": b"\x01\x02\x03",
        "bad_nul_padding": image(b"{}\x00\x00\x00\x00\x00\x00", pad=False),
        "index_valid": b'{"metadata":{"total_size":20},"weight_map":{"a":"model-00001.safetensors"}}',
        "index_escape": b'{"weight_map":{"a":"../x.safetensors","a":"b"}}',
    }
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    total = sum(len(v) for v in files.values())
    print("wrote %d files, %d bytes, to %s" % (len(files), total, OUT))


if __name__ == "__main__":
    main()
