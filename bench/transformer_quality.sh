#!/bin/sh
# bench/transformer_quality.sh — the headline of the comparison: held-out
# bits per byte of the transformer against wall-clock training time, beside
# the best n-gram order on the same split of the same text and tokens.
#
# The corpus files are split once by the rule of 'train transformer
# --val-fraction 0.05' (the last 5% of each file, moved back to a line
# start), written to train.txt and val.txt; a 4,096-token BPE vocabulary is
# learned on train.txt; n-gram models of orders 2..6 are trained and
# evaluated ('autodidact eval', bits per byte); the 'small' (~1.3 M) and
# 'base' (~12 M) transformers train for BUDGET seconds each, logging the
# held-out loss on the first VALTOK tokens every VALEVERY steps, and are
# then evaluated on all of val.txt. Prints the curves (elapsed seconds,
# estimated bits per byte) and the first time each transformer beats the
# best n-gram.
#
# usage: bench/transformer_quality.sh [path/to/autodidact] [corpus files...]
#        env: BUDGET=1800 THREADS=2 PRESETS="small base" OUT=dir
#             VALEVERY=100 VALTOK=16384 LR=0.002 BATCH= (sequences per step;
#             empty: the program's default, 8)
set -eu
AD=${1:-./autodidact}
[ $# -gt 0 ] && shift
HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
	set -- "$HERE"/../../shared/corpora/*.txt
fi
BUDGET=${BUDGET:-1800}
THREADS=${THREADS:-2}
PRESETS=${PRESETS:-"small base"}
VALEVERY=${VALEVERY:-100}
VALTOK=${VALTOK:-16384}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# The split (the same rule as src/data/data.c, written out for both families).
"$PY" - "$OUT" "$@" <<'EOF'
import sys
out, files = sys.argv[1], sys.argv[2:]
tr, va = bytearray(), bytearray()
for f in files:
    d = open(f, "rb").read()
    n = len(d)
    held = max(1, int(0.05 * n + 0.5))
    cut = 0 if held >= n else n - held
    line = cut
    while line > 0 and d[line - 1] != 0x0A:
        line -= 1
    if cut - line <= held or cut - line <= 4096:
        cut = line
    else:
        k = 0
        while k < 3 and cut > 0 and (d[cut] & 0xC0) == 0x80:
            cut -= 1
            k += 1
    for part, dst in ((d[:cut], tr), (d[cut:], va)):
        if part:
            dst += part
            if not part.endswith(b"\n"):
                dst += b"\n"
open(out + "/train.txt", "wb").write(tr)
open(out + "/val.txt", "wb").write(va)
EOF
echo "corpus: $* -> train $(wc -c <"$OUT/train.txt") bytes, held out $(wc -c <"$OUT/val.txt") bytes"
"$AD" tokenize train --quiet --vocab-size 4096 -o "$OUT/v.bpe" "$OUT/train.txt"

bpb() { "$AD" eval --json "$1" "$OUT/val.txt" | "$PY" -c 'import json,sys
d = json.load(sys.stdin)
t = d.get("total", d)
print("%.4f" % t["bits_per_byte"])'; }

best=
for n in 2 3 4 5 6; do
	s0=$(date +%s.%N)
	"$AD" train ngram --quiet -t "$OUT/v.bpe" --order "$n" -o "$OUT/ng$n.model" "$OUT/train.txt"
	s1=$(date +%s.%N)
	b=$(bpb "$OUT/ng$n.model")
	echo "n-gram order $n: $b bits/byte (trained in $(echo "$s0 $s1" | awk '{ printf "%.1f", $2 - $1 }') s)"
	if [ -z "$best" ] || [ "$(echo "$b $best" | awk '{ print ($1 < $2) }')" = 1 ]; then best=$b; fi
done
echo "best n-gram: $best bits/byte"

# Bytes per held-out token, to turn the logged nats/token into bits/byte.
bpt=$("$AD" tokenize encode --stream -t "$OUT/v.bpe" "$OUT/val.txt" | wc -w | awk -v b="$(wc -c <"$OUT/val.txt")" '{ print b / $1 }')
for p in $PRESETS; do
	"$AD" train transformer -t "$OUT/v.bpe" --preset "$p" --time-budget "$BUDGET" \
		--threads "$THREADS" --val "$OUT/val.txt" --val-every "$VALEVERY" \
		--val-tokens "$VALTOK" --lr "${LR:-0.002}" ${BATCH:+--batch "$BATCH"} \
		--checkpoint-every 0 --quiet --log "$OUT/$p.csv" -o "$OUT/$p.model" "$OUT/train.txt"
	echo "transformer $p: held-out curve (seconds, bits/byte on the first $VALTOK tokens):"
	awk -F, -v bpt="$bpt" -v best="$best" 'NR > 1 && $3 != "" {
		b = $3 / log(2) / bpt; printf "  %7.0f s  %.4f\n", $7, b
		if (!hit && b < best) { hit = $7 } }
		END { if (hit) printf "  beats the best n-gram after %.0f s\n", hit;
		      else print "  does not beat the best n-gram within the budget" }' "$OUT/$p.csv"
	echo "transformer $p: all of val.txt: $(bpb "$OUT/$p.model") bits/byte"
done
