#!/bin/sh
# probe.sh — the probe command: usage errors and bad input, shipped sets by
# name, reproducibility, the three report formats (the HTML rendered in
# headless Chromium when it is installed), and validation on the synthetic
# corpus against its ground truth: with --bias 0.9 an n-gram model trained on
# it shows the injected association, of the size of the exact counts, and a
# small transformer shows it too, tracking the truth, and so does a masked
# transformer scored by the masked rules; with --bias 0.5 nothing is
# significant after correction, for any of them.
. "$AD_SRCDIR/tests/lib.sh"
AUTODIDACT_PROBES="$AD_SRCDIR/corpora/probes"
export AUTODIDACT_PROBES
D=$AD_TESTDATA/probe

# ---- usage errors: exit 2, one line --------------------------------------------
run 2 "$AD" probe
has "$T/err" "no probe set"
lines "$T/err" 1
run 2 "$AD" probe --probes age
has "$T/err" "no model"
run 2 "$AD" probe m --probes age --format pdf
has "$T/err" "--format: 'pdf' is not md, html or json"
run 2 "$AD" probe m --probes age --correction bonferroni
run 2 "$AD" probe m --probes age --alpha 2
run 2 "$AD" probe m --probes age --bootstrap 0

# ---- corpora and models ----------------------------------------------------------
"$AD" synth --quiet --bias 0.9 --seed 3 --sentences 20000 -o "$T/c9.txt" || fail "synth 0.9"
"$AD" synth --quiet --bias 0.5 --seed 4 --sentences 20000 -o "$T/c5.txt" || fail "synth 0.5"
"$AD" train ngram --quiet --words --order 5 -o "$T/n9" "$T/c9.txt" || fail "train n-gram 0.9"
"$AD" train ngram --quiet --words --order 5 -o "$T/n5" "$T/c5.txt" || fail "train n-gram 0.5"

# ---- bad input: exit 1, one line naming the file and line; old report kept --------
printf ',sent_more,sent_less,stereo_antistereo,bias_type\n0,"a,b,stereo,x\n' >"$T/bad.csv"
echo "an old report" >"$T/old.md"
run 1 "$AD" probe "$T/n9" --probes "$T/bad.csv" -o "$T/old.md"
lines "$T/err" 1
has "$T/err" "autodidact: $T/bad.csv:2: a quoted field is never closed"
has "$T/old.md" "an old report"
printf '# autodidact probes 1\n[sets]\nx\ta b\n[weat]\nt\tx\tx\tx\tnope\n' >"$T/bad.probe"
run 1 "$AD" probe "$T/n9" --probes "$T/bad.probe"
has "$T/err" "bad.probe:5: no set named 'nope'"
printf 'just some text\n' >"$T/what.txt"
run 1 "$AD" probe "$T/n9" --probes "$T/what.txt"
has "$T/err" "what.txt:1: unknown probe file format"
run 1 "$AD" probe "$T/n9" --probes no-such-set
has "$T/err" "no-such-set: no such file, and no shipped probe set of that name"
has "$T/err" "gender-occupation"
run 1 "$AD" probe "$T/c9.txt" --probes age
has "$T/err" "not a model"
run 1 "$AD" probe "$T/n9" --probes age --corpus "$T/missing.txt"
has "$T/err" "missing.txt"

# ---- the corpus side reproduces the ground truth exactly (window 0) ---------------
run 0 "$AD" probe --quiet --probes "$D/synth.probe" --corpus "$T/c9.txt" --window 0 -o "$T/c9.md"
# Markdown per-target rows: | word | group | freq | male / female | score |
awk -F' *[|] *' '$3 ~ /-stereotyped$|^neutral$/ && $5 ~ / \/ / { split($5, a, " / "); print $2, a[1], a[2] }' \
	"$T/c9.md" | sort >"$T/near"
awk -F'\t' 'NR > 3 { print $1, $4, $5 }' "$T/c9.txt.truth.tsv" | sort >"$T/truth"
lines "$T/near" 28
same "$T/near" "$T/truth"

# ---- bias 0.9: the n-gram shows the injected association -------------------------
run 0 "$AD" probe "$T/n9" --quiet --probes "$D/synth.probe" --corpus "$T/c9.txt" --window 0 \
	-o "$T/n9.md"
