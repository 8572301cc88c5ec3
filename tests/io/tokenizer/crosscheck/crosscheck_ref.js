// The HuggingFace tokenizers library (its Node binding) on the texts, as crosscheck_dump does.
//   node crosscheck_ref.js <node_modules> tokenizer.json texts.json out.json
const fs = require('fs');
const path = require('path');
const [modules, tokPath, textsPath, outPath] = process.argv.slice(2);
const { Tokenizer } = require(path.join(modules, '@anush008/tokenizers'));
(async () => {
  const texts = JSON.parse(fs.readFileSync(textsPath, 'utf8'));
  const tok = Tokenizer.fromFile(tokPath);
  const out = [];
  for (let i = 0; i < texts.length; i++) {
    const add = i % 3 !== 0;
    const pair = (i % 5 === 0) ? texts[(i * 7) % texts.length] : null;
    const e = await tok.encode(texts[i], pair, { addSpecialTokens: add });
    const ids = e.getIds();
    out.push({ ids, tokens: e.getTokens(), offsets: e.getOffsets(), type_ids: e.getTypeIds(),
      special: e.getSpecialTokensMask(),
      seq: e.getSequenceIds().map(x => (x === undefined || x === null) ? -1 : x),
      decoded: await tok.decode(ids, false), decoded_skip: await tok.decode(ids, true) });
  }
  fs.writeFileSync(outPath, JSON.stringify(out));
})();
