#!/bin/sh
# compare.sh — the comparison engine end to end on a small synthetic corpus:
# the split, the table against independent recomputation, reuse, the
# report formats (rendered by Chromium when installed), interruption and
# bad input.
. "$AD_SRCDIR/tests/lib.sh"
cd "$T" || exit 1

# reliability_check HTML: in headless Chromium, every reliability bar
# (rect.rel) must be as tall, as a share of the plot's 0..1 axis, as the
# accuracy its title states (to 1%), and end where the axis says.
# Returns 1 when no Chromium is installed.
reliability_check() {
	chrome=$(command -v chromium || command -v chromium-browser || true)
	[ -n "$chrome" ] || return 1
	sed 's|</body>|<script>var r=document.querySelectorAll("rect.rel"),bad=0;for(var i=0;i<r.length;i++){var s=r[i].ownerSVGElement,H=s.viewBox.baseVal.height,p=H-84,b=r[i].getBBox(),a=parseFloat(r[i].textContent.replace(/.*accuracy /,""));if(!(Math.abs(b.height/p-a)<0.01\&\&Math.abs(b.y+b.height-(H-50))<0.5))bad++;}document.body.setAttribute("data-rel","bars="+r.length+" bad="+bad);</script></body>|' \
		"$1" >"$T/rel-check.html"
	timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run \
		--user-data-dir="$T/chrome" --dump-dom "file://$T/rel-check.html" >"$T/dom" 2>"$T/chrome.err"
	return 0
}

