#!/bin/sh
# Times jacobi's default method at an earlier commit and at the working tree,
# case by case in turns for ROUNDS rounds, so both see the same load; prints
# each case's fastest round as a Markdown table of before/after ratios.
# Usage: bench/compare_commits.sh COMMIT OUTDIR [ROUNDS] (from the repository root).
set -eu
old=${1:?usage: bench/compare_commits.sh COMMIT OUTDIR [ROUNDS]}
out=${2:?usage: bench/compare_commits.sh COMMIT OUTDIR [ROUNDS]}
rounds=${3:-2}
cases=${CASES:-../shared/bench/cases.json}
mkdir -p "$out"
tree=$(mktemp -d)
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
git worktree add --detach "$tree" "$old" >/dev/null
(cd "$tree" && go build -o "$out/old_benchall" ./bench/cmd/benchall)
go build -o "$out/new_benchall" ./bench/cmd/benchall
: > "$out/old.jsonl"
: > "$out/new.jsonl"
names=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(c["name"] for c in json.load(open(sys.argv[1]))))' "$cases")
for r in $(seq "$rounds"); do
	for c in $names; do
		echo "round $r: $c" >&2
		"$out/old_benchall" -cases "$cases" -only "$c" -methods none -json "$out/one.jsonl" > /dev/null
		cat "$out/one.jsonl" >> "$out/old.jsonl"
		"$out/new_benchall" -cases "$cases" -only "$c" -methods none -json "$out/one.jsonl" > /dev/null
		cat "$out/one.jsonl" >> "$out/new.jsonl"
	done
done
rm -f "$out/one.jsonl"
/usr/bin/python3 - "$out" "$old" <<'PY'
import json, math, sys
out, old = sys.argv[1], sys.argv[2]
def fastest(path):
    best = {}
    for line in open(path):
        r = json.loads(line)
        if r.get("method") == "jacobi" and "seconds" in r:
            best[r["case"]] = min(best.get(r["case"], math.inf), r["seconds"])
    return best
before, after = fastest(out + "/old.jsonl"), fastest(out + "/new.jsonl")
print(f"| case | {old} s | now s | {old} / now |")
print("|---|--:|--:|--:|")
logs = []
for case, b in before.items():
    if case in after:
        logs.append(math.log(b / after[case]))
        print(f"| {case} | {b:.4g} | {after[case]:.4g} | {b / after[case]:.2f} |")
print(f"\nGeometric mean of the ratios over {len(logs)} cases: {math.exp(sum(logs) / len(logs)):.2f} (above 1: now faster).")
PY
