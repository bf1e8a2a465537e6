#!/bin/sh
# nn.sh — 'autodidact train transformer' from the command line: training
# writes a model that eval and sample open through lm.h; the same run with
# another thread count, or stopped and resumed, writes the same bytes; bad
# configurations are refused before training with a message saying what to
# change; a damaged model is refused; SIGTERM checkpoints and exits; the
# masked objective trains, resumes and is refused by sample and eval; the
# options of --help and of the man page are the same.
. "$AD_SRCDIR/tests/lib.sh"
TT="$AD train transformer"

# A small corpus: 40 distinct lines, repeated.
i=0
while [ $i -lt 40 ]; do
	echo "line $i: the quick brown fox jumps over the lazy dog number $i."
	i=$((i + 1))
done >"$T/one.txt"
for k in 1 2 3 4 5; do cat "$T/one.txt"; done >"$T/c.txt"
common="--bytes --preset tiny --batch 4 --val-every 5 --val-tokens 512 --quiet"

# Train; the log has a header and one line per step; the model opens in eval.
run 0 $TT $common --steps 10 --log "$T/m.csv" -o "$T/m.model" "$T/c.txt"
lines "$T/m.csv" 11
has "$T/m.csv" "step,loss,val_loss,lr,grad_norm,tokens_per_s,elapsed"
[ -f "$T/m.model.ckpt" ] && ok || fail "no checkpoint beside the model"
run 0 "$AD" eval "$T/m.model" "$T/one.txt"
has "$T/out" "transformer"
run 0 "$AD" sample -n 20 --seed 2 --prompt "line" "$T/m.model"
# --timing: two lines on stderr per sample, the tokens it generated and the
# rate by position (ranges ending at token 16, 32, ... and at the last).
run 0 "$AD" sample --timing -c 2 -n 20 --seed 2 --prompt "line" "$T/m.model"
has "$T/err" "sample 1: 20 tokens in "
has "$T/err" "sample 2: 20 tokens in "
grep -Eq '^autodidact: sample 2: tokens/s by position: 2-16 [0-9.]+ 17-20 [0-9.]+, 2-20 [0-9.]+$' "$T/err" ||
	fail "sample --timing: no rates by position for sample 2"
lines "$T/err" 4
run 0 "$AD" sample --timing -n 1 --seed 2 --prompt "line" "$T/m.model"
lines "$T/err" 1

# JSON Lines log.
run 0 $TT $common --steps 3 --log "$T/m.jsonl" -o "$T/j.model" "$T/c.txt"
has "$T/m.jsonl" '{"step":3,"loss":'
lines "$T/m.jsonl" 3

# The thread count does not change a bit of the model (a shape on which
# every kernel runs on all threads).
wide="--bytes --layers 2 --heads 4 --dim 64 --context 64 --batch 4 --val-every 0 --quiet"
run 0 $TT $wide --steps 4 --threads 1 -o "$T/t1.model" "$T/c.txt"
run 0 $TT $wide --steps 4 --threads 2 -o "$T/t2.model" "$T/c.txt"
same "$T/t1.model" "$T/t2.model"
# Nor does the AVX2 kernel against the AVX-512 one (the same kernel twice
# on a CPU without AVX-512).
run 0 env AD_NN_KERNEL=avx2 $TT $wide --steps 4 --threads 2 -o "$T/t3.model" "$T/c.txt"
same "$T/t2.model" "$T/t3.model"
# AD_NN_KERNEL=portable forces the portable kernel on any CPU, and the
# first line of a run names the kernel in force.
run 0 env AD_NN_KERNEL=portable $TT --bytes --preset tiny --batch 2 --steps 1 --val-every 0 \
	-o "$T/k.model" "$T/c.txt"
has "$T/err" "kernel portable 6x16"

