# The transformer: kernels, the GPT-2 model, AdamW, the objective, checkpoints.
libautodidact_a_SOURCES += \
	src/nn/gemm.c \
	src/nn/layers.c \
	src/nn/gpt.c \
	src/nn/train.c \
	src/nn/loop.c \
	src/nn/ckpt.c \
	src/nn/lm_nn.c \
	src/nn/dist.c
noinst_HEADERS += src/nn/nn.h src/nn/dist.h

check_PROGRAMS += tests/check_nn
TESTS += tests/check_nn
tests_check_nn_SOURCES = tests/check_nn.c $(TU_SOURCES)
tests_check_nn_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_nn_LDADD = $(CHECK_LDADD)
dist_man_MANS += man/autodidact-train-transformer.1
TESTS += tests/torch.sh tests/nn.sh
EXTRA_DIST += tests/torch.sh tests/nn.sh tests/torch_ref.py tests/data/nn/torch_ref.bin \
	bench/transformer.sh bench/transformer_torch.py bench/transformer_quality.sh bench/fma_peak.c
# Over MPI (configure --with-mpi): data-parallel training (src/nn/dist.c)
# and sharded n-gram counting (src/ngram/shard.c, listed here beside its
# twin); without MPI both are the one-process code. The tests run only in a
# build with MPI, where they must pass.
libautodidact_a_SOURCES += src/ngram/shard.c src/cli/dist_env.c
noinst_HEADERS += src/ngram/shard.h
if AD_MPI
TESTS += tests/mpi.sh tests/mpi-netns.sh tests/mpi-ngram.sh
endif
EXTRA_DIST += tests/mpi.sh tests/mpi-netns.sh tests/mpi-ngram.sh bench/mpi.sh bench/allreduce.c \
	bench/dist_step.c
# Export in the Hugging Face GPT-2 layout ('autodidact export').
libautodidact_a_SOURCES += src/nn/export.c
noinst_HEADERS += src/nn/export.h
# A masked model opened through lm.h against PyTorch (test_torch_fill_dist).
EXTRA_DIST += tests/torch_fill.py tests/data/nn/torch_fill.bin
# bf16 inference: PyTorch's autocast as the oracle, and the benchmarks.
TESTS += tests/torch_bf16.sh
EXTRA_DIST += tests/torch_bf16.sh tests/torch_bf16.py bench/generation.c bench/eval_speed.sh \
	bench/precision_quality.sh
# Checkpoints of other tools: safetensors, GPT-2 (Hugging Face, llm.c) import.
libautodidact_a_SOURCES += src/nn/safetensors.c src/nn/gpt2_import.c
noinst_HEADERS += src/nn/import.h
TESTS += tests/gpt2.sh
EXTRA_DIST += tests/gpt2.sh tests/gpt2_ref.py
dist_man_MANS += man/autodidact-models.5
EXTRA_DIST += bench/gpt2.sh bench/membw.c
check_PROGRAMS += tests/check_import
TESTS += tests/check_import
tests_check_import_SOURCES = tests/check_import.c $(TU_SOURCES)
tests_check_import_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_import_LDADD = $(CHECK_LDADD)
