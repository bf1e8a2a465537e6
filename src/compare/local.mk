# The comparison engine and its report.
libautodidact_a_SOURCES += src/compare/engine.c src/compare/child.c src/compare/write.c \
	src/compare/blanks.c
noinst_HEADERS += src/compare/compare.h
dist_man_MANS += man/autodidact-compare.1
TESTS += tests/compare.sh
EXTRA_DIST += tests/compare.sh
