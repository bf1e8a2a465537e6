# The command line: shared helpers and one file per command (main.c is the
# program's own source; the rest is in the library so tests can reach it).
libautodidact_a_SOURCES += \
	src/cli/cli.c \
	src/cli/cmd_tokenize.c \
	src/cli/cmd_synth.c \
	src/cli/cmd_train.c \
	src/cli/cmd_train_transformer.c \
	src/cli/cmd_compare.c \
	src/cli/cmd_eval.c \
	src/cli/cmd_sample.c \
	src/cli/cmd_fill.c
noinst_HEADERS += src/cli/cli.h
dist_man_MANS += man/autodidact-train.1
# 'autodidact export' (src/nn/export.c below it).
libautodidact_a_SOURCES += src/cli/cmd_export.c
dist_man_MANS += man/autodidact-export.1