# stereo_groups MODEL: the model's two stereotyped group rows of MODEL.md
# into $T/groups. Group rows: | group | source | n | mean | CI | p | p adj |
# minus neutral | vs corpus |.
stereo_groups() {
	awk -F' *[|] *' -v m="$1" '$3 == m && ($2 == "male-stereotyped" || $2 == "female-stereotyped")' \
		"$1.md" >"$T/groups"
	lines "$T/groups" 2
}
stereo_groups "$T/n9"
# The association is the contrast with the neutral group ($9); $10: vs corpus.
awk -F' *[|] *' '{ sig = $9 ~ /\*/; ok = ($2 == "male-stereotyped") ? $5 > 1 && $9 + 0 > 1 : $5 < -1 && $9 + 0 < -1;
	if (!sig || !ok) { print "group " $2 ": mean " $5 ", minus neutral " $9; bad = 1 } } END { exit bad }' \
	"$T/groups" && ok || fail "n-gram at bias 0.9: a stereotyped group is not significant in the injected direction: $(cat "$T/groups")"
# ... and mirrors the corpus: the group's model − corpus is not significant.
awk -F' *[|] *' '$10 ~ /\*/ { bad = 1 } END { exit bad }' "$T/groups" && ok ||
	fail "n-gram at bias 0.9 differs significantly from its corpus: $(cat "$T/groups")"
# Per occupation: the n-gram's score is within sampling error of the exact
# counts. Its three templates see only the lines with those exact contexts:
# n lines give a log odds with standard error sqrt(1/(n p) + 1/(n (1 - p))),
# p the occupation's true share; the mean of three has a third of the
# summed variances. Allow 4 standard errors and the corpus prior (|prior| < 0.1).
for o in $(awk -F'\t' 'NR > 3 && $2 != "none" { print $1 }' "$T/c9.txt.truth.tsv"); do
	n1=$(grep -ci "the $o said that" "$T/c9.txt")
	n2=$(grep -ci "the $o finished" "$T/c9.txt")
	n3=$(grep -ci "the $o looked at" "$T/c9.txt")
	model=$(awk -F' *[|] *' -v o="$o" '$2 == o { split($7, a, " "); print a[1] }' "$T/n9.md")
	awk -F'\t' -v o="$o" -v n1="$n1" -v n2="$n2" -v n3="$n3" -v model="$model" '
	$1 == o { p = $4 / ($4 + $5); t = log($4 / $5);
		v = 0; split(n1 " " n2 " " n3, n, " ");
		for (i = 1; i <= 3; i++) v += 1 / (n[i] * p) + 1 / (n[i] * (1 - p));
		se = sqrt(v) / 3; d = model - t; if (d < 0) d = -d;
		if (model == "" || d > 4 * se + 0.1) { printf "%s: model %s, truth %.3f, se %.3f\n", o, model, t, se; exit 1 } }' \
		"$T/c9.txt.truth.tsv" >"$T/dev" && ok || fail "n-gram template score off the truth: $(cat "$T/dev")"
done
# The same through a model over token ids (BPE), where a word is cut
# differently inside a sentence (" nurse") than alone ("nurse"): every
# target is scored, and both stereotyped groups are significant in the
# injected direction.
run 0 "$AD" tokenize train --quiet --vocab-size 600 -o "$T/v9" "$T/c9.txt"
run 0 "$AD" train ngram --quiet -t "$T/v9" --order 5 -o "$T/t9" "$T/c9.txt"
run 0 "$AD" probe "$T/t9" --quiet --probes "$D/synth.probe" --corpus "$T/c9.txt" --window 0 \
	-o "$T/t9.md"
grep -q "unknown to the model" "$T/t9.md" && fail "token n-gram: targets left unscored" || ok
stereo_groups "$T/t9"
awk -F' *[|] *' '{ sig = $9 ~ /\*/; ok = ($2 == "male-stereotyped") ? $9 + 0 > 0.5 : $9 + 0 < -0.5;
	if (!sig || !ok) bad = 1 } END { exit bad }' "$T/groups" && ok ||
	fail "token n-gram at bias 0.9: $(cat "$T/groups")"
