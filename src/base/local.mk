# The base layer: errors, files, checksums, random numbers, progress, JSON.
libautodidact_a_SOURCES += \
	src/base/err.c \
	src/base/io.c \
	src/base/hash.c \
	src/base/rng.c \
	src/base/progress.c \
	src/base/json.c
noinst_HEADERS += \
	src/base/err.h \
	src/base/io.h \
	src/base/hash.h \
	src/base/rng.h \
	src/base/progress.h \
	src/base/json.h
# Inline SVG charts, drawn by more than one report (probe, compare).
libautodidact_a_SOURCES += src/base/svg.c
noinst_HEADERS += src/base/svg.h
# A whole-document JSON reader (safetensors headers, config.json, vocab.json).
libautodidact_a_SOURCES += src/base/jtree.c
noinst_HEADERS += src/base/jtree.h
