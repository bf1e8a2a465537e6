# The comparison report (the engine itself is src/cli/cmd_compare.c).
libautodidact_a_SOURCES += src/compare/report.c
noinst_HEADERS += src/compare/compare.h
dist_man_MANS += man/autodidact-compare.1
TESTS += tests/compare.sh
EXTRA_DIST += tests/compare.sh
