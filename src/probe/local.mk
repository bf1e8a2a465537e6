# Bias probes: probe-set readers, statistics, corpus counts, model metrics,
# report writers (Markdown, JSON, HTML with inline SVG charts from base/svg).
libautodidact_a_SOURCES += \
	src/probe/stats.c \
	src/probe/read.c \
	src/probe/corpus.c \
	src/probe/metrics.c \
	src/probe/align.c \
	src/probe/run.c \
	src/probe/report.c \
	src/probe/vectors.c \
	src/cli/cmd_probe.c
noinst_HEADERS += src/probe/probe.h
dist_man_MANS += man/autodidact-probe.1

# The shipped probe sets, installed where 'autodidact probe --probes NAME'
# finds them. The program learns the directory from a generated header.
probesdir = $(pkgdatadir)/probes
dist_probes_DATA = \
	corpora/probes/gender-occupation.probe \
	corpora/probes/gender-family-career.probe \
	corpora/probes/age.probe \
	corpora/probes/weat-classic.probe
src/probe/datadir.h: Makefile
	$(AM_V_GEN)$(MKDIR_P) src/probe && \
	{ echo '#define PROBE_DATADIR "$(probesdir)"'; \
	  echo '#define PROBE_SRCDIR "$(abs_top_srcdir)/corpora/probes"'; } > $@-t && mv $@-t $@
src/cli/cmd_probe.$(OBJEXT): src/probe/datadir.h
MOSTLYCLEANFILES = src/probe/datadir.h

check_PROGRAMS += tests/check_probe
TESTS += tests/check_probe tests/probe.sh
TESTS += tests/probe-vectors.sh
tests_check_probe_SOURCES = tests/check_probe.c $(TU_SOURCES)
tests_check_probe_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_probe_LDADD = $(CHECK_LDADD)
EXTRA_DIST += tests/probe.sh tests/data/probe
EXTRA_DIST += tests/probe-vectors.sh