# interrupt_at DIR N PID: once the transformer's log in DIR has N lines (or
# after two minutes), interrupt the compare PID (SIGINT) and set rc to its
# exit status.
interrupt_at() {
	i=0
	while [ $i -lt 1200 ] && [ "$(cat "$1"/transformer-*.jsonl 2>/dev/null | wc -l)" -lt "$2" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -INT "$3"
	wait "$3"
	rc=$?
}

# silent FILE WHAT: WHAT (a run with --quiet) wrote nothing to FILE, its stderr.
silent() {
	if [ -s "$1" ]; then fail "$2 printed with --quiet: $(head -c 400 "$1")"; else ok; fi
}

run 0 "$AD" synth --quiet --seed 4 --sentences 4000 -o c.txt
run 0 "$AD" compare --quiet -o res --vocab-size 400 --orders 2..3 --preset tiny --steps 40 \
	-p "The nurse said that" c.txt
silent "$T/err" "compare (n-grams and a transformer)"
cp "$T/out" stdout1
has stdout1 "## Held-out results"
has stdout1 "The report is in res/report.md"
for f in report.md report.json report.html train.txt val.txt; do
	[ -s "res/$f" ] && ok || fail "compare wrote no res/$f"
done
sed '$d' stdout1 | sed '$d' >stdout1.md
# The Markdown on stdout is the report file.
same stdout1.md res/report.md

# The split: the training and held-out parts put together are the corpus,
# and the held-out part is the last tenth of it, by whole lines.
cat res/train.txt res/val.txt >joined.txt
same joined.txt c.txt
vl=$(wc -l <res/val.txt)
[ "$vl" -ge 390 ] && [ "$vl" -le 410 ] && ok || fail "held out $vl of 4000 lines, not about 400"

# Rows: uniform, unigram, 2-gram, 3-gram, transformer.
# (The best row is in bold.)
for m in uniform unigram 2-gram 3-gram 'transformer \(tiny\)'; do
	grep -Eq "^\| (\*\*)?$m(\*\*)? \|" res/report.md && ok || fail "no row for $m in the report"
done

# Independent recomputation of two rows.
vocab=$(ls res/vocab-*.txt)
V=$("$AD" tokenize info -t "$vocab" --json | sed -n 's/.*"ids": *\([0-9]*\).*/\1/p' | head -n 1)
n=$("$AD" tokenize encode --stream -t "$vocab" res/val.txt | wc -w)
b=$(wc -c <res/val.txt)
# uniform: every held-out token costs ln V nats.
want=$(awk -v n="$n" -v V="$V" -v b="$b" 'BEGIN { printf "%.4f", n * log(V) / log(2) / b }')
has res/report.md "| uniform | - | - | - | - | - | $(awk -v V="$V" 'BEGIN { printf "%.4f", log(V) }') | $(printf '%.2f' "$V") | $want |"
# uniform's calibration: it guesses id 0 (ties go to the lowest id) at
# confidence 1/V, so accuracy is the share of id 0 in the held-out tokens,
# ECE |accuracy - 1/V|, Brier 1 - 1/V; no temperature fits it better.
ucal=$("$AD" tokenize encode --stream -t "$vocab" res/val.txt | awk -v V="$V" '
	{ for (i = 1; i <= NF; i++) { n++; z += $i == 0 } }
	END { a = z / n; e = a - 1 / V; if (e < 0) e = -e
		printf "| %.4f | %.4f | %.4f | - |", a, e, 1 - 1 / V }')
has res/report.md "| $want $ucal"
has res/report.md "## Calibration"
# 3-gram: the same figure as eval gives for its model file.
m3=$(ls res/ngram3-*.bin)
run 0 "$AD" eval --quiet --json --calibration "$m3" res/val.txt
bpb=$(sed -n 's/.*"bits_per_byte": *\([0-9.]*\).*/\1/p' "$T/out" | head -n 1)
has res/report.md "$(awk -v x="$bpb" 'BEGIN { printf "%.4f |", x }')"
# The JSON report carries the same number, at full precision.
has res/report.json "\"bits_per_byte\": $bpb"
# And the whole evaluation as eval --json gives it, calibration included:
# the same keys, in the same order, with the same values (one writer for
# both). The object ends where its braces balance.
obj='on { d += gsub(/[{[]/, "&") - gsub(/[]}]/, "&"); if (d < 0) exit
	sub(/^ */, ""); sub(/,$/, ""); print }'
awk '/"total": \{/ { on = 1; next } '"$obj" "$T/out" >eval.want
awk '/"name": "3-gram"/ { m = 1 } m && /"heldout": \{/ { on = 1; next } '"$obj" res/report.json \
	>eval.got
has eval.want '"calibration": {'
has eval.want '"ece_bins": 15'
lines eval.want 132
same eval.want eval.got

# Each sample's tokens (text and the probability each was drawn with): their
# texts joined are the sample (one prompt here); every p is a probability;
# the HTML shades exactly these tokens.
awk '/"samples": \[/ { getline; s = $0; sub(/^ *"/, "", s); sub(/"$/, "", s); want[++n] = s }
	/"sample_tokens": \[/ { on = 1; got = "" }
	on && $1 == "\"text\":" { t = $0; sub(/^ *"text": "/, "", t); sub(/",$/, "", t); got = got t }
	on && $1 == "\"p\":" { k++; if (!($2 >= 0 && $2 <= 1)) bad++ }
	on && /^      \]/ { on = 0; if (got != want[n]) bad++ }
	END { print k, n, bad + 0 }' res/report.json >shades
read -r ntok nsamples bad <shades
[ "$bad" -eq 0 ] && [ "$nsamples" -eq 4 ] && [ "$ntok" -gt 0 ] && ok ||
	fail "sample_tokens: $ntok tokens, $nsamples samples, $bad mismatches"
[ "$(grep -o '<span class="tok"' res/report.html | wc -l)" -eq "$ntok" ] && ok ||
	fail "the HTML shades $(grep -o '<span class="tok"' res/report.html | wc -l) tokens, not $ntok"

# A second run reuses every model: nothing is trained again.
ls -l --time-style=+%s.%N res/*.bin >mtimes1
run 0 "$AD" compare --quiet -o res --vocab-size 400 --orders 2..3 --preset tiny --steps 40 \
	-p "The nurse said that" c.txt
ls -l --time-style=+%s.%N res/*.bin >mtimes2
same mtimes1 mtimes2
has res/report.md "(reused)"
grep -E '^\| (\*\*)?3-gram' stdout1 >row1
grep -E '^\| (\*\*)?3-gram' res/report.md | sed 's/ (reused)//' >row2
# Same held-out figures (the last three columns).
[ "$(awk -F'|' '{print $8 $9 $10}' row1)" = "$(awk -F'|' '{print $8 $9 $10}' row2)" ] && ok ||
	fail "reused 3-gram scores differently: $(cat row1) vs $(cat row2)"

# The HTML page: self-contained, two charts, rendered by a real browser.
grep -Eio '(src|href)=|url\(|<script|<link' res/report.html >ext
lines ext 0
# Two charts, and a reliability diagram for each of the five models.
svgs=$(grep -c '<svg' res/report.html)
[ "$svgs" -eq 7 ] && ok || fail "$svgs charts in report.html, expected 7"
if reliability_check "$T/res/report.html"; then
	# As many bars as non-empty bins in the JSON report.
	want=$(awk '/"count": [1-9]/ { n++ } END { print n + 0 }' res/report.json)
	has "$T/dom" "data-rel=\"bars=$want bad=0\""
fi
if ! render_check "$T/res/report.html"; then
	opened=$(grep -o '<svg' res/report.html | wc -l)
	closed=$(grep -o '</svg>' res/report.html | wc -l)
	[ "$opened" -eq "$closed" ] && ok || fail "unbalanced <svg> elements"
fi

# Fill in the blank, with both objectives: the man page's example as
# written there (a tiny causal and a tiny masked transformer beside a
# 3-gram, on the 4,000 synthetic lines it names), then the report's
# fill-in section.
"$AD" synth --quiet --sentences 4000 -o synth.txt
sed -n '/^\.SH EXAMPLES/,/^\.SH SEE ALSO/p' "$AD_SRCDIR/man/autodidact-compare.1" |
	sed 's/\\-/-/g' | grep '^autodidact .*synth\.txt' >examples
[ "$(wc -l <examples)" -eq 2 ] && ok || fail "not two synth.txt examples in autodidact-compare.1"
while read -r line; do
	line=${line#autodidact }
	eval "\"\$AD\" $line --quiet" >ex.out 2>ex.err && ok ||
		fail "man example failed: $line: $(cat ex.err)"
	# (One of them with --knn: its child knn build is quiet too.)
	silent ex.err "$line"
done <examples
has fill/report.md "## Fill in the blank"
has fill/report.md "| model | blanks | top-1 | top-5 | mean ln p |"
for m in unigram 3-gram 'transformer (tiny)' 'transformer (tiny, masked)'; do
	grep -F "| $m | " fill/report.md | grep -Eq '^\| [^|]+ \| [0-9]+ \| [01]\.[0-9]{4} \| [01]\.[0-9]{4} \| -[0-9.]+ \|$' &&
		ok || fail "no fill-in row for $m"
	grep -Fq -- "- **$m**: \`" fill/report.md && ok || fail "no fillers of the first blank for $m"
done
has fill/report.md "pseudo bits/byte (masked: not comparable)"
has fill/report.json '"fill_blanks": 20,'
# Every model but uniform has a fill object, each with the same example.
n=$(grep -c '"fill": {' fill/report.json)
[ "$n" -eq 4 ] && ok || fail "$n fill objects in report.json, not 4"
n=$(grep -A 1 '"example": {' fill/report.json | grep '"text": "' | sort -u | wc -l)
[ "$n" -eq 1 ] && ok || fail "the models' first blanks differ ($n texts)"
has fill/report.html "<h2>Fill in the blank</h2>"
# The masked model's training command says so; the causal one's does not.
grep -F -- '- transformer (tiny, masked): `' fill/report.md | grep -q -- '--objective masked' &&
	ok || fail "the masked transformer was not trained with --objective masked"
grep -F -- '- transformer (tiny): `' fill/report.md | grep -q -- '--objective' &&
	fail "the causal transformer got an --objective" || ok

# The nearest-neighbour LM (the man page's --knn example, run above): three
# rows on the second half of the held-out text, each checked against eval
# of a model file on that half, cut where the report says.
has knn/report.md "## Nearest-neighbour LM"
for row in '| transformer (tiny) alone |' '| p_kNN alone (λ = 1, k = ' '| kNN-LM (k = '; do
	has knn/report.md "$row"
done
has knn/report.html "<h2>Nearest-neighbour LM</h2>"
for key in '"knn": {' '"store": ' '"entries": ' '"k": ' '"temperature": ' '"lambda": ' \
	'"second_half_offset": ' '"test_bytes": ' '"bpb_transformer": ' '"bpb_knn": ' \
	'"knn_zero_tokens": ' '"bpb_mixture": ' '"gains": [' '"losses": ['; do
	has knn/report.json "$key"
done
# knn_get KEY: KEY's value in the report's knn object.
knn_get() {
	awk -v k="\"$1\":" '/^  "knn": \{/ { on = 1 } on && $1 == k { v = $2; sub(/,$/, "", v); print v; exit }' \
		knn/report.json
}
store=$(ls knn/knn-*.knn)
cut=$(knn_get second_half_offset)
tail -c +$((cut + 1)) knn/val.txt >half2.txt
[ "$(wc -c <half2.txt)" -eq "$(knn_get test_bytes)" ] && ok ||
	fail "the second half is $(wc -c <half2.txt) bytes, the report says $(knn_get test_bytes)"
# The store holds the first 3,000 training tokens (the training part has more).
[ "$("$AD" tokenize encode --stream -t "$(ls knn/vocab-*.txt)" knn/train.txt | wc -w)" -gt 3000 ] &&
	[ "$(knn_get entries)" -eq 3000 ] && ok || fail "the store holds $(knn_get entries) entries, not 3000"
# eval_bpb MODEL: bits per byte of eval on the second half, at full precision.
eval_bpb() {
	"$AD" eval --quiet --json "$1" half2.txt | sed -n 's/.*"bits_per_byte": *\([0-9.a-z]*\).*/\1/p' | head -n 1
}
# The transformer alone: eval of its file on that half.
bt=$(knn_get bpb_transformer)
[ "$(eval_bpb "$(ls knn/transformer-*.bin)")" = "$bt" ] && ok ||
	fail "transformer alone: report $bt, eval $(eval_bpb "$(ls knn/transformer-*.bin)")"
