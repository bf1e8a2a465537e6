# Fuzz harnesses: each replays its corpus (seeds and past crashes) under
# 'make check' through driver.c; 'make fuzz' builds the libFuzzer binaries.
FUZZ_DRIVER = tests/fuzz/driver.c
check_PROGRAMS += tests/fuzz/fuzz_options
tests_fuzz_fuzz_options_SOURCES = tests/fuzz/fuzz_options.c $(FUZZ_DRIVER)
tests_fuzz_fuzz_options_LDADD = $(AD_LIBS)
check_PROGRAMS += tests/fuzz/fuzz_model tests/fuzz/fuzz_checkpoint tests/fuzz/fuzz_probes
tests_fuzz_fuzz_model_SOURCES = tests/fuzz/fuzz_model.c $(FUZZ_DRIVER)
tests_fuzz_fuzz_model_LDADD = $(AD_LIBS)
tests_fuzz_fuzz_checkpoint_SOURCES = tests/fuzz/fuzz_checkpoint.c $(FUZZ_DRIVER)
tests_fuzz_fuzz_checkpoint_LDADD = $(AD_LIBS)
tests_fuzz_fuzz_probes_SOURCES = tests/fuzz/fuzz_probes.c $(FUZZ_DRIVER)
tests_fuzz_fuzz_probes_LDADD = $(AD_LIBS)
check_PROGRAMS += tests/fuzz/fuzz_text
tests_fuzz_fuzz_text_SOURCES = tests/fuzz/fuzz_text.c $(FUZZ_DRIVER)
tests_fuzz_fuzz_text_LDADD = $(AD_LIBS)
TESTS += tests/fuzz/replay.sh
EXTRA_DIST += tests/fuzz/build.sh tests/fuzz/replay.sh tests/fuzz/corpus tests/fuzz/fixsum.h

# Build the libFuzzer binaries into fuzz/ and fuzz each for FUZZ_SECONDS
# (default 0: build only).
FUZZ_SECONDS = 0
fuzz:
	BUILDDIR='$(abs_top_builddir)' $(SHELL) '$(abs_top_srcdir)/tests/fuzz/build.sh' \
	  '$(abs_top_builddir)/fuzz' $(FUZZ_SECONDS)
.PHONY: fuzz check-valgrind
