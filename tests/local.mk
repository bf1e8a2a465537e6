# Tests: one Check program per module, then the command-line shell tests.
check_PROGRAMS += tests/check_base tests/check_synth
TESTS += tests/check_base tests/check_synth tests/cli.sh tests/man.sh tests/crash.sh tests/oom.sh tests/diskfull.sh

TU_SOURCES = tests/testutil.c tests/testutil.h
tests_check_base_SOURCES = tests/check_base.c $(TU_SOURCES)
tests_check_base_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_base_LDADD = $(CHECK_LDADD)
tests_check_synth_SOURCES = tests/check_synth.c $(TU_SOURCES)
tests_check_synth_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_synth_LDADD = $(CHECK_LDADD)

EXTRA_DIST += tests/cli.sh tests/man.sh tests/lib.sh tests/crash.sh tests/oom.sh tests/diskfull.sh
