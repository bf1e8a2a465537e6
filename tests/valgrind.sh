#!/bin/sh
# valgrind.sh — run a program under valgrind memcheck, failing (exit 99) on
# any memory error or definite leak. Used by 'make check-valgrind' both as
# the log compiler of the Check programs and, through AUTODIDACT, for every
# command the shell tests run.
CK_FORK=no
# Set here so that the program does not re-execute itself (main.c), which
# would leave valgrind behind.
GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
export CK_FORK GOMP_SPINCOUNT
exec valgrind --quiet --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite --errors-for-leak-kinds=definite \
	--suppressions="$AD_SRCDIR/tests/valgrind.supp" "$@"
