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
# Huge and hostile input, measured (not a test: gigabytes, minutes).
EXTRA_DIST += bench/huge.sh

# 'make check-tsan': the race check of the threaded code (tests/tsan/run.sh):
# the program and the tests built again with clang, ThreadSanitizer and
# LLVM's OpenMP runtime with Archer, in tsan/ under the build directory.
# TSAN_FLAGS=--quick: only the kernels and commands at full size (seconds).
TSAN_FLAGS =
check-tsan:
	$(SHELL) '$(abs_top_srcdir)/tests/tsan/run.sh' $(TSAN_FLAGS) '$(abs_top_builddir)/tsan'
EXTRA_DIST += tests/tsan/run.sh tests/tsan/wrap.sh tests/tsan/regions.c tests/tsan/canary.c \
	tests/tsan/kernels.c
.PHONY: check-tsan

# The comparison engine (src/compare/): runs the program itself as children.
check_PROGRAMS += tests/check_compare
TESTS += tests/check_compare
tests_check_compare_SOURCES = tests/check_compare.c $(TU_SOURCES)
tests_check_compare_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_compare_LDADD = $(CHECK_LDADD)

# bench/transformer.sh end to end under dash and mawk, the programs it
# measures replaced by stubs (seconds; no PyTorch needed).
TESTS += tests/bench.sh
EXTRA_DIST += tests/bench.sh

# Calibration metrics (src/lm/calib.c).
check_PROGRAMS += tests/check_calib
TESTS += tests/check_calib
tests_check_calib_SOURCES = tests/check_calib.c $(TU_SOURCES)
tests_check_calib_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_calib_LDADD = $(CHECK_LDADD)
TESTS += tests/calib.sh
EXTRA_DIST += tests/calib.sh
EXTRA_DIST += bench/calib.sh

# 'autodidact export' read back in PyTorch (tests/export_check.py).
TESTS += tests/export.sh
EXTRA_DIST += tests/export.sh tests/export_check.py
check_PROGRAMS += tests/check_export
TESTS += tests/check_export
tests_check_export_SOURCES = tests/check_export.c $(TU_SOURCES)
tests_check_export_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_export_LDADD = $(CHECK_LDADD)
# Random-feature models and their minimum-norm readout (src/rf/).
check_PROGRAMS += tests/check_rf
TESTS += tests/check_rf
tests_check_rf_SOURCES = tests/check_rf.c $(TU_SOURCES)
tests_check_rf_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_rf_LDADD = $(CHECK_LDADD)
