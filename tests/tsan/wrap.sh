#!/bin/sh
# wrap.sh — the log compiler of the race check (tests/tsan/run.sh): runs one
# test with its ThreadSanitizer reports and its OpenMP region counts going to
# files named after the test and the thread count, so that run.sh can say
# which test saw what. Every command the test starts inherits them.
#   wrap.sh [INTERPRETER] TEST
for t; do :; done
name=$(basename "$t")-t${OMP_NUM_THREADS:-0}
TSAN_OPTIONS="$TSAN_OPTIONS log_path=$AD_TSAN_DIR/reports/$name"
AD_OMPT_REGIONS_OUT=$AD_TSAN_DIR/regions/$name
export TSAN_OPTIONS AD_OMPT_REGIONS_OUT
exec "$@"
