# Random-feature models with the minimum-norm readout (double descent).
libautodidact_a_SOURCES += src/rf/rf.c src/rf/rf_la.c
noinst_HEADERS += src/rf/rf.h src/rf/rf_impl.h
