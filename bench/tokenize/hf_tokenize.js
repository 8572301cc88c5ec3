// HuggingFace tokenizers (Rust, via its Node binding @anush008/tokenizers) on the same chunks as
// tokenize_bench: one encode() at a time (single-threaded), best of `reps` passes.
// usage: node hf_tokenize.js <node_modules dir> <tokenizer.json> <text file> <chunk bytes> <reps>
const path = require('path');
const fs = require('fs');
const [modDir, tokPath, textPath, chunkArg, repsArg] = process.argv.slice(2);
const { Tokenizer } = require(path.join(modDir, '@anush008/tokenizers'));

function chunks(text, size) {  // same rule as the C++ side: cut after the newline past `size`
  const buf = Buffer.from(text, 'utf8');
  const out = [];
  let start = 0;
  while (start < buf.length) {
    let end = Math.min(start + size, buf.length);
    while (end < buf.length && buf[end - 1] !== 0x0a) end++;
    out.push(buf.subarray(start, end).toString('utf8'));
    start = end;
  }
  return out;
}

(async () => {
  const tok = Tokenizer.fromFile(tokPath);
  const text = fs.readFileSync(textPath, 'utf8');
  const parts = chunks(text, parseInt(chunkArg, 10));
  const bytes = Buffer.byteLength(text, 'utf8');
  let best = Infinity;
  let ntok = 0;
  for (let r = 0; r < parseInt(repsArg, 10); r++) {
    const t0 = process.hrtime.bigint();
    ntok = 0;
    for (const p of parts) {
      const enc = await tok.encode(p, null, { addSpecialTokens: true });
      ntok += enc.getIds().length;
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.min(best, s);
  }
  console.log(JSON.stringify({ mbps: bytes / 1e6 / best, seconds: best, tokens: ntok }));
})();