# Stopped at step 4 and resumed: the same model as 10 straight steps, and
# the same losses in the log.
run 0 $TT $common --steps 10 --stop-at 4 --log "$T/r.csv" -o "$T/r.model" "$T/c.txt"
run 0 $TT --resume "$T/r.model.ckpt" --quiet --val-every 5 --val-tokens 512 \
	--log "$T/r.csv" -o "$T/r.model" "$T/c.txt"
same "$T/m.model" "$T/r.model"
cut -d, -f1-3 "$T/m.csv" >"$T/m.cut"
cut -d, -f1-3 "$T/r.csv" >"$T/r.cut"
same "$T/m.cut" "$T/r.cut"

# A checkpoint refuses other text, and options it fixes.
echo "other text" >>"$T/o.txt"
cat "$T/c.txt" >>"$T/o.txt"
run 1 $TT --resume "$T/r.model.ckpt" --quiet -o "$T/x.model" "$T/o.txt"
has "$T/err" "differs from the one this checkpoint was trained on"
run 2 $TT --resume "$T/r.model.ckpt" --batch 2 -o "$T/x.model" "$T/c.txt"
has "$T/err" "--resume continues with"
run 2 $TT --resume "$T/r.model.ckpt" -t "$T/none.bpe" -o "$T/x.model" "$T/c.txt"
has "$T/err" "--resume continues with"
# Resumed into a new log: the header first; the summary counts this run's
# steps (2, not 12).
run 0 $TT --resume "$T/r.model.ckpt" --steps 12 --val-every 0 --log "$T/n.csv" \
	-o "$T/n.model" "$T/c.txt"
has "$T/n.csv" "step,loss,val_loss,lr,grad_norm,tokens_per_s,elapsed"
lines "$T/n.csv" 3
has "$T/err" "train: 2 steps in "

# A diverging run (learning rate 10) stops with status 1 and writes no
# model; the message says that no checkpoint was written, or names the
# last one and its step. A resume may lower the learning rate (and says
# that the run has changed; here from a sound checkpoint: this one was
# written a step or two before the loss blew up).
dv="--bytes --preset tiny --batch 4 --steps 200 --lr 10 --weight-decay 10 --warmup 0 \
	--val-every 0 --quiet"
run 1 $TT $dv --checkpoint-every 0 -o "$T/d.model" "$T/c.txt"
has "$T/err" "training diverged; no checkpoint was written before it"
[ -e "$T/d.model" ] && fail "a diverged run wrote a model" || ok
run 1 $TT $dv --checkpoint-every 2 -o "$T/d.model" "$T/c.txt"
has "$T/err" "training diverged; the last good checkpoint is $T/d.model.ckpt (step "
[ -e "$T/d.model" ] && fail "a diverged run wrote a model" || ok
run 0 $TT --resume "$T/m.model.ckpt" --lr 0.0001 --weight-decay 0 --steps 14 \
	--val-every 0 --log "$T/lr.csv" -o "$T/lr.model" "$T/c.txt"
has "$T/err" "at step 10 with lr 0.0001, min-lr 1e-05, warmup 0, weight decay 0, clip 1: changed"
awk -F, 'NR > 1 && ($4 > 0.0001 || $4 < 0.00001) { bad = 1 } END { exit bad || NR != 5 }' \
	"$T/lr.csv" && ok || fail "a resume with --lr 0.0001: $(cat "$T/lr.csv")"
run 1 $TT --resume "$T/m.model" -o "$T/x.model" "$T/c.txt"
has "$T/err" "not a checkpoint"

# Configuration errors, before any training.
run 2 $TT --bytes --heads 3 --dim 32 -o "$T/x.model" "$T/c.txt"
has "$T/err" "not divisible by 3 heads"
run 2 $TT --bytes --preset tiny --context 4096 -o "$T/x.model" "$T/one.txt"
has "$T/err" "shorter than the context of 4096"
run 2 $TT --bytes --preset base --batch 100000 -o "$T/x.model" "$T/c.txt"
has "$T/err" "lower --batch"
run 2 $TT --bytes --preset huge -o "$T/x.model" "$T/c.txt"
has "$T/err" "not a preset"
run 2 $TT --preset tiny -o "$T/x.model" "$T/c.txt"
has "$T/err" "give either -t VOCAB or --bytes"
[ -e "$T/x.model" ] && fail "a refused run wrote a model" || ok

