#!/bin/sh
# Runs, case by case for ROUNDS rounds, the PyTorch anchor on a float32 case
# and jacobi's benchall on the same case in float32 and in float64, so that
# all three see the same load on a shared machine.
# Usage: bench/compare_float32.sh OUTDIR [ROUNDS] (from the repository root).
# Writes OUTDIR/torch32.jsonl, OUTDIR/jacobi32.jsonl, OUTDIR/jacobi64.jsonl
# (every round appended) and OUTDIR/compare.md (each method at its fastest
# round: float32 against PyTorch float32, and float32 against float64).
set -eu
out=${1:?usage: bench/compare_float32.sh OUTDIR [ROUNDS]}
rounds=${2:-3}
cases32=${CASES32:-bench/cases_float32.json}
cases64=${CASES64:-../shared/bench/cases.json}
anchor=${ANCHOR:-../shared/bench/torch_anchor.py}
# PyTorch gets OpenBLAS's best kernels for the machine unless ANCHOR_ENV says
# otherwise (as env(1) arguments): for the AVX2 path on an AVX-512 machine,
# ANCHOR_ENV="OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2" with
# JACOBI_KERNEL=avx2.
anchor_env=${ANCHOR_ENV:--u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE}
mkdir -p "$out"
go build -o "$out/benchall" ./bench/cmd/benchall
: > "$out/torch32.jsonl"
: > "$out/jacobi32.jsonl"
: > "$out/jacobi64.jsonl"
names=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(c["name"] for c in json.load(open(sys.argv[1]))))' "$cases64")
for r in $(seq "$rounds"); do
	for c in $names; do
		echo "round $r: $c" >&2
		env $anchor_env /usr/bin/python3 "$anchor" --cases "$cases32" --only "${c}_f32" >> "$out/torch32.jsonl"
		"$out/benchall" -cases "$cases32" -only "${c}_f32" -json "$out/one.jsonl" > /dev/null
		cat "$out/one.jsonl" >> "$out/jacobi32.jsonl"
		"$out/benchall" -cases "$cases64" -only "$c" -methods none -json "$out/one.jsonl" > /dev/null
		cat "$out/one.jsonl" >> "$out/jacobi64.jsonl"
	done
done
rm -f "$out/one.jsonl"
"$out/benchall" -cases "$cases32" -results "$out/jacobi32.jsonl" -torch "$out/torch32.jsonl" -f64 "$out/jacobi64.jsonl" > "$out/compare.md"
cat "$out/compare.md"
