# Usage: mkpairs.py DUMP.jsonl OUT_PAIRS.md KEY.json SEED
import json, random, sys
dump, out, key, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = random.Random(seed)
rows = [json.loads(l) for l in open(dump)]
keys = {}
parts = []
for i, r in enumerate(rows, 1):
    ours_first = rng.random() < 0.5
    a, b = (r["enhanced"], r["text"]) if ours_first else (r["text"], r["enhanced"])
    keys[i] = {"ours": "A" if ours_first else "B", "same": r["enhanced"].strip() == r["text"].strip()}
    parts.append(f"## Pair {i}\n\n### Candidate A\n\n````\n{a}\n````\n\n### Candidate B\n\n````\n{b}\n````\n")
open(out, "w").write("\n".join(parts))
json.dump(keys, open(key, "w"), indent=1)
print(len(rows), "pairs;", sum(k["same"] for k in keys.values()), "identical")
