# The comparison report (the engine itself is src/cli/cmd_compare.c).
libautodidact_a_SOURCES += src/compare/report.c
noinst_HEADERS += src/compare/compare.h
