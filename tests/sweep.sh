#!/bin/sh
# sweep.sh — the sweep end to end on a small synthetic corpus: a tiny
# transformer grid (parameter counts by hand, curves read back from the
# logs), reuse by a wider grid and after a lost point and after an
# interruption (nothing retrained: file times and the JSON's counts), the
# random-feature threshold against the distinct-context count, each
# point's top-1 error against `eval --calibration` on its model file, and
# bad input refused before anything is written.
. "$AD_SRCDIR/tests/lib.sh"
cd "$T" || exit 1

# top1 JSON DIR: every point of the sweep report JSON (in DIR) has the
# top-1 errors `eval --calibration --json` gives its model file, on DIR's
# held-out text (val_err) and on its training text (train_err): 1 minus
# the accuracy there, an independent path (the CLI's eval, its own JSON).
top1() {
	python3 - "$AD" "$1" "$2" <<'PY' && ok || fail "$1: top-1 errors differ from eval --calibration's"
import json, subprocess, sys
ad, report, d = sys.argv[1:4]
pts = json.load(open(report))["points"]
bad = 0
for p in pts:
    for key, text in (("val_err", d + "/val.txt"), ("train_err", d + "/train-%g.txt" % p["fraction"])):
        out = subprocess.run([ad, "eval", "--quiet", "--json", "--calibration", p["path"], text],
                             check=True, capture_output=True, text=True).stdout
        acc = json.loads(out)["files"][0]["calibration"]["accuracy"]
        if p[key] is None or abs(p[key] - (1 - acc)) > 1e-12 or not 0 < p[key] < 1:
            print(p["name"], key, p[key], "eval --calibration: 1 -", acc)
            bad = 1
sys.exit(bad or len(pts) == 0)
PY
}

# jnum FILE KEY: the first number after "KEY": in FILE.
jnum() {
	sed -n "s/.*\"$2\": *\([-0-9.eE+]*\).*/\1/p" "$1" | head -n 1
}

run 0 "$AD" synth --quiet --seed 3 --sentences 600 -o c.txt

# 1. A tiny grid: two widths, 20 steps, a curve of 4 evaluations each.
run 0 "$AD" sweep --quiet -o sw --vocab-size 300 --widths 8,16 --context 16 --steps 20 \
	--curve-points 4 --eval-tokens 0 c.txt
cp "$T/out" stdout1
for f in sweep.md sweep.json sweep.html train.txt train-1.txt val.txt; do
	[ -s "sw/$f" ] && ok || fail "sweep wrote no sw/$f"
done
# The Markdown on stdout is the report file.
sed '$d' stdout1 | sed '$d' >stdout1.md
same stdout1.md sw/sweep.md
has sw/sweep.json '"trained": 2'
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' sw/sweep.json && ok ||
	fail "sw/sweep.json is not JSON"
has sw/sweep.json '"reused": 0'
has sw/sweep.md '| w8 d1 |'
has sw/sweep.md '| w16 d1 |'
# Parameters by hand: (V + 1) C + T C + L (12 C^2 + 13 C) + 2 C for V ids,
# context T, width C, depth L (embeddings, blocks, final LayerNorm).
vocab=$(ls sw/vocab-*.txt)
V=$("$AD" tokenize info -t "$vocab" --json | sed -n 's/.*"ids": *\([0-9]*\).*/\1/p' | head -n 1)
for C in 8 16; do
	want=$(awk -v V="$V" -v C="$C" 'BEGIN { printf "%d", (V + 1) * C + 16 * C + 12 * C * C + 13 * C + 2 * C }')
	has sw/sweep.md "| w$C d1 | $want |"
done
# Each curve: evaluations at steps 5, 10, 15, 20, read back from the log;
# the report's final losses are the log's last evaluation.
n=0
for log in sw/sweep-tf-*.jsonl; do
	n=$((n + 1))
	steps=$(grep -c '"train_loss"' "$log")
	[ "$steps" -eq 4 ] && ok || fail "$log has $steps evaluations, expected 4"
	last=$(grep '"train_loss"' "$log" | tail -n 1 | sed -n 's/.*"train_loss":\([0-9.]*\).*/\1/p')
	awk -v x="$last" 'BEGIN { exit !(x > 0 && x < 10) }' && ok || fail "$log: last training loss '$last'"
	# The JSON holds the same number (written with more digits).
	grep -q "\"train_loss\": $(echo "$last" | sed 's/0*$//')," sw/sweep.json && ok ||
		fail "sweep.json lacks the final training loss $last of $log"