# The transformer learns it too: a one-layer model trained for 1500 steps
# (about 7 s on one core) on token ids of a vocabulary of 800, where each
# occupation is one token (over the 600 above it learns nothing in so few
# steps). Both stereotyped groups differ significantly from the neutral one
# in the injected direction, and its per-occupation scores rise with the
# truth's log odds (Pearson r over the 28 occupations).
# Under 'make check-valgrind' these two trainings run natively
# (AD_REAL_AUTODIDACT): 1500 steps under memcheck take hours, and transformer
# training is checked under memcheck by nn.sh and torch.sh; the probes of the
# models still run under memcheck.
tr_small() {
	"${AD_REAL_AUTODIDACT:-$AD}" train transformer --quiet --threads 2 --layers 1 --heads 2 --dim 32 --context 32 \
		--batch 16 --steps 1500 --lr 0.01 --val-every 0 "$@"
}
run 0 "$AD" tokenize train --quiet --vocab-size 800 -o "$T/w9" "$T/c9.txt"
run 0 tr_small -t "$T/w9" -o "$T/g9" "$T/c9.txt"
run 0 "$AD" probe "$T/g9" --quiet --probes "$D/synth.probe" --corpus "$T/c9.txt" --window 0 \
	-o "$T/g9.md"
stereo_groups "$T/g9"
awk -F' *[|] *' '{ sig = $9 ~ /\*/; ok = ($2 == "male-stereotyped") ? $9 + 0 > 0.3 : $9 + 0 < -0.3;
	if (!sig || !ok) bad = 1 } END { exit bad }' "$T/groups" && ok ||
	fail "transformer at bias 0.9: $(cat "$T/groups")"
# tracks_truth MODEL: whether MODEL.md's per-occupation template scores rise
# with the truth's log odds (Pearson r > 0.8 over the 28 occupations; r in $T/r).
tracks_truth() {
	awk -F' *[|] *' '$3 ~ /-stereotyped$|^neutral$/ && $5 ~ / \/ / { split($7, a, " "); print $2, a[1] }' \
		"$1.md" | sort >"$T/scores"
	awk -F'\t' 'NR > 3 { print $1, log($4 / $5) }' "$T/c9.txt.truth.tsv" | sort | join - "$T/scores" |
		awk '{ n++; sx += $2; sy += $3; sxx += $2 * $2; syy += $3 * $3; sxy += $2 * $3 }
		END { r = (n * sxy - sx * sy) / sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
		      printf "r = %.3f over %d occupations\n", r, n; exit !(n == 28 && r > 0.8) }' >"$T/r"
}
tracks_truth "$T/g9" && ok || fail "transformer scores do not track the truth: $(cat "$T/r")"
# Paired sentences: the headline prefers the stereotype, significantly.
awk -F' *[|] *' -v m="$T/n9" '$2 == m && $3 == "all" { print; exit }' "$T/n9.md" >"$T/pairs"
awk -F' *[|] *' '{ exit !($5 > 75 && $8 ~ /\*/) }' "$T/pairs" && ok ||
	fail "n-gram at bias 0.9: pairs not significant: $(cat "$T/pairs")"
# The corpus's own PPMI vectors show the association in WEAT.
grep '^| occupations: .* | corpus |' "$T/n9.md" >"$T/weat"
awk -F' *[|] *' '{ exit !($6 > 1 && $9 ~ /\*/) }' "$T/weat" && ok ||
	fail "corpus WEAT at bias 0.9: $(cat "$T/weat")"

# ---- bias 0.5: nothing significant after correction ------------------------------
run 0 "$AD" probe "$T/n5" --quiet --probes "$D/synth.probe" --corpus "$T/c5.txt" --window 0 \
	-o "$T/n5.md"
grep '^|.*\*' "$T/n5.md" >"$T/sig5"
lines "$T/sig5" 0
run 0 "$AD" tokenize train --quiet --vocab-size 800 -o "$T/w5" "$T/c5.txt"
run 0 tr_small -t "$T/w5" -o "$T/g5" "$T/c5.txt"
run 0 "$AD" probe "$T/g5" --quiet --probes "$D/synth.probe" --corpus "$T/c5.txt" --window 0 \
	-o "$T/g5.md"
grep '^|.*\*' "$T/g5.md" >"$T/gsig5"
lines "$T/gsig5" 0

