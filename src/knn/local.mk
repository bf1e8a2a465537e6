# The kNN-LM: a datastore of a transformer's context vectors, exact search
# by matrix products, the model over them, tuning, and the contrast report.
libautodidact_a_SOURCES += \
	src/knn/store.c \
	src/knn/search.c \
	src/knn/lm_knn.c \
	src/knn/contrast.c \
	src/knn/tune.c
noinst_HEADERS += src/knn/knn.h

check_PROGRAMS += tests/check_knn
TESTS += tests/check_knn
tests_check_knn_SOURCES = tests/check_knn.c $(TU_SOURCES)
tests_check_knn_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_knn_LDADD = $(CHECK_LDADD)
libautodidact_a_SOURCES += src/cli/cmd_knn.c
dist_man_MANS += man/autodidact-knn.1
TESTS += tests/knn.sh
EXTRA_DIST += tests/knn.sh
EXTRA_DIST += bench/knn.sh bench/knn_search.c bench/knn_quality.sh