# lambda = 0: the store set to lambda 0 scores as the transformer alone.
"$AD" knn set --lambda 0 -o zero.knn "$store" >/dev/null
[ "$(eval_bpb zero.knn)" = "$bt" ] && ok || fail "lambda 0: eval $(eval_bpb zero.knn), report $bt"
# The interpolation: the store keeps the tuned parameters.
[ "$(eval_bpb "$store")" = "$(knn_get bpb_mixture)" ] && ok ||
	fail "kNN-LM: eval $(eval_bpb "$store"), report $(knn_get bpb_mixture)"
# p_kNN alone: lambda 1; infinite (null) exactly when some token got p = 0.
"$AD" knn set --lambda 1 -o one.knn "$store" >/dev/null
[ "$(eval_bpb one.knn)" = "$(knn_get bpb_knn)" ] && ok ||
	fail "p_kNN alone: eval $(eval_bpb one.knn), report $(knn_get bpb_knn)"
{ [ "$(knn_get knn_zero_tokens)" -gt 0 ] && [ "$(knn_get bpb_knn)" = null ] &&
	grep -F '| p_kNN alone (λ = 1' knn/report.md | grep -q '| ∞ | ∞ | ∞ ('; } ||
	{ [ "$(knn_get knn_zero_tokens)" -eq 0 ] && [ "$(knn_get bpb_knn)" != null ]; } && ok ||
	fail "p_kNN alone: $(knn_get knn_zero_tokens) tokens at p = 0, bits/byte $(knn_get bpb_knn)"
