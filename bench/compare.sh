#!/bin/sh
# Runs the PyTorch anchor and jacobi's benchall case by case, alternating, for
# ROUNDS rounds, so that both sides see the same load on a shared machine.
# Usage: bench/compare.sh OUTDIR [ROUNDS] (from the repository root).
# Writes OUTDIR/torch.jsonl and OUTDIR/jacobi.jsonl (every round appended)
# and OUTDIR/compare.md (each method at its fastest round).
set -eu
out=${1:?usage: bench/compare.sh OUTDIR [ROUNDS]}
rounds=${2:-2}
cases=${CASES:-../shared/bench/cases.json}
anchor=${ANCHOR:-../shared/bench/torch_anchor.py}
# PyTorch gets OpenBLAS's best kernels for the machine unless ANCHOR_ENV says
# otherwise (as env(1) arguments): for the AVX2 path on an AVX-512 machine,
# ANCHOR_ENV="OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2" with
# JACOBI_KERNEL=avx2.
anchor_env=${ANCHOR_ENV:--u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE}
mkdir -p "$out"
go build -o "$out/benchall" ./bench/cmd/benchall
: > "$out/torch.jsonl"
: > "$out/jacobi.jsonl"
names=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(c["name"] for c in json.load(open(sys.argv[1]))))' "$cases")
for r in $(seq "$rounds"); do
	for c in $names; do
		echo "round $r: $c" >&2
		env $anchor_env /usr/bin/python3 "$anchor" --cases "$cases" --only "$c" >> "$out/torch.jsonl"
		"$out/benchall" -cases "$cases" -only "$c" -json "$out/one.jsonl" > /dev/null
		cat "$out/one.jsonl" >> "$out/jacobi.jsonl"
	done
done
rm -f "$out/one.jsonl"
"$out/benchall" -cases "$cases" -results "$out/jacobi.jsonl" -torch "$out/torch.jsonl" > "$out/compare.md"
cat "$out/compare.md"
