# The tokenizer: normalization (utf8proc), pre-tokenization (PCRE2), the
# vocabulary file, BPE encoding and training.
libautodidact_a_SOURCES += \
	src/bpe/norm.c \
	src/bpe/pretok.c \
	src/bpe/pretok_uni.c \
	src/bpe/bpe_vocab.c \
	src/bpe/bpe_encode.c \
	src/bpe/bpe_train.c
noinst_HEADERS += \
	src/bpe/bpe.h \
	src/bpe/norm.h \
	src/bpe/pretok.h \
	src/bpe/pretok_uni.h \
	src/bpe/bpe_impl.h
dist_man_MANS += man/autodidact-tokenize.1

# Tests: the Check program, the command-line test, and the tiktoken oracle
# (expected ids and subset rank files from the npm package tiktoken, made by
# tests/tok-fixtures.sh).
check_PROGRAMS += tests/check_bpe
TESTS += tests/check_bpe tests/tokenize.sh
tests_check_bpe_SOURCES = tests/check_bpe.c $(TU_SOURCES)
tests_check_bpe_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_bpe_LDADD = $(CHECK_LDADD)
EXTRA_DIST += tests/tokenize.sh tests/tok-fixtures.sh tests/tiktoken-oracle.js \
	tests/data/tok/cases.jsonl tests/data/tok/cases.hex tests/data/tok/tiktoken.version \
	tests/data/tok/r50k_base.expected tests/data/tok/r50k_base.subset.tiktoken \
	tests/data/tok/cl100k_base.expected tests/data/tok/cl100k_base.subset.tiktoken \
	tests/data/tok/unicode.jsonl tests/data/tok/unicode.hex tests/data/tok/special.jsonl \
	tests/data/tok/special.hex \
	tests/data/tok/unicode.r50k_base.expected tests/data/tok/unicode.r50k_base.subset.tiktoken \
	tests/data/tok/unicode.cl100k_base.expected tests/data/tok/unicode.cl100k_base.subset.tiktoken \
	tests/data/tok/unicode.o200k_base.expected tests/data/tok/unicode.o200k_base.subset.tiktoken \
	tests/data/tok/special.r50k_base.expected tests/data/tok/special.r50k_base.subset.tiktoken \
	tests/data/tok/special.cl100k_base.expected tests/data/tok/special.cl100k_base.subset.tiktoken \
	tests/data/tok/special.o200k_base.expected tests/data/tok/special.o200k_base.subset.tiktoken

# The fuzz harness of the tokenizer's parsers and encoder (tests/fuzz/).
check_PROGRAMS += tests/fuzz/fuzz_tokenize
tests_fuzz_fuzz_tokenize_SOURCES = tests/fuzz/fuzz_tokenize.c $(FUZZ_DRIVER)
tests_fuzz_fuzz_tokenize_LDADD = $(AD_LIBS)

# The pre-tokenizer benchmark (hand-written matcher against PCRE2 JIT).
EXTRA_DIST += bench/pretok.sh bench/pretok.c
