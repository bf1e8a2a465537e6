#!/bin/sh
# The program under valgrind, for the shell tests of 'make check-valgrind'.
exec "$AD_SRCDIR/tests/valgrind.sh" "$AD_REAL_AUTODIDACT" "$@"
