# The model interface shared by every family, and model-file dispatch.
libautodidact_a_SOURCES += src/lm/lm.c src/lm/eval.c src/lm/sample.c
noinst_HEADERS += src/lm/lm.h
