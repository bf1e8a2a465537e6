#!/bin/sh
# torch.sh — the transformer against PyTorch, fresh: tests/torch_ref.py builds
# a GPT-2 in PyTorch with a seed other than the checked-in fixture's, and
# check_nn's torch case compares logits, loss, every gradient and ten AdamW
# steps with it, and the masked objective's logits, loss and gradients
# (full attention, the loss on the hidden positions); tests/torch_fill.py
# does the same for a masked model opened through lm.h (lm_fill_dist at the
# hidden positions). Without PyTorch (Debian: python3-torch; './quickstart test'
# installs it) this is skipped; check_nn still runs the same comparison on
# the fixture tests/data/nn/torch_ref.bin that torch_ref.py wrote.
. "$AD_SRCDIR/tests/lib.sh"
find_torch
if [ -z "$PY" ]; then
	echo "SKIP: PyTorch is not installed (apt-get install python3-torch)"
	exit 77
fi
CHECK=$AD_BUILDDIR/tests/check_nn
# Under 'make check-valgrind' the Check program runs under memcheck too.
VG=
[ -n "${AD_REAL_AUTODIDACT:-}" ] && VG=$AD_SRCDIR/tests/valgrind.sh
for seed in 7 8; do
	run 0 "$PY" "$AD_SRCDIR/tests/torch_ref.py" "$T/ref$seed.bin" "$seed"
	run 0 "$PY" "$AD_SRCDIR/tests/torch_fill.py" "$T/fill$seed.bin" "$seed"
	run 0 env AD_TORCH_REF="$T/ref$seed.bin" AD_TORCH_FILL="$T/fill$seed.bin" \
		CK_RUN_CASE=torch ${VG:+"$VG"} "$CHECK"
	has "$T/out" "100%: Checks: 3, Failures: 0"
done
finish
