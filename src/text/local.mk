# The tokenizer: normalization (utf8proc), pre-tokenization (PCRE2), the
# vocabulary file, BPE encoding and training.
libautodidact_a_SOURCES += \
	src/text/norm.c \
	src/text/pretok.c \
	src/text/vocab.c \
	src/text/encode.c \
	src/text/train.c
noinst_HEADERS += \
	src/text/bpe.h \
	src/text/norm.h \
	src/text/pretok.h \
	src/text/text.h