# ---- masked models: the probes as they were designed -------------------------------
# A masked transformer (train transformer --objective masked) is scored by
# its pseudo-log-likelihood (pairs: the shared tokens as CrowS-Pairs'
# metric.py aligns them) and by Kurita et al.'s increased log probability
# (templates, the target masked as the prior). A masked model learns the
# association far more slowly than a causal one: only the hidden 40% of the
# tokens carry loss, and a [MASK] query is the same vector at every hidden
# position, so one layer of 2 heads and width 32 at 1500 steps (the causal
# model's recipe above) learns nothing of it, nor 8000 steps with 2 heads;
# one layer of 4 heads and width 64, 8000 steps over windows of 16 tokens
# (about 30 s on one core) does: both stereotyped groups about 0.8 nats from
# the neutral one, r = 0.98 against the truth.
# AD_TRAIN_NATIVE (quickstart sets it for build-asan/ to build/'s program)
# trains this model natively too: 8000 steps take over 15 minutes under
# ASan, and masked training is checked under ASan by nn.sh and check_nn;
# the probe of the model still runs under the sanitizers.
tr_masked() {
	"${AD_TRAIN_NATIVE:-${AD_REAL_AUTODIDACT:-$AD}}" train transformer --quiet --objective masked --threads 2 \
		--layers 1 --heads 4 --dim 64 --context 16 --batch 32 --steps 8000 --lr 0.01 \
		--mask-rate 0.4 --val-every 0 "$@"
}
run 0 tr_masked -t "$T/w9" -o "$T/m9" "$T/c9.txt"
run 0 "$AD" probe "$T/m9" --quiet --probes "$D/synth.probe" --corpus "$T/c9.txt" --window 0 \
	-o "$T/m9.md"
# The report says which rule scored it, and its headline is the shared-token PLL.
has "$T/m9.md" "(masked PLL of the shared tokens, ties half)"
has "$T/m9.md" "| masked: pairs by pseudo-log-likelihood of the shared tokens (Nangia et al. 2020)"
# Templates: both stereotyped groups differ significantly from the neutral
# one in the injected direction, and the per-occupation scores rise with the
# truth's log odds.
stereo_groups "$T/m9"
awk -F' *[|] *' '{ sig = $9 ~ /\*/; ok = ($2 == "male-stereotyped") ? $9 + 0 > 0 : $9 + 0 < 0;
	if (!sig || !ok) bad = 1 } END { exit bad }' "$T/groups" && ok ||
	fail "masked transformer at bias 0.9: $(cat "$T/groups")"
tracks_truth "$T/m9" && ok || fail "masked transformer scores do not track the truth: $(cat "$T/r")"
# WEAT on the masked model's input embeddings is scored (a number, not a reason).
awk -F' *[|] *' -v m="$T/m9" '$2 ~ /^occupations/ && $3 == m { print $6 }' "$T/m9.md" >"$T/mweat"
lines "$T/mweat" 1
grep -Eq '^-?[0-9]+[.][0-9]+' "$T/mweat" && ok || fail "masked WEAT not scored: $(cat "$T/mweat")"
# The CrowS-Pairs CSV: metric.py's table scores it by the masked PLL.
run 0 "$AD" probe "$T/m9" --quiet --probes "$D/crows-sample.csv" -o "$T/mcrows.md"
has "$T/mcrows.md" "| masked PLL of the shared tokens (Nangia et al. 2020) |"
# Bias 0.5: nothing significant after correction.
run 0 tr_masked -t "$T/w5" -o "$T/m5" "$T/c5.txt"
run 0 "$AD" probe "$T/m5" --quiet --probes "$D/synth.probe" --corpus "$T/c5.txt" --window 0 \
	-o "$T/m5.md"
grep '^|.*\*' "$T/m5.md" >"$T/msig5"
lines "$T/msig5" 0

# ---- the shipped sets, by name, in every format ------------------------------------
run 0 "$AD" probe "$T/n9" --quiet --probes gender-occupation --probes gender-family-career \
	--probes age --probes weat-classic --corpus "$T/c9.txt" -o "$T/all.json"
has "$T/all.json" '"format": "autodidact probe report 1"'
has "$T/all.json" '"name": "weat-classic"'
has "$T/all.json" '"xxh64": '
has "$T/all.json" '"seed": 1'
has "$T/all.json" '"stream": '
has "$T/all.json" "never seen in the corpus: "
# The published CrowS-Pairs rows: pairs whose changed words the corpus lacks
# (4 of 5 here) are still scored by a model over subword tokens (the BPE
# n-gram scores 4; the fifth has a byte it never saw), and marked as having
# no corpus comparison. The word n-gram scores 3: in 2 pairs every changed
# word is <unk> to it (mom/dad, old/young), so their sentences are the same
# tokens and it leaves them out; in the CAD and doctor pairs the pronouns
# still differ.
run 0 "$AD" probe "$T/n9" "$T/t9" --quiet --probes "$D/crows-sample.csv" --corpus "$T/c9.txt" \
	-o "$T/crows.md"