# The Markdown rows carry the JSON's figures.
grep -F '| transformer (tiny) alone |' knn/report.md | grep -qF "| $(printf '%.4f' "$bt") |" &&
	ok || fail "the Markdown's transformer-alone row is not $bt"
grep -F '| kNN-LM (k = ' knn/report.md | grep -qF "| $(printf '%.4f' "$(knn_get bpb_mixture)") |" &&
	ok || fail "the Markdown's kNN-LM row is not $(knn_get bpb_mixture)"
# The gains are sorted, most gained first, and the losses most lost first.
awk '/"gains": \[/ { on = "g" } /"losses": \[/ { on = "l" }
	on != "" && $1 == "\"nats\":" { v = $2 + 0; if (on == "g" && ng++ && v > pg) bad++
		if (on == "l" && nl++ && v < pl) bad++; if (on == "g") pg = v; else pl = v }
	END { print (ng > 0 && nl > 0 && bad == 0) ? "sorted" : "unsorted " ng " " nl " " bad }' \
	knn/report.json >gains
has gains sorted
# Reuse: the same run again rebuilds no store and gives the same figures.
ls -l --time-style=+%s.%N knn/*.knn >kmt1
grep -E '"bpb_|"k"|"lambda"' knn/report.json >kfig1
grep '^autodidact .*--knn' examples | sed 's/^autodidact //' >knnline
eval "\"\$AD\" $(cat knnline) --quiet" >/dev/null 2>knn.err && ok || fail "--knn again: $(cat knn.err)"
ls -l --time-style=+%s.%N knn/*.knn >kmt2
same kmt1 kmt2
grep -E '"bpb_|"k"|"lambda"' knn/report.json >kfig2
same kfig1 kfig2
has knn/report.json '"reused": true'
grep -q 'built in .* (reused)' knn/report.md && ok || fail "the reused store is not marked reused"
run 2 "$AD" compare --knn --no-transformer c.txt
has "$T/err" "--knn needs the causal transformer"
run 2 "$AD" compare --knn --objective masked c.txt
has "$T/err" "--knn needs the causal transformer"
run 2 "$AD" compare --objective causal,causal c.txt
has "$T/err" "--objective"
run 2 "$AD" compare --objective bidirectional c.txt
has "$T/err" "--objective"

# Interrupted while training the transformer: the n-grams are kept, the
# run fails cleanly, and the next run reuses them.
"$AD" compare --quiet -o out2 --vocab-size 400 --orders 2 --preset tiny --steps 100000 c.txt \
	>/dev/null 2>int.err &
pid=$!
i=0
while [ $i -lt 600 ] && ! ls out2/transformer-*.jsonl >/dev/null 2>&1; do
	sleep 0.1
	i=$((i + 1))
done
sleep 1
kill -INT $pid
wait $pid
rc=$?
[ "$rc" -eq 1 ] && ok || fail "interrupted compare exited $rc"
has int.err "interrupted"
ls out2/ngram2-*.bin >/dev/null 2>&1 && ok || fail "the finished 2-gram was not kept"
ls -A out2 | grep -q '\.tmp-' && fail "temporary files left: $(ls -A out2)" || ok

# Interrupted during the transformer (SIGINT once its log reaches step 200
# of 1000, which leaves about a second before step 1000 on a fast machine):
# the next run resumes it from the checkpoint written at
# the step where it stopped (the report gives that command, and the log
# keeps the first run's lines and goes on from the next step) and ends with
# the same bytes as a run never interrupted; its cost is both runs'.
"$AD" synth --quiet --seed 5 --sentences 1500 -o r.txt
rargs="--quiet --vocab-size 300 --orders 2 --preset tiny --steps 1000 --blanks 0 r.txt"
# shellcheck disable=SC2086
"$AD" compare -o rs $rargs >/dev/null 2>rs.err &
interrupt_at rs 200 $!
[ "$rc" -eq 1 ] && ok || fail "interrupted compare exited $rc: $(cat rs.err)"
tf=$(ls rs/transformer-*.bin)
[ -s "$tf.ckpt" ] && [ ! -e "$tf.run" ] && ok ||
	fail "after the interrupt: $(ls rs) (a model and its checkpoint, no .run, expected)"
log=${tf%.bin}.jsonl
cp "$log" log1
k=$(tail -n 1 log1 | sed -n 's/^{"step":\([0-9]*\),.*/\1/p')
[ "${k:-0}" -gt 0 ] && [ "$k" -lt 1000 ] && ok ||
	fail "interrupted at step '$k', not within the 1000 (the machine was too slow or too fast)"
