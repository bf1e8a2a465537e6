# The synthetic corpus generator.
libautodidact_a_SOURCES += src/synth/synth.c
noinst_HEADERS += src/synth/synth.h
dist_man_MANS += man/autodidact-synth.1
