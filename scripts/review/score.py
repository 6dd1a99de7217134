# Usage: score.py KEY.json VERDICTS.jsonl [VERDICTS2.jsonl ...]  (lines: {"pair": n, "better": "A"|"B"|"tie", "score_a": x, "score_b": y})
import json, sys
key = {int(k): v for k, v in json.load(open(sys.argv[1])).items()}
for f in sys.argv[2:]:
    w = t = l = 0; so = sp = 0.0; n = 0
    for line in open(f):
        line = line.strip()
        if not line: continue
        v = json.loads(line); k = key[int(v["pair"])]
        ours = k["ours"]; other = "B" if ours == "A" else "A"
        if v["better"] == ours: w += 1
        elif v["better"] == other: l += 1
        else: t += 1
        so += float(v["score_" + ours.lower()]); sp += float(v["score_" + other.lower()]); n += 1
    print(f"{f}: n={n} win={w} ({100*w/n:.0f}%) tie={t} ({100*t/n:.0f}%) loss={l} ({100*l/n:.0f}%) mean ours={so/n:.2f} plain={sp/n:.2f}")
