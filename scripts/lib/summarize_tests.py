#!/usr/bin/env python3
"""Prints one line "N passed, N failed, N skipped" from meson's testlog.json.

doctest executables report their test cases ("[doctest] test cases: T | P passed | F failed | S skipped");
the golden checker reports its cases ("N passed, N failed, N skipped" as its last line); any other test
counts as one case (exit 77 = skipped)."""
import json
import re
import sys

DOCTEST = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed\s*\|\s*(\d+) skipped")
GOLDEN = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$", re.M)


def main(path):
    passed = failed = skipped = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            entry = json.loads(line)
            out = (entry.get("stdout") or "") + (entry.get("stderr") or "")
            result = entry.get("result", "")
            m = DOCTEST.search(out)
            g = GOLDEN.findall(out)
            if m:
                p, fl, s = int(m.group(2)), int(m.group(3)), int(m.group(4))
                passed, failed, skipped = passed + p, failed + fl, skipped + s
                if result not in ("OK", "EXPECTEDFAIL") and fl == 0:
                    failed += 1  # crashed or timed out after its last report
            elif g:
                p, fl, s = g[-1]
                passed, failed, skipped = passed + int(p), failed + int(fl), skipped + int(s or 0)
                if result != "OK" and int(fl) == 0:
                    failed += 1
            elif result == "OK":
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
