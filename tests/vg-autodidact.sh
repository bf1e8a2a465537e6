#!/bin/sh
# The program under valgrind, for the shell tests of 'make check-valgrind';
# the steps 'compare' runs as child processes go through it too.
AUTODIDACT_SELF="$AD_SRCDIR/tests/vg-autodidact.sh"
export AUTODIDACT_SELF
exec "$AD_SRCDIR/tests/valgrind.sh" "$AD_REAL_AUTODIDACT" "$@"
