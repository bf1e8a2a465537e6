# Random-feature models with the minimum-norm readout (double descent).
libautodidact_a_SOURCES += src/rf/rf.c src/rf/rf_la.c
noinst_HEADERS += src/rf/rf.h src/rf/rf_impl.h
# The double-descent curve on real prose (bench/rf.sh; the README's figure).
EXTRA_DIST += bench/rf.sh bench/rf_curve.c bench/rf-loss.svg bench/rf-err.svg