done
[ "$n" -eq 2 ] && ok || fail "$n learning-curve logs, expected 2"
has sw/sweep.html '<svg'
has sw/sweep.html 'Held-out loss against steps'
has sw/sweep.html 'Held-out and training top-1 error against model size'
has sw/sweep.md '| training top-1 error | held-out top-1 error |'
top1 sw/sweep.json sw
if render_check "$T/sw/sweep.html"; then :; else has sw/sweep.html '<path'; fi

# Every training option at once (the child's command line at its longest):
# the command the report gives is the one that ran.
run 0 "$AD" sweep --quiet -o opts --vocab-size 300 --widths 8 --context 16 --steps 6 --lr 0.003 \
	--weight-decay 0.01 --label-noise 0.5 --curve-points 2 --json c.txt
has "$T/out" '--lr 0.0030000000000000001 --weight-decay 0.01 --label-noise 0.5 --steps 6'
has "$T/out" '"label_noise": 0.5'

# The trainer's --label-noise is part of what a checkpoint was trained on:
# a resume without it is refused, with it continues.
run 0 "$AD" train transformer --bytes --preset tiny --steps 12 --stop-at 6 --label-noise 0.3 \
	-o ln.bin -q c.txt
run 1 "$AD" train transformer --resume ln.bin.ckpt --steps 12 -o ln.bin -q c.txt
has "$T/err" "--label-noise"
run 0 "$AD" train transformer --resume ln.bin.ckpt --steps 12 --label-noise 0.3 -o ln.bin -q c.txt

# 2. A wider grid reuses both points: only w32 is trained, the old model
# files are not touched (none is newer than the stamp).
touch stamp
sleep 1
run 0 "$AD" sweep --quiet -o sw --vocab-size 300 --widths 8,16,32 --context 16 --steps 20 \
	--curve-points 4 --eval-tokens 0 --json c.txt
cp "$T/out" wide.json
has wide.json '"trained": 1'
has wide.json '"reused": 2'
newer=$(find sw -name 'sweep-tf-*.bin' -newer stamp | wc -l)
[ "$newer" -eq 1 ] && ok || fail "$newer model files were (re)written, expected only w32's"
# The same grid again: nothing trained.
run 0 "$AD" sweep --quiet -o sw --vocab-size 300 --widths 32,16,8 --context 16 --steps 20 \
	--curve-points 4 --eval-tokens 0 --json c.txt
has "$T/out" '"trained": 0'
has "$T/out" '"reused": 3'
# Each reused point reports the top-1 errors of the run that trained it,
# read from its .top1 file (not scored again: a figure written there by
# hand is the one reported).
cp "$T/out" again.json
python3 - wide.json again.json <<'PY' && ok || fail "a reused point's top-1 errors changed"
import json, sys
a, b = ({p["path"]: (p["val_err"], p["train_err"]) for p in json.load(open(f))["points"]}
        for f in sys.argv[1:3])
sys.exit(not (a == b and len(a) == 3 and all(v[0] is not None for v in a.values())))
PY
w8=$(sed -n 's/.*"path": "\(sw\/sweep-tf-[0-9a-f]*\.bin\)".*/\1/p' wide.json | sed -n 1p)
printf 'sweep-top1 v1\nval_err 0.125\ntrain_err 0.0625\n' >"$w8.top1"
run 0 "$AD" sweep --quiet -o sw --vocab-size 300 --widths 8,16,32 --context 16 --steps 20 \
	--curve-points 4 --eval-tokens 0 c.txt
has sw/sweep.md '| 0.0625 | 0.1250 |'
rm -f "$w8.top1"

# 3. A lost point (as if the sweep had been killed before it): that one is
# trained again, the others reused.
w16=$(sed -n 's/.*"path": "\(sw\/sweep-tf-[0-9a-f]*\.bin\)".*/\1/p' wide.json | sed -n 2p)
rm -f "$w16" "$w16.run"
run 0 "$AD" sweep --quiet -o sw --vocab-size 300 --widths 8,16,32 --context 16 --steps 20 \
	--curve-points 4 --eval-tokens 0 --json c.txt
has "$T/out" '"trained": 1'
has "$T/out" '"reused": 2'
[ -s "$w16" ] && ok || fail "the lost point $w16 was not trained again"

