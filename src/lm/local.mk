# The model interface shared by every family, and model-file dispatch.
libautodidact_a_SOURCES += src/lm/lm.c src/lm/eval.c src/lm/sample.c src/lm/calib.c src/lm/pll.c src/lm/fill.c
noinst_HEADERS += src/lm/lm.h
check_PROGRAMS += tests/check_lm
TESTS += tests/check_lm
tests_check_lm_SOURCES = tests/check_lm.c $(TU_SOURCES)
tests_check_lm_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_lm_LDADD = $(CHECK_LDADD)
dist_man_MANS += man/autodidact-eval.1 man/autodidact-sample.1
# Filling blanks (fill.c, cmd_fill.c): every model kind against eval's likelihoods.
dist_man_MANS += man/autodidact-fill.1
TESTS += tests/fill.sh
EXTRA_DIST += tests/fill.sh
