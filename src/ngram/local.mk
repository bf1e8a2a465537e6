# The n-gram model: interpolated modified Kneser-Ney estimation identical to
# KenLM's lmplz (one file per stage, in pipeline order), ARPA in and out, our
# mmap-able binary format, and scoring through lm.h. Its command is
# src/cli/cmd_train_ngram.c; its tests are tests/check_ngram.c, tests/ngram.sh.
libautodidact_a_SOURCES += \
	src/ngram/vocab.c \
	src/ngram/sort.c \
	src/ngram/count.c \
	src/ngram/tokens.c \
	src/ngram/adjust.c \
	src/ngram/discount.c \
	src/ngram/initial.c \
	src/ngram/interpolate.c \
	src/ngram/estimate.c \
	src/ngram/arpa_write.c \
	src/ngram/binary.c \
	src/ngram/arpa_read.c \
	src/ngram/model.c \
	src/cli/cmd_train_ngram.c
noinst_HEADERS += src/ngram/ngram.h src/ngram/ngram_impl.h
dist_man_MANS += man/autodidact-train-ngram.1
check_PROGRAMS += tests/check_ngram
TESTS += tests/check_ngram tests/ngram.sh
tests_check_ngram_SOURCES = tests/check_ngram.c $(TU_SOURCES)
tests_check_ngram_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_ngram_LDADD = $(CHECK_LDADD)
EXTRA_DIST += tests/data/kenlm tests/ngram.sh bench/ngram.sh
