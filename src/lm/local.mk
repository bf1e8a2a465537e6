# The model interface shared by every family, and model-file dispatch.
libautodidact_a_SOURCES += src/lm/lm.c
noinst_HEADERS += src/lm/lm.h