# A damaged model is refused with the reason.
cp "$T/m.model" "$T/bad.model"
printf 'X' | dd of="$T/bad.model" bs=1 seek=300 conv=notrunc 2>/dev/null
run 1 "$AD" eval "$T/bad.model" "$T/one.txt"
has "$T/err" "checksum"

# SIGTERM and SIGINT (^C): the current step ends, a checkpoint and the model
# are written, the exit status is 1 and the message says how to resume.
for sig in TERM INT; do
	rm -f "$T/s.csv" "$T/s.model" "$T/s.model.ckpt"
	$TT --bytes --preset tiny --batch 4 --steps 1000000 --val-every 0 --checkpoint-every 0 \
		--log "$T/s.csv" --quiet -o "$T/s.model" "$T/c.txt" 2>"$T/s.err" &
	pid=$!
	wait_lines "$T/s.csv" 3 300
	kill -$sig $pid
	wait $pid
	st=$?
	[ $st -eq 1 ] && ok || fail "SIG$sig: exit status $st, expected 1"
	has "$T/s.err" "interrupted at step"
	has "$T/s.err" "--resume $T/s.model.ckpt"
	run 0 "$AD" eval "$T/s.model" "$T/one.txt"
done

# stall PID: one second in, the machine stalls PID for 1.5 s.
stall() {
	sleep 1
	kill -STOP "$1"
	sleep 1.5
	kill -CONT "$1"
}

# --time-budget without --steps: the cosine schedule ends with the budget
# even when the run slows down half-way (here it is stopped for 1.5 s of a
# 4 s budget; fitted once from the first steps, the schedule would still be
# far from its end when the budget runs out). The last step's rate is the
# final one (--min-lr, default lr / 10 = 0.0001), and no step starts after
# the budget. A test of timing: under 'make check-valgrind' it runs natively
# (AD_REAL_AUTODIDACT), as a step under memcheck takes a good part of the
# budget (the rest of the training loop runs under memcheck above).
"${AD_REAL_AUTODIDACT:-$AD}" train transformer --bytes --preset tiny --batch 4 \
	--time-budget 4 --val-every 0 --checkpoint-every 0 \
	--threads 1 --log "$T/b.csv" --quiet -o "$T/b.model" "$T/c.txt" 2>"$T/b.err" &
pid=$!
stall $pid
wait $pid
st=$?
[ $st -eq 0 ] && ok || fail "--time-budget: exit status $st"
# The schedule ended with the budget when the last step's rate is within
# 1% of the cosine's range above --min-lr (a schedule more than 6% short of
# its end is above that), or, for a short run, within its last step: the
# rate is taken before a step counts, so the last of n steps runs
# (1 - cos(pi/(n-1)))/2 of the range above the floor (0.7% at 20 steps, the
# count of a sanitizer build on a loaded machine; 3% at 10). The 1% also
# covers a warmup fitted to an early, longer estimate (it shortens the
# cosine: 0.02% at 124 steps), and the log's six-digit rounding.
budget_end "$T/b.csv" 4 && ok ||
	fail "--time-budget: the schedule did not end with the budget: $(tail -1 "$T/b.csv")"

