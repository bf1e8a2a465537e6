#!/bin/sh
# torch_bf16.sh — our bf16 forward pass against PyTorch's bf16 autocast on the
# same weights and batch: tests/torch_bf16.py writes them with autocast's
# loss and logits and the tolerances it derives (see its header), and
# check_nn's torch-bf16 case compares. Skipped without PyTorch, and (by
# check_nn, with a message) where the CPU lacks AVX512-BF16.
. "$AD_SRCDIR/tests/lib.sh"
find_torch
if [ -z "$PY" ]; then
	echo "SKIP: PyTorch is not installed (apt-get install python3-torch)"
	exit 77
fi
for seed in 7 8 9; do
	run 0 "$PY" "$AD_SRCDIR/tests/torch_bf16.py" "$T/bf$seed.bin" "$seed"
	run 0 env AD_TORCH_BF16="$T/bf$seed.bin" CK_RUN_CASE=torch-bf16 "$AD_BUILDDIR/tests/check_nn"
	has "$T/out" "100%: Checks: 1, Failures: 0"
done
finish