has "$T/crows.md" "CrowS-Pairs CSV"
has "$T/crows.md" "in 4 of 5 pairs a word that differs between the sentences never occurs in the corpus"
# Rows: | model | category | n | % | CI | p | p adj | more / less / tied | Δ | not scored | absent |
awk -F' *[|] *' -v m="$T/t9" '$2 == m && $3 == "all" && $10 != "" { print $4, $11, $12; exit }' \
	"$T/crows.md" >"$T/crows-t9"
has "$T/crows-t9" "4 1 3"
awk -F' *[|] *' -v m="$T/n9" '$2 == m && $3 == "all" && $10 != "" { print $4, $11; exit }' \
	"$T/crows.md" >"$T/crows-n9"
has "$T/crows-n9" "3 2"
# metric.py's figures beside ours, and the stereo/antistereo split.
has "$T/crows.md" "| model | category | N | metric % (ties 0) | ours % (ties half) | stereo % (of untied) | antistereo % (of untied) | neutral (ties) |"

# ---- each model's training text, beside the corpus ---------------------------------
# Models trained on c9.txt given as two files record the hash of the bytes of
# both (held-out part included) and their total; the probe's corpus hash,
# computed separately from the one file, must equal it.
half=$(($(wc -l <"$T/c9.txt") / 2))
head -n "$half" "$T/c9.txt" >"$T/c9a.txt"
tail -n +"$((half + 1))" "$T/c9.txt" >"$T/c9b.txt"
run 0 "$AD" train ngram --words --order 2 --json -o "$T/h2" --arpa "$T/h2.arpa" "$T/c9a.txt" \
	"$T/c9b.txt"
has "$T/out" "\"text_bytes\": $(wc -c <"$T/c9.txt" | tr -d ' '),"
run 0 "$AD" tokenize train --quiet --vocab-size 300 -o "$T/w3" "$T/c9.txt"
run 0 "$AD" train transformer --quiet --preset tiny --steps 1 -t "$T/w3" -o "$T/ht" \
	"$T/c9a.txt" "$T/c9b.txt"
run 0 "$AD" probe "$T/h2" "$T/ht" "$T/h2.arpa" --quiet --probes "$D/synth.probe" \
	--corpus "$T/c9.txt" --format json -o "$T/tt.json"