# A budget is of the whole run's training time, the sessions before a resume
# included, and a resumed run goes on fitting the schedule to what is left
# of it. Stopped at step 2, before the first fit (its checkpoint plans no
# step count yet), and resumed with the same budget: the schedule is fitted
# in the second session and ends with the budget (unfitted, the rate stays
# at its peak). Stopped at step 8, after the first fit, and resumed on a
# machine that then stalls for 1.5 s of the 4: refitted, the schedule still
# ends with the budget (kept as fitted in the first session, it would be
# far from its end). In both logs the elapsed time counts on across the
# resume (resumed_budget).
bt="--bytes --preset tiny --batch 4 --time-budget 4 --val-every 0 --checkpoint-every 0 --threads 1"
for at in 2 8; do
	rm -f "$T/rb.csv"
	# shellcheck disable=SC2086
	"${AD_REAL_AUTODIDACT:-$AD}" train transformer $bt --stop-at $at --log "$T/rb.csv" \
		--quiet -o "$T/rb.model" "$T/c.txt" 2>"$T/rb.err" && ok ||
		fail "--time-budget --stop-at $at: exit status $?: $(cat "$T/rb.err")"
	lines "$T/rb.csv" $((at + 1))
	"${AD_REAL_AUTODIDACT:-$AD}" train transformer --resume "$T/rb.model.ckpt" --time-budget 4 \
		--val-every 0 --checkpoint-every 0 --threads 1 --log "$T/rb.csv" --quiet \
		-o "$T/rb.model" "$T/c.txt" 2>"$T/rb.err" &
	pid=$!
	[ $at -eq 8 ] && stall $pid
	wait $pid
	st=$?
	[ $st -eq 0 ] && ok || fail "--resume --time-budget (stopped at $at): exit $st: $(cat "$T/rb.err")"
	budget_end "$T/rb.csv" 4 && ok ||
		fail "resumed from step $at: the schedule did not end with the budget: $(tail -1 "$T/rb.csv")"
	resumed_budget "$T/rb.csv" 4
done

# The held-out text is scored at the end of training when the budget ends
# it before the step its schedule ends at (here --steps is far beyond the
# budget; --val-every 0: at the end only), and the final line reports it.
"${AD_REAL_AUTODIDACT:-$AD}" train transformer --bytes --preset tiny --batch 4 \
	--steps 1000000000 --time-budget 1 --val-every 0 --val-tokens 512 --checkpoint-every 0 \
	--threads 1 --log "$T/e.csv" -o "$T/e.model" "$T/c.txt" 2>"$T/e.err" &&
	ok || fail "--time-budget with --steps: exit status $?"
tail -1 "$T/e.csv" | awk -F, '{ exit !($3 > 0) }' && ok ||
	fail "--time-budget: no held-out loss at the last step: $(tail -1 "$T/e.csv")"
n=$(tail -1 "$T/e.csv" | cut -d, -f1)
has "$T/e.err" "step $n: held-out loss "
[ "$(awk -F, 'NR > 1 && $3 != ""' "$T/e.csv" | wc -l)" -eq 1 ] && ok ||
	fail "--val-every 0: held-out passes before the end: $(awk -F, 'NR > 1 && $3 != ""' "$T/e.csv")"

# --precision bf16 (in fp32 on a CPU without AVX512-BF16, which the first
# lines say): one thread and two write the same model; stopped and resumed,
# the model of a straight run; a resume keeps the precision and refuses
# another; an unknown one is a usage error.
run 0 $TT $wide --precision bf16 --steps 4 --threads 1 -o "$T/b1.model" "$T/c.txt"
run 0 $TT $wide --precision bf16 --steps 4 --threads 2 -o "$T/b2.model" "$T/c.txt"
same "$T/b1.model" "$T/b2.model"
run 0 $TT ${wide% --quiet} --precision bf16 --steps 4 --stop-at 2 -o "$T/b3.model" "$T/c.txt"
has "$T/err" "autodidact: precision bf16: "
run 0 $TT --resume "$T/b3.model.ckpt" --quiet --val-every 0 -o "$T/b3.model" "$T/c.txt"
same "$T/b1.model" "$T/b3.model"
run 2 $TT --resume "$T/b1.model.ckpt" --precision fp32 --steps 5 -o "$T/x.model" "$T/c.txt"
has "$T/err" "a resumed run keeps its precision"
run 2 $TT $wide --precision fp16 --steps 1 -o "$T/x.model" "$T/c.txt"
has "$T/err" "--precision: 'fp16' is not fp32 or bf16"

