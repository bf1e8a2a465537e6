# The comparison engine and its report.
libautodidact_a_SOURCES += src/compare/engine.c src/compare/child.c src/compare/write.c \
	src/compare/sweep.c src/compare/sweep_write.c src/compare/blanks.c
noinst_HEADERS += src/compare/compare.h src/compare/compare_impl.h src/compare/sweep.h
dist_man_MANS += man/autodidact-compare.1 man/autodidact-sweep.1
TESTS += tests/compare.sh
EXTRA_DIST += tests/compare.sh