# 4. Interrupted: SIGINT while the first job (the larger; one at a time)
# trains stops the sweep without a report; the next run resumes that point
# from its checkpoint and finishes the grid.
"$AD" sweep --quiet -o si -j 1 --vocab-size 300 --widths 8,48 --context 16 --steps 1000 \
	--curve-points 4 c.txt >si.out 2>si.err &
pid=$!
i=0
while [ "$(ls si/sweep-tf-*.bin.ckpt 2>/dev/null | wc -l)" -lt 1 ] && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" -ne 0 ] && ok || fail "an interrupted sweep exited 0"
has si.err "interrupted"
[ ! -e si/sweep.json ] && ok || fail "an interrupted sweep wrote a report"
# The interrupted point: a checkpoint and no .run file.
sip=$(for f in si/sweep-tf-*.bin.ckpt; do [ -e "${f%.ckpt}.run" ] || echo "${f%.ckpt}"; done)
run 0 "$AD" sweep --quiet -o si -j 1 --vocab-size 300 --widths 8,48 --context 16 --steps 1000 \
	--curve-points 4 --json c.txt
has "$T/out" '"points_total": 2'
has "$T/out" "train transformer --resume $sip.ckpt"
# Its seconds are both runs'.
resumed_cost "$sip" "${sip%.bin}.jsonl"

# 5. Random features: the training loss reaches its floor (the fit is exact
# on every distinct context) from F = the distinct training contexts on, so
# the measured threshold is the smallest F in the grid at or above them.
# The limit of infinitely many features interpolates too: its training loss
# is the same floor (to 1e-6).
run 0 "$AD" sweep --quiet -o rf --model rf --vocab-size 300 --fractions 0.02 \
	--features 16,32,64,128,256,512 --rf-limit --json c.txt
cp "$T/out" rf.json
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' rf.json && ok || fail "rf.json is not JSON"
d=$(jnum rf.json distinct_contexts)
want=$(for F in 16 32 64 128 256 512; do [ "$F" -ge "$d" ] && echo "$F"; done | head -n 1)
[ -n "$want" ] && ok || fail "no F at or above the $d distinct contexts: adjust the test's grid"
has rf.json "\"size\": $want,"
floor=$(jnum rf.json train_loss_floor)
lim=$(sed -n '/"rf_limit"/,/]/p' rf.json | sed -n 's/.*"train_loss": *\([-0-9.eE+]*\).*/\1/p')
awk -v a="$floor" -v b="$lim" 'BEGIN { d = a - b; exit !(a > 0 && d < 1e-6 && d > -1e-6) }' && ok ||
	fail "the limit's training loss $lim is not the floor $floor"
"$AD" sweep --quiet -o rf --model rf --vocab-size 300 --fractions 0.02 \
	--features 16,32,64,128,256,512 c.txt >/dev/null 2>&1
has rf/sweep.html 'stroke-dasharray="3 3"'

# 6. An n-gram grid: each order's training loss is below its held-out loss.
run 0 "$AD" sweep --quiet -o ng --model ngram --vocab-size 300 --orders 1..3 --json c.txt
awk '/"train_loss": [0-9]/ { t = $2 + 0 } /"val_loss": [0-9]/ && t > 0 { if (!(t < $2 + 0)) bad = 1; n++; t = 0 }
	END { exit !(n == 3 && !bad) }' "$T/out" && ok || fail "n-gram training loss not below held-out loss"
top1 "$T/out" ng

# 7. Bad input: one line, a non-zero exit, and nothing written.
bad() {
	want=$1
	text=$2
	shift 2
	run "$want" "$AD" sweep --quiet -o badout "$@" c.txt
	has "$T/err" "$text"
	lines "$T/err" 1
	[ ! -e badout ] && ok || fail "'sweep $*' created its output directory"
}
bad 1 "the grid is empty" --widths ''
bad 1 "the grid is empty" --fractions ''
bad 2 "--label-noise: '1.5' is not a number in [0, 1]" --label-noise 1.5
bad 2 "--label-noise: '-0.1' is not a number in [0, 1]" --label-noise -0.1
bad 1 "more than 90% of the" --widths 8,16384 --depths 64
bad 1 "is not a multiple of --heads 2" --widths 9
bad 1 "--label-noise is for the transformer and random features" --model ngram --label-noise 0.1
bad 2 "--model: 'cnn' is not transformer, ngram or rf" --model cnn
bad 1 "--widths lists 16 twice" --widths 8,16,16
finish
