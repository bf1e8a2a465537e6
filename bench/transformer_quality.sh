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
# best n-gram, and plots them beside the n-grams in OUT/quality.svg.
#
# usage: bench/transformer_quality.sh [path/to/autodidact] [corpus files...]
#        env: BUDGET=1800 THREADS=2 PRESETS="small base" OUT=dir
#             VALEVERY=100 (or one value per preset: "500 250") VALTOK=16384
#             LR= (peak learning rate, one per preset, the last serving
#             the rest; empty: 0.001 for base, 0.002 for the others)
#             BATCH= (sequences per step; empty: the program's default, 8)
#             PRECISION= (fp32 or bf16, passed to train; empty: the
#             program's default, fp32; bf16 needs AVX512-BF16)
#             WARMUP= (warmup steps, passed to train; empty: the program's
#             default, a twentieth of the steps fitted to the budget)
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
LR=${LR:-}
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

bpb() { "$AD" eval --quiet --json "$1" "$OUT/val.txt" | "$PY" -c 'import json,sys
d = json.load(sys.stdin)
t = d.get("total", d)
print("%.4f" % t["bits_per_byte"])'; }

best=
: >"$OUT/ngram.bpb"
for n in 2 3 4 5 6; do
	s0=$(date +%s.%N)
	"$AD" train ngram --quiet -t "$OUT/v.bpe" --order "$n" -o "$OUT/ng$n.model" "$OUT/train.txt"
	s1=$(date +%s.%N)
	b=$(bpb "$OUT/ng$n.model")
	echo "$n $b" >>"$OUT/ngram.bpb"
	echo "n-gram order $n: $b bits/byte (trained in $(echo "$s0 $s1" | awk '{ printf "%.1f", $2 - $1 }') s)"
	if [ -z "$best" ] || [ "$(echo "$b $best" | awk '{ print ($1 < $2) }')" = 1 ]; then best=$b; fi
done
echo "best n-gram: $best bits/byte"

# Bytes per held-out token, to turn the logged nats/token into bits/byte.
bpt=$("$AD" tokenize encode --stream -t "$OUT/v.bpe" "$OUT/val.txt" | wc -w | awk -v b="$(wc -c <"$OUT/val.txt")" '{ print b / $1 }')
i=0
for p in $PRESETS; do
	i=$((i + 1))
	ve=$(echo "$VALEVERY" | awk -v i=$i '{ print i <= NF ? $i : $NF }')
	lr=$(echo "$LR" | awk -v i=$i -v p="$p" '
		NF > 0 { print i <= NF ? $i : $NF; exit } END { if (NF == 0) print (p == "base" ? 0.001 : 0.002) }')
	"$AD" train transformer -t "$OUT/v.bpe" --preset "$p" --time-budget "$BUDGET" \
		--threads "$THREADS" --val "$OUT/val.txt" --val-every "$ve" \
		--val-tokens "$VALTOK" --lr "$lr" ${BATCH:+--batch "$BATCH"} \
		${PRECISION:+--precision "$PRECISION"} ${WARMUP:+--warmup "$WARMUP"} \
		--checkpoint-every 0 --quiet --log "$OUT/$p.csv" -o "$OUT/$p.model" "$OUT/train.txt"
	echo "transformer $p: held-out curve (seconds, bits/byte on $([ "$VALTOK" = 0 ] && echo "all of val.txt" || echo "the first $VALTOK tokens")):"
	awk -F, -v bpt="$bpt" -v best="$best" 'NR > 1 && $3 != "" {
		b = $3 / log(2) / bpt; printf "  %7.0f s  %.4f\n", $7, b
		if (!hit && b < best) { hit = $7 } }
		END { if (hit) printf "  beats the best n-gram after %.0f s\n", hit;
		      else print "  does not beat the best n-gram within the budget" }' "$OUT/$p.csv"
	bpb "$OUT/$p.model" >"$OUT/$p.eval"
	echo "transformer $p: all of val.txt: $(cat "$OUT/$p.eval") bits/byte"
done

# The plot: each transformer's logged held-out curve against wall-clock
# seconds, its 'eval' on all of val.txt at the end (a dot), and every
# n-gram order as a horizontal line (the best one solid).
"$PY" - "$OUT" "$bpt" "$BUDGET" $PRESETS <<'EOF'
import sys
out, bpt, budget, presets = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
ngram = [(int(o), float(b)) for o, b in (l.split() for l in open(out + "/ngram.bpb"))]
best = min(b for _, b in ngram)
curves = {}
for p in presets:
    pts = []
    for row in list(open(out + "/" + p + ".csv"))[1:]:
        f = row.strip().split(",")
        if f[2] != "":
            pts.append((float(f[6]), float(f[2]) / 0.6931471805599453 / bpt))
    curves[p] = (pts, float(open(out + "/" + p + ".eval").read()))
ys = [b for _, b in ngram] + [y for pts, e in curves.values() for _, y in pts] + \
     [e for _, e in curves.values()]
lo = max(min(ys), best - 0.6)
hi = min(max(ys), best + 1.2)
lo, hi = int(lo * 10) / 10, (int(hi * 10) + 1) / 10
W, L, R, T, B = 760, 60, 150, 20, 56 + 16 * len(presets)
H = 390 + B
def X(t): return L + (W - L - R) * t / budget
def Y(b): return T + (H - T - B) * (hi - min(max(b, lo), hi)) / (hi - lo)
colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
     'font-size="12">' % (W, H), '<rect width="100%" height="100%" fill="white"/>']
step = 300 if budget > 1200 else 60 if budget <= 600 else 120
t = 0
while t <= budget:
    o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (X(t), T, X(t), H - B))
    o.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (X(t), H - B + 16, t))
    t += step
y = lo
while y <= hi + 1e-9:
    o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (L, Y(y), W - R, Y(y)))
    o.append('<text x="%d" y="%.1f" text-anchor="end">%.1f</text>' % (L - 6, Y(y) + 4, y))
    y += 0.1
o.append('<text x="%.1f" y="%d" text-anchor="middle">training time (s, 2 threads)</text>'
         % ((L + W - R) / 2, H - B + 36))
o.append('<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">held-out '
         'bits per byte</text>' % ((T + H - B) / 2))
# The best order first, so that its label is the one kept where labels
# would overlap.
labelled = []
for n, b in sorted(ngram, key=lambda nb: (nb[1] != best, nb[0])):
    if lo <= b <= hi:
        o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#555" %s/>' % (L, Y(b), W - R,
                 Y(b), 'stroke-width="2"' if b == best else 'stroke-dasharray="4 4"'))
        if all(abs(Y(b) - y) >= 14 for y in labelled):
            labelled.append(Y(b))
            o.append('<text x="%d" y="%.1f" fill="#555">%d-gram %.3f</text>'
                     % (W - R + 6, Y(b) + 4, n, b))
for i, p in enumerate(presets):
    pts, e = curves[p]
    c = colors[i % len(colors)]
    o.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (c, " ".join(
        "%.1f,%.1f" % (X(t), Y(b)) for t, b in pts)))
    o.append('<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>' % (X(budget), Y(e), c))
    hit = next((t for t, b in pts if b < best), None)
    o.append('<text x="%d" y="%d" fill="%s">%s: %s; eval at the end %.3f</text>' % (L,
             H - B + 58 + 16 * i, c, p, "below the best n-gram after %.0f s" % hit if hit is not None
             else "not below the best n-gram", e))
o.append("</svg>")
open(out + "/quality.svg", "w").write("\n".join(o) + "\n")
EOF
echo "plot: $OUT/quality.svg"