# shellcheck disable=SC2086
run 0 "$AD" compare -o rs $rargs
silent "$T/err" "compare resuming a transformer"
# Every report marks the model trained in two runs, at the step its
# checkpoint had: the one its trainer said it stopped at (the first run's
# stderr), the first run's last log line.
has rs.err "interrupted at step $k of 1000: checkpoint written to $tf.ckpt "
grep -E '^\| (\*\*)?transformer \(tiny\)' rs/report.md | grep -qF " (resumed at step $k) |" &&
	ok || fail "the resumed row does not say so: $(grep -F 'transformer (tiny)' rs/report.md)"
has rs/report.md "\`, resumed at step $k from its checkpoint \`$tf.ckpt\`"
has rs/report.json "\"resumed_from_step\": $k,"
has rs/report.html "</code>, resumed at step $k from its checkpoint <code>$tf.ckpt</code>"
has rs/report.md "- transformer (tiny): \`autodidact train transformer --resume $tf.ckpt --steps 1000 "
head -n "$k" "$log" >log2
same log1 log2
awk -F'[:,]' '$2 != NR { bad++ } END { print NR, bad + 0 }' "$log" >steps
has steps "1000 0"
# shellcheck disable=SC2086
run 0 "$AD" compare -o rf $rargs
same "$tf" "rf/${tf#rs/}"
# Trained in one run: no report says resumed.
grep -q '(resumed at step\|, resumed at step' rf/report.md rf/report.html &&
	fail "a run never interrupted is marked resumed" || ok