# The masked objective (BERT's): the run says so, the file keeps it, and the
# model is the same for any thread count and when stopped and resumed (the
# masks come from the run's seeded sampler). Commands that need next-token
# probabilities refuse it, saying why, and print nothing.
mk="--bytes --preset tiny --batch 4 --val-every 5 --val-tokens 512 --objective masked"
run 0 $TT $mk --steps 10 --threads 1 --log "$T/mk.csv" -o "$T/mk1.model" "$T/c.txt"
has "$T/err" "objective masked: 0.15 of the tokens hidden (80% MASK, 10% a random token, 10% kept), full attention"
has "$T/err" "held-out masked-token loss"
lines "$T/mk.csv" 11
run 0 $TT $mk --steps 10 --threads 2 --quiet -o "$T/mk2.model" "$T/c.txt"
same "$T/mk1.model" "$T/mk2.model"
run 0 $TT $mk --steps 10 --stop-at 4 --quiet -o "$T/mk3.model" "$T/c.txt"
run 0 $TT --resume "$T/mk3.model.ckpt" --val-every 5 --val-tokens 512 -o "$T/mk3.model" \
	"$T/c.txt"
has "$T/err" "objective masked: 0.15"
same "$T/mk1.model" "$T/mk3.model"
run 1 "$AD" sample -n 5 --seed 2 "$T/mk1.model"
has "$T/err" "a masked (bidirectional) model cannot generate text left to right"
lines "$T/err" 1
lines "$T/out" 0
run 1 "$AD" eval --calibration "$T/mk1.model" "$T/one.txt"
has "$T/err" "a masked model makes none"
lines "$T/out" 0
# eval scores a masked model by pseudo-log-likelihood, labelled as such and
# kept out of the likelihood keys; pseudo bits per byte = -PLL / ln 2 / bytes.
run 0 "$AD" eval "$T/mk1.model" "$T/one.txt"
has "$T/out" "masked objective"
has "$T/out" "NOT comparable with a causal model's"
has "$T/out" "pseudo bits/byte"
run 0 "$AD" eval --json --pll token "$T/mk1.model" "$T/one.txt"
has "$T/out" '"objective": "masked"'
has "$T/out" '"bits_per_byte": null'
has "$T/out" '"pseudo_log_likelihood": "token"'
has "$T/out" '"comparable_with_causal": false'
awk '/"total"/ { t = 1 } t && /"pll"/ { gsub(/[",]/, ""); pll = $2 }
	t && /"bytes"/ { gsub(/[",]/, ""); b = $2 }
	t && /"pseudo_bits_per_byte"/ { gsub(/[",]/, ""); p = $2 }
	END { d = -pll / log(2) / b - p; exit !(b > 0 && p > 0 && d < 1e-9 && d > -1e-9) }' \
	"$T/out" && ok || fail "pseudo bits per byte is not -PLL / ln 2 / bytes"
run 2 "$AD" eval --pll sentence "$T/mk1.model" "$T/one.txt"
has "$T/err" "--pll is word-l2r or token"
run 0 "$AD" eval "$T/m.model" "$T/one.txt"
has "$T/out" "causal objective"
# Whole words of a BPE vocabulary, and another rate.
run 0 "$AD" tokenize train --quiet --vocab-size 300 -o "$T/w.bpe" "$T/c.txt"
run 0 $TT -t "$T/w.bpe" --preset tiny --batch 4 --steps 3 --val-every 0 --objective masked \
	--whole-word --mask-rate 0.3 -o "$T/ww.model" "$T/c.txt"
has "$T/err" "objective masked: 0.3 of the words hidden"
# The man page's example of the masked objective, as written there.
sed -n '/^\.SH EXAMPLES/,/^\.SH SEE ALSO/p' "$AD_SRCDIR/man/autodidact-train-transformer.1" |
	sed 's/\\-/-/g' | awk '/\\e$/ { sub(/\\e$/, ""); printf "%s", $0; next } { print }' |
	grep -- '--objective masked' >"$T/example"
lines "$T/example" 1
cp "$T/c.txt" "$T/corpus.txt"
# shellcheck disable=SC2046
(cd "$T" && set -- $(cat "$T/example") && shift && "$AD" "$@" --quiet) && ok ||
	fail "man example failed: $(cat "$T/example")"
[ -f "$T/masked.model" ] && ok || fail "the man page's example wrote no masked.model"
# Options of the masked objective only with it; not on resume; no other objective.
run 2 $TT --bytes --preset tiny --mask-rate 0.2 -o "$T/x.model" "$T/c.txt"
has "$T/err" "options of --objective masked"
run 2 $TT --bytes --preset tiny --objective prefix -o "$T/x.model" "$T/c.txt"
has "$T/err" "'prefix' is not an objective"
run 2 $TT --resume "$T/mk3.model.ckpt" --objective causal -o "$T/x.model" "$T/c.txt"
has "$T/err" "--resume continues with the model, objective"
[ -e "$T/x.model" ] && fail "a refused run wrote a model" || ok

# --precision for eval, sample and probe: bf16 scores a transformer within
# 1e-3 of fp32's bits per byte (check_nn bounds each logit), the same bits
# on 1 and 2 threads; an unknown precision is a usage error and an n-gram
# model refuses bf16.
bpb() { sed -n 's/.*"bits_per_byte": *\([0-9.eE+-]*\).*/\1/p' "$1" | head -n 1; }
run 0 "$AD" eval --quiet --json --precision fp32 "$T/m.model" "$T/c.txt"
bpb "$T/out" >"$T/p32"
run 0 "$AD" eval --quiet --json --precision bf16 --threads 1 "$T/m.model" "$T/c.txt"
cp "$T/out" "$T/pb1"
run 0 "$AD" eval --quiet --json --precision bf16 --threads 2 "$T/m.model" "$T/c.txt"
same "$T/out" "$T/pb1"
bpb "$T/out" | paste "$T/p32" - | awk '{ d = $1 - $2; if (d < 0) d = -d; exit !(d <= 1e-3 * $1) }' &&
	ok || fail "bf16 bits per byte $(bpb "$T/out") not within 1e-3 of fp32's $(cat "$T/p32")"
run 0 "$AD" sample --precision bf16 -n 20 --seed 2 --prompt "line" "$T/m.model"
# probe: bf16 goes to the transformer, the n-gram model is scored as always.
run 0 "$AD" train ngram --quiet --bytes --order 2 --discount-fallback -o "$T/ng.model" "$T/c.txt"
run 0 "$AD" probe --quiet --format json --probes gender-occupation "$T/ng.model"
cp "$T/out" "$T/ng32"
run 0 "$AD" probe --quiet --format json --precision bf16 --probes gender-occupation "$T/ng.model"
same "$T/out" "$T/ng32"
run 0 "$AD" probe --quiet --precision bf16 --probes gender-occupation "$T/m.model" "$T/ng.model"
run 2 "$AD" eval --precision fp16 "$T/m.model" "$T/c.txt"
has "$T/err" "'fp16' is not fp32 or bf16"
run 1 "$AD" eval --precision bf16 "$T/ng.model" "$T/c.txt"
has "$T/err" "no matrix products"

# --help and the man page list the same options (OPTIONS section only).
run 0 $TT --help
grep -o -- '--[a-z][a-z0-9-]*' "$T/out" | sort -u >"$T/h"
sed -n '/^\.SH OPTIONS/,/^\.SH FILES/p' "$AD_SRCDIR/man/autodidact-train-transformer.1" |
	sed 's/\\-/-/g' | grep -o -- '--[a-z][a-z0-9-]*' | sort -u >"$T/p"
same "$T/h" "$T/p"
finish
