# Corpus to token streams: the train/held-out split by lines, tokenization.
libautodidact_a_SOURCES += src/data/data.c
noinst_HEADERS += src/data/data.h

check_PROGRAMS += tests/check_data
TESTS += tests/check_data
tests_check_data_SOURCES = tests/check_data.c $(TU_SOURCES)
tests_check_data_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_data_LDADD = $(CHECK_LDADD)