grep -q '"resumed_from_step": [0-9]' rf/report.json &&
	fail "a run never interrupted has a resumed_from_step" || ok
has rf/report.json '"resumed_from_step": null'
# Tokens: 1000 steps x 8 sequences x 32 (tiny's context). Seconds: the
# checkpoint's training time (the log's elapsed at step k) plus the resumed
# run's, so at least the log's last elapsed (which counts on from step k).
has "$tf.run" "tokens 256000"
resumed_cost "$tf" "$log"
# Once finished, it is reused (not written again), not resumed again.
ls -l --time-style=+%s.%N "$tf" "$tf.run" >rmt1
# shellcheck disable=SC2086
run 0 "$AD" compare -o rs $rargs
ls -l --time-style=+%s.%N "$tf" "$tf.run" >rmt2
same rmt1 rmt2
has rs/report.md "- transformer (tiny): \`autodidact train transformer -t "
# Reused, it still says it was resumed (its .run file keeps the step).
has rs/report.md " (resumed at step $k, reused) |"
has rs/report.json "\"resumed_from_step\": $k,"

# Interrupted under a time budget: the budget is of both runs' training
# time together. The resumed trainer counts on from the checkpoint's
# training time and goes on fitting the schedule, so the log's elapsed time
# never falls, every step but the last ends within the 4 s, the last ends
# the schedule (resumed_budget, budget_end); the report marks it resumed at
# the checkpoint's step and its cost covers both runs (resumed_cost). The
# wall clock of the two runs is not bounded here: it adds start-up and
# scoring, and a machine paused under the test stretches it.
"$AD" compare -o rb --quiet --vocab-size 300 --orders 2 --preset tiny --time-budget 4 \
	--blanks 0 r.txt >/dev/null 2>rb.err &
interrupt_at rb 60 $!
[ "$rc" -eq 1 ] && ok || fail "compare interrupted under a budget exited $rc: $(cat rb.err)"
tb=$(ls rb/transformer-*.bin)
kb=$(tail -n 1 "${tb%.bin}.jsonl" | sed -n 's/^{"step":\([0-9]*\),.*/\1/p')
has rb.err "interrupted at step $kb of "
run 0 "$AD" compare -o rb --quiet --vocab-size 300 --orders 2 --preset tiny --time-budget 4 \
	--blanks 0 r.txt
has rb/report.md " (resumed at step $kb) |"
has rb/report.json "\"resumed_from_step\": $kb,"
# The log as train transformer's CSV (the same columns, in the same order).
{ echo "step,loss,val_loss,lr,grad_norm,tokens_per_s,elapsed"
	sed -e 's/"[a-z_]*"://g' -e 's/[{}]//g' -e 's/null//' "${tb%.bin}.jsonl"; } >rb.csv
budget_end rb.csv 4 && ok || fail "resumed under a budget: the schedule did not end with it: $(tail -n 1 rb.csv)"
resumed_budget rb.csv 4
resumed_cost "$tb" "${tb%.bin}.jsonl"

# The n-grams alone, quietly: nothing on stderr.
run 0 "$AD" compare --quiet -o ng --vocab-size 300 --orders 2 --no-transformer --blanks 5 r.txt
silent "$T/err" "compare --no-transformer"

# Bad input: clear errors, exit 1 or 2, no report.
printf 'one line only\n' >tiny.txt
run 1 "$AD" compare --quiet -o out3 --no-transformer tiny.txt
has "$T/err" "no training text is left after the split"
[ -e out3/report.md ] && fail "a failed compare wrote a report" || ok
run 1 "$AD" compare --quiet -o out3 no-such-file.txt
has "$T/err" "no-such-file.txt"
run 2 "$AD" compare --orders 0..9 c.txt
has "$T/err" "--orders"
run 2 "$AD" compare --steps 5 --time-budget 5 c.txt
finish