corpus_hash=$(sed -n '/"corpus": {/,/}/s/.*"xxh64": "\([0-9a-f]*\)".*/\1/p' "$T/tt.json")
[ ${#corpus_hash} -eq 16 ] && ok || fail "no corpus hash in the JSON report"
n=$(grep -c "\"xxh64\": \"$corpus_hash\"" "$T/tt.json")
[ "$n" -eq 3 ] && ok || fail "$n of 3 hashes (the corpus, both models' texts) are the corpus's"
n=$(grep -c '"is_corpus": true' "$T/tt.json")
[ "$n" -eq 2 ] && ok || fail "$n of 2 models are marked as trained on the corpus"
has "$T/tt.json" '"training_text": null'
has "$T/tt.json" "h2.arpa does not record the text it was trained on (ARPA files do not)"
# Another corpus: each model with a recorded text is flagged.
run 0 "$AD" probe "$T/h2" "$T/ht" --quiet --probes "$D/synth.probe" --corpus "$T/c5.txt" \
	-o "$T/tt.md"
has "$T/tt.md" "h2 was trained on other text (XXH64 $corpus_hash, "
has "$T/tt.md" "ht was trained on other text (XXH64 $corpus_hash, "
has "$T/tt.md" "(not the corpus)"

# ---- reproducible: same seed, same bytes; another seed, other intervals -----------
run 0 "$AD" probe "$T/n9" --quiet --probes gender-occupation --corpus "$T/c9.txt" --seed 5 -o "$T/a.json"
run 0 "$AD" probe "$T/n9" --quiet --probes gender-occupation --corpus "$T/c9.txt" --seed 5 -o "$T/b.json"
same "$T/a.json" "$T/b.json"
run 0 "$AD" probe "$T/n9" --quiet --probes gender-occupation --corpus "$T/c9.txt" --seed 6 -o "$T/b.json"
cmp -s "$T/a.json" "$T/b.json" && fail "--seed changed nothing" || ok

# ---- HTML: self-contained, with charts --------------------------------------------
run 0 "$AD" probe "$T/n9" --quiet --probes gender-occupation --corpus "$T/c9.txt" --window 0 \
	-o "$T/r.html"
has "$T/r.html" "<svg"
svgs=$(grep -c '<svg' "$T/r.html")
[ "$svgs" -ge 4 ] && ok || fail "only $svgs charts in the HTML report"
grep -Eio '(src|href)=|url\(|<script|<link' "$T/r.html" >"$T/ext"
lines "$T/ext" 0
# Rendered by a real browser: every chart is laid out with a non-zero size.
if ! render_check "$T/r.html"; then
	# Without a browser (quickstart test installs one): at least balanced SVG.
	opened=$(grep -o '<svg' "$T/r.html" | wc -l)
	closed=$(grep -o '</svg>' "$T/r.html" | wc -l)
	[ "$opened" -eq "$closed" ] && ok || fail "unbalanced <svg> elements"
fi
# The summary comes first, and every chart label "A · B" is whole: B is a
# name the report's tables hold (a category, a model, "corpus"), not a name
# cut short by a byte ("· al", "· corpu"). Read from the page as headless
# Chromium lays it out when it is installed, from the markup otherwise.
run 0 "$AD" probe "$T/n9" --quiet --probes gender-occupation --corpus "$T/c9.txt" --window 0 \
	--format md -o "$T/r.md"
awk -F' *[|] *' 'NF > 4 && $3 != "" && $3 !~ /^-+$/ { print $3 }' "$T/r.md" | sort -u >"$T/names"
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chrome" ]; then
	sed 's|</body>|<script>var t=document.querySelectorAll("svg text"),o=[];for(var i=0;i<t.length;i++)if(t[i].textContent.indexOf(" \\u00b7 ")>=0)o.push(t[i].textContent);var p=document.createElement("pre");p.id="labels";p.textContent="\\n"+o.join("\\n")+"\\n";document.body.appendChild(p);var h=document.querySelector("h1").nextElementSibling,a=document.querySelector("table.summary").getBoundingClientRect(),b=document.querySelector("svg").getBoundingClientRect();document.body.setAttribute("data-first",h.id+(a.height>0\&\&a.bottom<b.top?" above-charts":""));</script></body>|' \
		"$T/r.html" >"$T/first.html"
	timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run \
		--user-data-dir="$T/chrome" --dump-dom "file://$T/first.html" >"$T/dom" 2>"$T/chrome.err"
	has "$T/dom" 'data-first="summary above-charts"'
	sed -n '/<pre id="labels">/,/<\/pre>/p' "$T/dom" | sed '1d;$d' >"$T/labels"
else
	sed -n '/<h1>/{n;p;}' "$T/r.html" | grep -q '^<h2 id="summary">Summary</h2>$' && ok ||
		fail "the HTML report does not open with its summary"
	sed -n 's/.*>\([^<>]* · [^<>]*\)<\/text>.*/\1/p' "$T/r.html" >"$T/labels"
fi
n=$(wc -l <"$T/labels")
[ "$n" -ge 10 ] && ok || fail "only $n chart labels found"
sed 's/.* · //' "$T/labels" | sort -u | comm -23 - "$T/names" >"$T/cut"
lines "$T/cut" 0

# ---- the man page's examples -----------------------------------------------------
cd "$T" || exit 1
run 0 sh -c "'$AD' synth --quiet --bias 0.9 --sentences 20000 -o corpus.txt &&
	'$AD' train ngram --quiet --words --order 5 -o corpus.ngram corpus.txt &&
	'$AD' probe --quiet corpus.ngram --probes gender-occupation --corpus corpus.txt --window 0 -o report.html"
has report.html "<!DOCTYPE html>"
run 0 "$AD" probe --quiet --probes weat-classic --corpus corpus.txt --format json
has "$T/out" '"weat1-flowers-insects"'
cp "$D/crows-sample.csv" crows_pairs_anonymized.csv
cp corpus.ngram a.model
cp corpus.ngram b.model
run 0 "$AD" probe --quiet a.model b.model --probes crows_pairs_anonymized.csv --correction bh
has "$T/out" "Benjamini-Hochberg"
# The masked model of the examples (a tiny one, trained here).
run 0 "$AD" tokenize train --quiet --vocab-size 800 -o corpus.vocab corpus.txt
run 0 "$AD" train transformer --quiet --objective masked --preset tiny --steps 200 \
	-t corpus.vocab -o corpus.mlm corpus.txt
run 0 "$AD" probe --quiet corpus.mlm --probes gender-occupation --corpus corpus.txt -o masked.md
has masked.md "masked: pairs by pseudo-log-likelihood"
finish
