/*
 * nn.h — the transformer: kernels, the GPT-2 model, AdamW, the training
 * objective, the training run and checkpoints.
 *
 * What it is. A GPT-2 style decoder (Radford et al. 2019, "Language Models
 * are Unsupervised Multitask Learners"; the architecture of Vaswani et al.
 * 2017 with the LayerNorm moved to the input of each block): learned token
 * and position embeddings, L pre-LayerNorm blocks of multi-head causal
 * self-attention and a GELU (tanh) MLP of width 4C, a final LayerNorm and an
 * output layer tied to the token embedding. Forward and backward are written
 * out by hand, one adjacent op_forward/op_backward pair per layer, in the
 * shape conventions of llm.c: arguments are outputs, then inputs, then sizes
 * (B batch, T time, C channels, V vocabulary, L layers, NH heads, OC output
 * channels); backward ACCUMULATES (+=) into gradients that the caller zeroed.
 *
 * Kernels. Every optimised kernel has a naive _ref twin in double precision
 * beside it: the twins are the oracle of the tests (finite differences are
 * taken on them in double, and the fast float kernels are compared with
 * them). The heart is nn_sgemm, a cache-blocked, register-tiled matrix
 * product with an AVX2/FMA micro-kernel chosen at run time and a portable C
 * micro-kernel otherwise; nn_gemm runs it in bf16 (inputs rounded to bf16,
 * fp32 sums) with an AVX512-BF16 micro-kernel where the CPU has one.
 *
 * Determinism. Every output element of every kernel is computed by one
 * thread in an order that does not depend on how many threads there are:
 * matrix products split the output (never the sum) among threads and block
 * the sum in a fixed order; reductions over rows (bias and LayerNorm
 * gradients, the loss, the gradient norm) run over a fixed partition and are
 * summed in double in a fixed order. So a run gives the same bits for any
 * thread count (tested), on the same binary and the same micro-kernel.
 *
 * Workload. Training of models from ~10^4 to ~10^8 parameters on a CPU with
 * a few cores, batches of B*T ~ 10^3 tokens, and generation at batch 1 with
 * a key/value cache. All tensors are float; a model's parameters live in one
 * allocation with named tensors pointing into it, as do its activations.
 */
#ifndef AD_NN_H
#define AD_NN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/rng.h"

/* ------------------------------------------------------------------------
 * Matrix product
 * ------------------------------------------------------------------------ */

/*
 * C (M x N, row stride ldc) = or += op(A) (M x K) * op(B) (K x N), all row
 * major. transA: A is stored K x M (element (m,k) at A[k*lda + m]), else
 * M x K (A[m*lda + k]). transB: B is stored N x K (B[n*ldb + k]), else
 * K x N (B[k*ldb + n]). accumulate: add to C, else overwrite it.
 *
 * nn_sgemm may use every OpenMP thread; nn_sgemm_serial runs on the calling
 * thread only and may be called inside a parallel region. Both give the
 * same bits (the sum over K is blocked in a fixed order).
 */
void nn_sgemm(int transA, int transB, size_t M, size_t N, size_t K,
              const float *A, size_t lda, const float *B, size_t ldb,
              float *C, size_t ldc, int accumulate);
void nn_sgemm_serial(int transA, int transB, size_t M, size_t N, size_t K,
                     const float *A, size_t lda, const float *B, size_t ldb,
                     float *C, size_t ldc, int accumulate);
/* C = bias (N floats, added to every row) + op(A) op(B), in the same bits as
 * copying bias into each row of C and accumulating the product into it, but
 * each tile gets its bias just before its sums (no pass over C first). */
void nn_sgemm_bias(int transA, int transB, size_t M, size_t N, size_t K,
                   const float *A, size_t lda, const float *B, size_t ldb,
                   const float *bias, float *C, size_t ldc);
/*
 * Allocate the packing buffers for the current OpenMP thread count (each
 * product does it on first use; call it before a parallel region that runs
 * nn_sgemm_serial). Returns AD_ENOMEM when they cannot be had, in which
 * case products fall back to nn_sgemm_ref_float.
 */
int  nn_sgemm_prepare(void);
/*
 * Products that share a B operand, and products over a triangle (the
 * per-head products of attention, on the calling thread):
 *
 * nn_sgemm_reserve(n) gives every OpenMP thread a scratch buffer of n
 * floats (call it outside parallel regions; AD_ENOMEM when it cannot);
 * nn_sgemm_scratch(n) is the calling thread's, or NULL when it has none
 * of n floats. nn_sgemm_pack_b packs op(B) (K x N, stored as for
 * nn_sgemm) into nn_sgemm_packed_size(K, N) floats, once for any number
 * of products. nn_sgemm_tri then computes C (M x N) = or += op(A) Bp, with
 * A read in place, on part of C or part of K:
 *   NN_TRI_FULL  every element over every k;
 *   NN_TRI_COLS  row i needs only columns j <= i (scores under a causal
 *                mask; the rest of a row may or may not be written);
 *   NN_TRI_KLE   row i needs only k <= i (op(A) zero above its diagonal);
 *   NN_TRI_KGE   row i needs only k >= i (op(A) zero below its diagonal);
 * each tile skips what none of its rows needs, and the sums are those of
 * the whole product (zeros left out; at most the sign of a zero differs).
 * As nn_sgemm_serial, the sums run in k order, blocked at multiples of the
 * same K block: the same bits with either kernel, any thread count.
 */
enum nn_tri { NN_TRI_FULL, NN_TRI_COLS, NN_TRI_KLE, NN_TRI_KGE };
int    nn_sgemm_reserve(size_t n);
float *nn_sgemm_scratch(size_t n);
size_t nn_sgemm_packed_size(size_t K, size_t N);
void   nn_sgemm_pack_b(float *dst, int transB, const float *B, size_t ldb, size_t K, size_t N);
void   nn_sgemm_tri(enum nn_tri tri, int transA, size_t M, size_t N, size_t K,
                    const float *A, size_t lda, const float *Bp, float *C, size_t ldc,
                    int accumulate);
/* C += op(A) op(B) with plain loops in float (the fallback; no blocking). */
void nn_sgemm_ref_float(int transA, int transB, size_t M, size_t N, size_t K,
                        const float *A, size_t lda, const float *B, size_t ldb,
                        float *C, size_t ldc);
/* The oracle: the same product with a plain triple loop in double. */
void nn_sgemm_ref(int transA, int transB, size_t M, size_t N, size_t K,
                  const double *A, size_t lda, const double *B, size_t ldb,
                  double *C, size_t ldc, int accumulate);

/*
 * The precision of a product's inputs. NN_PREC_BF16: op(A) and op(B) are
 * rounded to bf16 (round to nearest even, subnormals to zero) and their
 * products summed in fp32, with the AVX512-BF16 kernel, where the CPU has
 * it and the AVX-512 kernel is in force (nn_bf16_available); elsewhere the
 * product is nn_sgemm's, in fp32. The sums run in a fixed order (K blocks
 * of 768, pairs of k within them): the same bits for any thread count.
 */
enum nn_precision { NN_PREC_FP32, NN_PREC_BF16 };
const char *nn_precision_name(enum nn_precision prec);     /* "fp32", "bf16" */
int         nn_precision_parse(const char *s, enum nn_precision *prec);   /* -1: unknown */
int         nn_bf16_available(void);
/* nn_sgemm (bias NULL) or nn_sgemm_bias (then accumulate is 0) at a precision. */
void nn_gemm(enum nn_precision prec, int transA, int transB, size_t M, size_t N, size_t K,
             const float *A, size_t lda, const float *B, size_t ldb, const float *bias,
             float *C, size_t ldc, int accumulate);

/*
 * out (OC) = W (OC, C) x (C) + bias (OC, or NULL): the batch-1 product of
 * generation, memory-bound, split over output rows among threads.
 */
void nn_matvec(float *out, const float *W, const float *x, const float *bias,
               size_t C, size_t OC);
/* Rows [o0, o1) of nn_matvec's out, on the calling thread: the same bits
 * per row (generation's step shares a product's rows out itself). */
void nn_matvec_rows(float *out, const float *W, const float *x, const float *bias,
                    size_t C, size_t o0, size_t o1);

/*
 * Rows [o0, o1) of out (OC) = x (C) W + bias with W stored input-major,
 * (C, OC): C rows of OC floats, GPT-2's Conv1D layout (struct gpt's
 * w_in_major). Each output sums its C products in i order in one
 * accumulator (fused multiply-adds where the AVX2 or AVX-512 kernel is in
 * force): the same bits for any cut of the range, on the calling thread.
 */
void nn_matvec_in_rows(float *out, const float *W, const float *x, const float *bias,
                       size_t C, size_t OC, size_t o0, size_t o1);

/*
 * Eight lane sums s[0..8) and a tail t, combined in a fixed order: the sums
 * that must not depend on the vector width (dot products, norms, LayerNorm
 * statistics) run in eight lanes, which the compiler vectorizes.
 */
#define LANES8(s, t) \
	((((s)[0] + (s)[4]) + ((s)[1] + (s)[5])) + (((s)[2] + (s)[6]) + ((s)[3] + (s)[7])) + (t))

/*
 * Generation in bf16: nn_bf16_of rounds a float to bf16 (nearest, ties to
 * even; subnormals to zero, as the AVX512-BF16 conversion), nn_bf16_from
 * n of them; nn_matvec_bf16 is nn_matvec with W (OC, C) in bf16 (rounded
 * once) and x rounded to bf16, the products summed in fp32 (AVX512-BF16
 * where nn_bf16_available, else in C): half the bytes of W per call. The
 * same bits for any thread count. C <= 65,536.
 */
uint16_t nn_bf16_of(float x);
void     nn_bf16_from(uint16_t *dst, const float *src, size_t n);
void     nn_matvec_bf16(float *out, const uint16_t *W, const float *x, const float *bias,
                        size_t C, size_t OC);
/* nn_matvec_bf16 in two parts, for a caller that shares the rows out:
 * nn_matvec_bf16_x rounds x (C floats) to xb (C rounded up to a multiple of
 * 32 entries, zero-padded), nn_matvec_bf16_rows computes rows [o0, o1) from
 * it on the calling thread, the same bits per row. */
void     nn_matvec_bf16_x(uint16_t *xb, const float *x, size_t C);
void     nn_matvec_bf16_rows(float *out, const uint16_t *W, const uint16_t *xb,
                             const float *bias, size_t C, size_t o0, size_t o1);

/* a . b and y += a x over n floats, vectorised (the attention of one token). */
float nn_dot(const float *a, const float *b, size_t n);
void  nn_axpy(float *y, float a, const float *x, size_t n);

enum nn_kernel {
	NN_KERNEL_AUTO,      /* the best the CPU supports (the default) */
	NN_KERNEL_PORTABLE,  /* plain C, any CPU */
	NN_KERNEL_AVX2,      /* AVX2 + FMA, 6x16 register tile */
	NN_KERNEL_AVX512,    /* AVX-512F, 8x32 register tile; the other vector code
	                      * (layers, matvec) is AVX2's: each kind implies the
	                      * ones before it */
};
/*
 * Choose the micro-kernel (tests and benchmarks; the command line calls it
 * at startup for the environment variable AD_NN_KERNEL=portable or =avx2).
 * Returns the one in force: asking for AVX-512 or AVX2 on a CPU without it
 * gives the best it has. The AVX2 and AVX-512 products give the same bits.
 */
enum nn_kernel nn_kernel_select(enum nn_kernel k);
/* The micro-kernel in force (selecting the default on first use). */
enum nn_kernel nn_kernel_current(void);
const char    *nn_kernel_name(void);

/* ------------------------------------------------------------------------
 * Layers: forward/backward pairs (float) and their _ref twins (double).
 * Shapes are in the comments; "inp" is the layer's input, "out" its output,
 * d-prefixed arrays the gradients of the loss with respect to them.
 * ------------------------------------------------------------------------ */

/* out (B,T,C) = wte[inp[b,t]] + wpe[t]; inp (B,T) ids < Vin. */
void nn_encoder_forward(float *out, const uint32_t *inp, const float *wte, const float *wpe,
                        size_t B, size_t T, size_t C);
void nn_encoder_backward(float *dwte, float *dwpe, const float *dout, const uint32_t *inp,
                         size_t B, size_t T, size_t C);
void nn_encoder_forward_ref(double *out, const uint32_t *inp, const double *wte,
                            const double *wpe, size_t B, size_t T, size_t C);
void nn_encoder_backward_ref(double *dwte, double *dwpe, const double *dout,
                             const uint32_t *inp, size_t B, size_t T, size_t C);

/*
 * LayerNorm (Ba, Kiros, Hinton 2016) over the last axis, eps 1e-5:
 * out (N,C) = (inp - mean) * rstd * weight + bias, with mean and rstd (N)
 * kept for the backward pass. N = B*T rows.
 */
void nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, size_t N, size_t C);
void nn_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean,
                           const float *rstd, size_t N, size_t C);
void nn_layernorm_forward_ref(double *out, double *mean, double *rstd, const double *inp,
                              const double *weight, const double *bias, size_t N, size_t C);
void nn_layernorm_backward_ref(double *dinp, double *dweight, double *dbias,
                               const double *dout, const double *inp, const double *weight,
                               const double *mean, const double *rstd, size_t N, size_t C);

/* Linear layer: out (N,OC) = inp (N,C) * weight (OC,C)^T + bias (OC, or NULL);
 * the products at precision prec (nn_gemm), the bias sums in fp32. */
void nn_matmul_forward(float *out, const float *inp, const float *weight, const float *bias,
                       size_t N, size_t C, size_t OC, enum nn_precision prec);
/* dweight and dbias are added to; dinp is added to when add_dinp, else
 * overwritten (no need to clear it first). */
void nn_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, size_t N, size_t C, size_t OC,
                        int add_dinp, enum nn_precision prec);
void nn_matmul_forward_ref(double *out, const double *inp, const double *weight,
                           const double *bias, size_t N, size_t C, size_t OC);
void nn_matmul_backward_ref(double *dinp, double *dweight, double *dbias, const double *dout,
                            const double *inp, const double *weight, size_t N, size_t C,
                            size_t OC);

/* Which keys a position attends to. */
enum nn_attention {
	NN_ATTN_CAUSAL,  /* its own and the earlier ones (next-token prediction) */
	NN_ATTN_FULL,    /* every position of its row (the masked objective's) */
};

/*
 * Multi-head self-attention (Vaswani et al. 2017, eq. 1):
 * inp (B,T,3C) holds q, k, v side by side, each C = NH heads of hs = C/NH;
 * att (B,NH,T,T) = softmax(q k^T / sqrt(hs)) over keys t2 <= t (causal:
 * zero above the diagonal) or over every key t2 < T (full), out (B,T,C) =
 * att v with the heads side by side. datt is scratch of the same shape as
 * att (overwritten). Full attention runs whole products where causal
 * attention skips the triangle that the mask zeroes.
 */
void nn_attention_forward(float *out, float *att, const float *inp,
                          size_t B, size_t T, size_t C, size_t NH, enum nn_attention mask);
/*
 * The same for the (batch, head) pairs bh0 .. bh0 + nbh only (pair b NH + h),
 * their blocks in att (nbh, T, T): scoring, which keeps no scores, runs a
 * group of pairs at a time through a smaller att. A pair's arithmetic does
 * not depend on the group it is in: the bits are nn_attention_forward's.
 */
void nn_attention_forward_heads(float *out, float *att, const float *inp, size_t B, size_t T,
                                size_t C, size_t NH, enum nn_attention mask, size_t bh0,
                                size_t nbh);
/* logp (V) = ln softmax(l) (V): the exponentials in fp32, their sum in
 * double (each log-probability within ~2e-7 of exact); logp may be l. */
void nn_log_softmax(float *logp, const float *l, size_t V);
/* One query q (hs) against n keys K and values V (n, hs each, rows t): o
 * (hs) = softmax(q K^T / sqrt(hs)) V; att (n) is scratch. Generation's
 * attention of one head (gpt_kv_step). */
void nn_attend_one(float *o, const float *q, const float *K, const float *V, size_t n,
                   size_t hs, float *att);
void nn_attention_backward(float *dinp, float *datt, const float *dout, const float *inp,
                           const float *att, size_t B, size_t T, size_t C, size_t NH,
                           enum nn_attention mask);
void nn_attention_forward_ref(double *out, double *att, const double *inp,
                              size_t B, size_t T, size_t C, size_t NH, enum nn_attention mask);
void nn_attention_backward_ref(double *dinp, const double *dout, const double *inp,
                               const double *att, size_t B, size_t T, size_t C, size_t NH,
                               enum nn_attention mask);

/*
 * GELU, tanh approximation (Hendrycks & Gimpel 2016, eq. in section 2):
 * out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), over n elements.
 */
void nn_gelu_forward(float *out, const float *inp, size_t n);
void nn_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);
void nn_gelu_forward_ref(double *out, const double *inp, size_t n);
void nn_gelu_backward_ref(double *dinp, const double *inp, const double *dout, size_t n);

/* out = inp1 + inp2 (n); backward adds dout to both. */
void nn_residual_forward(float *out, const float *inp1, const float *inp2, size_t n);
void nn_residual_backward(float *dinp1, float *dinp2, const float *dout, size_t n);

/*
 * Softmax cross-entropy, fused, over the first V of the rows of logits
 * (N rows of stride Vs >= V): losses[i] = -ln softmax(logits[i])[targets[i]]
 * for rows with mask[i] != 0 (mask NULL: every row), 0 elsewhere.
 * Backward OVERWRITES logits with dloss/dlogits = scale[i] * (p - onehot)
 * (zero for masked rows): the logits are dead after the loss, and keeping
 * one (N,V) buffer halves the largest activation. The returned value is the
 * sum of the losses in double, summed in row order.
 */
double nn_crossentropy_forward(float *losses, const float *logits, const uint32_t *targets,
                               const uint8_t *mask, size_t N, size_t V, size_t Vs);
void   nn_crossentropy_backward(float *logits, const uint32_t *targets, const uint8_t *mask,
                                float scale, size_t N, size_t V, size_t Vs);
double nn_crossentropy_forward_ref(double *losses, const double *logits,
                                   const uint32_t *targets, const uint8_t *mask,
                                   size_t N, size_t V);
void   nn_crossentropy_backward_ref(double *dlogits, const double *logits,
                                    const uint32_t *targets, const uint8_t *mask,
                                    double scale, size_t N, size_t V);

/* ------------------------------------------------------------------------
 * The model
 * ------------------------------------------------------------------------ */

struct gpt_config {
	uint32_t L;    /* layers (blocks) */
	uint32_t NH;   /* attention heads per block; C % NH == 0 */
	uint32_t C;    /* width (channels) */
	uint32_t T;    /* context length: positions the model has embeddings for */
	uint32_t V;    /* output vocabulary: the tokenizer's ids */
	uint32_t Vin;  /* input vocabulary: V plus the input-only markers (BOS, and
	                * MASK in a masked model): V + 1 or V + 2 */
};

/* The input-only markers, reserved ids past the tokenizer's (no text
 * encodes to them): every sequence the model sees starts with BOS; a masked
 * model's inputs have MASK where a token is hidden (only when Vin = V + 2).
 * An imported GPT-2 opens its sequences with <|endoftext|> instead, as it
 * was trained to (it separates documents), and has no extra rows: see
 * struct gpt's eot_bos and gpt_bos. */
#define GPT_BOS(cfg)  ((cfg)->V)
#define GPT_MASK(cfg) ((cfg)->V + 1)

/* Named presets: "tiny" (tests), "small" (~1 M parameters at V=4096),
 * "base" (~10 M). Fills L, NH, C, T; returns -1 for an unknown name. */
int         gpt_preset(const char *name, struct gpt_config *cfg);
const char *gpt_preset_list(void);   /* "tiny, small, base" */
/* Check a configuration; the message says what to change. */
int         gpt_config_check(const struct gpt_config *cfg, struct ad_error *e);
/* Number of parameters (the embedding of the input-only markers included). */
uint64_t    gpt_param_count(const struct gpt_config *cfg);

#define GPT_NTENSORS 16

/* The parameters (and, with the same layout, their gradients). */
struct gpt_params {
	float *wte;       /* (Vin, C) token embedding; rows < V are the output layer */
	float *wpe;       /* (T, C) position embedding */
	float *ln1w;      /* (L, C) */
	float *ln1b;      /* (L, C) */
	float *qkvw;      /* (L, 3C, C) */
	float *qkvb;      /* (L, 3C) */
	float *attprojw;  /* (L, C, C) */
	float *attprojb;  /* (L, C) */
	float *ln2w;      /* (L, C) */
	float *ln2b;      /* (L, C) */
	float *fcw;       /* (L, 4C, C) */
	float *fcb;       /* (L, 4C) */
	float *fcprojw;   /* (L, C, 4C) */
	float *fcprojb;   /* (L, C) */
	float *lnfw;      /* (C) */
	float *lnfb;      /* (C) */
};

/* Sizes and names of the 16 tensors, in the order above (the file order). */
void        gpt_tensor_sizes(const struct gpt_config *cfg, size_t sizes[GPT_NTENSORS]);
const char *gpt_tensor_name(int i);
/* Whether tensor i takes weight decay (matrices and embeddings do). */
int         gpt_tensor_decays(int i);

/* Activations for a batch of B sequences of Tb <= T tokens. */
struct gpt_acts {
	float *encoded;   /* (B, T, C) */
	float *ln1;       /* (L, B, T, C) */
	float *ln1_mean;  /* (L, B, T) */
	float *ln1_rstd;  /* (L, B, T) */
	float *qkv;       /* (L, B, T, 3C) */
	float *atty;      /* (L, B, T, C) */
	float *att;       /* (L, B, NH, T, T); a scoring view's: att_cap floats */
	float *res2;      /* (L, B, T, C) residual after attention */
	float *ln2;       /* (L, B, T, C) */
	float *ln2_mean;  /* (L, B, T) */
	float *ln2_rstd;  /* (L, B, T) */
	float *fch;       /* (L, B, T, 4C) */
	float *fch_gelu;  /* (L, B, T, 4C) */
	float *res3;      /* (L, B, T, C) residual after the MLP */
	float *lnf;       /* (B, T, C) */
	float *lnf_mean;  /* (B, T) */
	float *lnf_rstd;  /* (B, T) */
	float *logits;    /* (B, T, V); overwritten by dloss/dlogits in backward; a
	                   * scoring view's: (logit_rows, V) */
	float *losses;    /* (B, T) */
};

/* Gradient scratch for one block at a time (reused for every layer). */
struct gpt_grad_acts {
	float *dres;      /* (B, T, C) gradient of the residual stream */
	float *dres2;     /* (B, T, C) */
	float *dln;       /* (B, T, C) */
	float *dqkv;      /* (B, T, 3C) */
	float *datty;     /* (B, T, C) */
	float *datt;      /* (B, NH, T, T) */
	float *dfch;      /* (B, T, 4C) */
	float *dfch_gelu; /* (B, T, 4C) */
};

/* The matrices of generation's products rounded to bf16 (gpt_set_precision),
 * in the shapes of struct gpt_params: half the bytes per token. */
struct gpt_weights_bf16 {
	uint16_t *wte;       /* (V, C) the output layer (the embedding's first V rows) */
	uint16_t *qkvw;      /* (L, 3C, C) */
	uint16_t *attprojw;  /* (L, C, C) */
	uint16_t *fcw;       /* (L, 4C, C) */
	uint16_t *fcprojw;   /* (L, C, 4C) */
};

struct gpt {
	struct gpt_config    cfg;
	struct gpt_params    params;       /* into param_mem */
	struct gpt_params    grads;        /* into grad_mem (NULL until gpt_alloc_train) */
	float               *param_mem;    /* (nparams) */
	float               *grad_mem;     /* (nparams) */
	size_t               nparams;
	size_t               B, Tb;        /* the batch the activations are sized for */
	size_t               fwd_B, fwd_Tb; /* the batch of the last forward (<= B, Tb) */
	struct gpt_acts      acts;         /* into act_mem */
	struct gpt_grad_acts gacts;        /* into gact_mem */
	float               *act_mem;
	float               *gact_mem;
	double               loss;         /* mean loss of the last forward with targets */
	enum nn_attention    attention;    /* causal (gpt_new's), or full for a masked model */
	int                  eot_bos;      /* the opening convention: 0, sequences open with
	                                    * BOS = V, our extra input row (a model trained
	                                    * here); 1, with id V - 1, the tokenizer's
	                                    * <|endoftext|> (GPT-2's: an imported checkpoint,
	                                    * whose cfg.Vin is V; never trained here) */
	enum nn_precision    precision;    /* of the linear layers' products in forward and
	                                    * backward (the trainer sets it; fp32 at first):
	                                    * parameters, gradients and everything else stay
	                                    * fp32 */
	int                  one_block;    /* activations of one block, reused by every block
	                                    * (gpt_alloc_scoring) */
	size_t               logit_rows;   /* rows of logits acts.logits holds: B Tb, or
	                                    * fewer (gpt_alloc_scoring: the output layer
	                                    * then runs that many rows at a time) */
	size_t               att_cap;      /* floats of one block's acts.att: B NH Tb^2, or
	                                    * fewer (gpt_alloc_scoring: attention then runs
	                                    * as many (b, h) pairs at a time as fit) */
	int                  w_in_major;   /* the four matrices of each block (qkvw, attprojw,
	                                    * fcw, fcprojw) are stored input-major, (C_in,
	                                    * C_out): x W, GPT-2's Conv1D layout, not ours
	                                    * (W x). An imported safetensors checkpoint, whose
	                                    * F32 matrices are used in place; forward and
	                                    * generation only (gpt_backward refuses it) */
	float              **blockw;       /* (L, 4) those four matrices of each block, in
	                                    * that order, when they lie apart (tensors of a
	                                    * mapped file; owned, the matrices not); NULL:
	                                    * they are params' */
	struct gpt_weights_bf16 wbf;       /* into wbf_mem */
	uint16_t            *wbf_mem;      /* generation's matrices in bf16, or NULL */
};

/* The id that opens every sequence the model sees (eot_bos). */
#define gpt_bos(g) ((g)->eot_bos ? (g)->cfg.V - 1 : GPT_BOS(&(g)->cfg))

/* A model with parameters only (uninitialised); gpt_free(NULL) is a no-op. */
int  gpt_new(struct gpt **out, const struct gpt_config *cfg, struct ad_error *e);
void gpt_free(struct gpt *g);
/*
 * Inference at a precision: the products of gpt_forward at prec (nn_gemm),
 * and in bf16, where nn_bf16_available, generation's (gpt_kv_step, the
 * last product of gpt_kv_prefill) from the matrices rounded to bf16 once,
 * here (wbf; fp32 frees them). The parameters themselves are untouched:
 * call it again after changing them. AD_ENOMEM leaves fp32 generation.
 */
int  gpt_set_precision(struct gpt *g, enum nn_precision prec, struct ad_error *e);
/*
 * GPT-2 initialisation: weights normal(0, 0.02), the two residual
 * projections of each block scaled by 1/sqrt(2L) (Radford et al. 2019,
 * section 2.3), biases 0, LayerNorm weights 1.
 */
void gpt_init(struct gpt *g, struct ad_rng *rng);
/* Bytes the activations, gradients and optimiser state need for (B, Tb). */
uint64_t gpt_train_bytes(const struct gpt_config *cfg, size_t B, size_t Tb);
/* Size activations for batches of (B, Tb) and, with grads, allocate gradients. */
int  gpt_alloc(struct gpt *g, size_t B, size_t Tb, int grads, struct ad_error *e);
/*
 * Size activations for scoring only: one block's, which every block of
 * gpt_forward overwrites in turn (L times less memory, so more rows fit in
 * one pass); the per-block activations hold the last block's; no backward,
 * no prefill. The two buffers that grow as B Tb V and B NH Tb^2 are cut to
 * chunk_bytes each (at least one row, one (b, h) pair): acts.logits holds
 * logit_rows rows, acts.att att_cap floats, and the output layer and
 * attention run in groups that fit (GPT-2 124M at 2 x 1024: 412 MB of
 * logits and 100 MB of scores uncut). SIZE_MAX cuts nothing. Every row and
 * pair is computed as in one pass: the bits do not depend on chunk_bytes.
 * The losses and acts.lnf are as after gpt_alloc; the logits of all rows
 * are seen through gpt_forward_rows.
 */
int  gpt_alloc_scoring(struct gpt *g, size_t B, size_t Tb, size_t chunk_bytes,
                       struct ad_error *e);

/*
 * Forward over inputs (B, Tb) ids < Vin. With targets (B, Tb) ids < V, also
 * the losses (masked rows excluded) and g->loss, their mean over unmasked
 * rows, which is also returned. Without targets the logits are left in
 * acts.logits and the return value is 0. On a view whose acts.logits holds
 * fewer than B Tb rows (gpt_alloc_scoring) targets are required, and
 * acts.logits is left holding the last rows' only.
 */
double gpt_forward(struct gpt *g, const uint32_t *inputs, const uint32_t *targets,
                   const uint8_t *mask, size_t B, size_t Tb);
/*
 * A visitor of a forward pass's logits: rows r0 .. r0 + nr of the batch
 * (row b Tb + t), logits (nr, V); nonzero stops the pass with that status.
 */
typedef int (*gpt_rows_fn)(void *ctx, size_t r0, size_t nr, const float *logits);
/*
 * gpt_forward with targets and no mask, on any view, that shows every
 * row's logits to fn (when not NULL) in row order, at most logit_rows at a
 * time, before the next rows overwrite them: scoring whose logits never
 * exist all at once. The losses and g->loss are gpt_forward's bits.
 * Returns 0, or fn's status (the losses of the rows after it unset).
 */
int  gpt_forward_rows(struct gpt *g, const uint32_t *inputs, const uint32_t *targets,
                      size_t B, size_t Tb, gpt_rows_fn fn, void *ctx);
/*
 * Inference where only some positions' predictions are read (a masked
 * model's blanks): the forward pass over inputs (B, Tb), then the final
 * LayerNorm and the output layer at the positions at[0..R) only (each an
 * index b Tb + t into the batch; any order, repeats allowed), their logits
 * to out (R, V): the bits gpt_forward leaves at those rows of acts.logits,
 * at R/(B Tb) of the output layer's cost, and of the last block's past
 * its attention. acts.logits is not written; the last block's activations
 * and acts.lnf are used as scratch (no backward after it).
 */
void gpt_forward_at(struct gpt *g, const uint32_t *inputs, size_t B, size_t Tb,
                    const size_t *at, size_t R, float *out);
/* Zero the parameter gradients. */
void gpt_zero_grad(struct gpt *g);
/*
 * Backward after a forward with targets over the same batch (B, Tb) <= the
 * allocated one: ACCUMULATES into grads the gradient of scale * (sum of
 * unmasked losses). For the mean loss of one batch, scale = 1 / (unmasked
 * rows); gradient accumulation over k batches divides that by k. A shape
 * other than the last forward's, or a model without gradients, is refused
 * with AD_EINVAL before anything is touched.
 */
int  gpt_backward(struct gpt *g, const uint32_t *inputs, const uint32_t *targets,
                  const uint8_t *mask, size_t B, size_t Tb, float scale, struct ad_error *e);
/*
 * The same, calling hook(ctx, s) on the calling thread, outside any
 * parallel region, at points of the pass where the gradients of the final
 * LayerNorm and of blocks s .. L-1 are complete: once with s = L after the
 * final LayerNorm, after each block l with s = l, and between the steps of
 * block l with s = l + 1 (more chances to do other work, nothing new). The
 * embeddings' gradients (wte, wpe) are complete on return. The arithmetic is
 * gpt_backward's: the hook must not touch the model.
 */
int  gpt_backward_hooked(struct gpt *g, const uint32_t *inputs, const uint32_t *targets,
                         const uint8_t *mask, size_t B, size_t Tb, float scale,
                         void (*hook)(void *ctx, size_t s), void *ctx, struct ad_error *e);

/* ------------------------------------------------------------------------
 * Generation with a key/value cache (batch 1)
 * ------------------------------------------------------------------------ */

struct gpt_kv {
	size_t  T;        /* capacity (the model's context) */
	size_t  pos;      /* tokens in the cache */
	float  *k, *v;    /* (L, NH, T, C / NH) keys and values of every position so far */
	float  *x;        /* (C) residual stream */
	float  *xb;       /* (C) */
	float  *qkv;      /* (3C) */
	float  *att;      /* (NH, T) */
	float  *atty;     /* (C) */
	float  *h;        /* (4C) */
	float  *logits;   /* (V) */
	float  *hid;      /* (C) the last block's MLP input after its LayerNorm, for the
	                   * last token fed: the kNN-LM's context vector (src/knn) */
	uint16_t *xb16;   /* (4C + 32) a product's input in bf16 (bf16 generation) */
	struct gpt_kv_sched *sched;   /* how gpt_kv_step shares a step among threads */
};

/* A cache's steps run on at most the threads omp_get_max_threads() gave
 * when it was made (it holds scratch for each). */
int  gpt_kv_new(const struct gpt *g, struct gpt_kv **out, struct ad_error *e);
void gpt_kv_free(struct gpt_kv *kv);
void gpt_kv_reset(struct gpt_kv *kv);
/*
 * Feed one token at position kv->pos (< T) and leave the logits of the
 * next token in kv->logits. Cost O(N + L C pos): the cache holds every
 * earlier position's keys and values. The step is one parallel region in
 * which threads share each product by chunks of rows without a barrier
 * per product (see src/nn/gpt.c); the same bits for any thread count.
 */
void gpt_kv_step(const struct gpt *g, struct gpt_kv *kv, uint32_t id);
/*
 * Fill an empty cache with ids[0..n) (ids[0] is normally the BOS) in one
 * forward pass: matrix products instead of n matrix-vector ones, the same
 * results as n steps up to the order of the sums. Leaves the logits after
 * ids[n - 1]. view is the model, or a copy of its struct with activations
 * of its own (gpt_alloc), for at least one row of n positions; they are
 * overwritten. Cannot fail: whatever memory it needs is the view's.
 */
void gpt_kv_prefill(struct gpt *view, struct gpt_kv *kv, const uint32_t *ids, size_t n);

/* ------------------------------------------------------------------------
 * AdamW and the learning-rate schedule
 * ------------------------------------------------------------------------ */

struct adamw_config {
	double lr;            /* peak learning rate */
	double min_lr;        /* floor of the cosine (a fraction of lr is typical) */
	double beta1, beta2;
	double eps;
	double weight_decay;  /* decoupled (Loshchilov & Hutter 2019), matrices only */
	double clip;          /* clip by global gradient norm; 0: off */
	uint64_t warmup;      /* linear warmup steps */
	uint64_t steps;       /* total steps: the cosine reaches min_lr here */
};

struct adamw {
	struct adamw_config cfg;
	float   *m, *v;       /* (nparams) first and second moments */
	size_t   n;
	uint64_t t;           /* steps taken */
};

int  adamw_new(struct adamw **out, const struct adamw_config *cfg, size_t n,
               struct ad_error *e);
void adamw_free(struct adamw *a);
/*
 * Learning rate at step (0-based): linear warmup to lr over `warmup` steps,
 * then half a cosine down to min_lr at `steps` (Loshchilov & Hutter 2017,
 * SGDR, eq. 5, one cycle), min_lr after.
 */
double adamw_lr(const struct adamw_config *cfg, uint64_t step);
/*
 * The global L2 norm of the gradient, summed in double over fixed chunks
 * in a fixed order (so it does not depend on the thread count).
 */
double nn_grad_norm(const float *grad, size_t n);
/*
 * One AdamW step (Loshchilov & Hutter 2019, algorithm 2) on the model's
 * parameters with lr, after clipping the gradient to norm cfg.clip
 * (grad_norm is its norm, from nn_grad_norm). Decay applies to the tensors
 * gpt_tensor_decays() selects.
 */
void adamw_step(struct adamw *a, struct gpt *g, double lr, double grad_norm);

/* ------------------------------------------------------------------------
 * The training objective: a plug-in point
 * ------------------------------------------------------------------------ */

/*
 * An objective is what the model is trained to do, and nothing else: what
 * a batch is (inputs, targets, and the mask of the positions that carry
 * loss, for B rows of Tb tokens) and which keys each position may attend
 * to. The loss head is the model's (cross-entropy over the masked
 * positions), so the trainer, the data-parallel step and the training run
 * are the same for every objective. Two instances: causal next-token
 * prediction, and BERT's masked tokens (Devlin et al. 2019, section 3.1:
 * inputs with some positions hidden, targets the original tokens, the loss
 * on the chosen positions only, full attention).
 */
struct nn_batch {
	size_t    B, Tb;
	uint32_t *inputs;   /* (B, Tb) */
	uint32_t *targets;  /* (B, Tb) */
	uint8_t  *mask;     /* (B, Tb) 1 where the loss counts */
	size_t    counted;  /* positions with mask 1 */
};

/* Bits of a token's word class (nn_word_classes): whether its first and
 * its last byte are word bytes (an ASCII letter or digit, or any byte of a
 * multi-byte UTF-8 character). */
enum { NN_WORD_FIRST = 1, NN_WORD_LAST = 2 };

struct nn_objective {
	const char        *name;       /* stored in checkpoints; at most 15 bytes */
	enum nn_attention  attention;
	/* Tokens of stream a row consumes (for choosing start offsets). */
	size_t (*row_tokens)(size_t Tb);
	/*
	 * Fill row b of the batch (inputs, targets, mask) from stream[start ...];
	 * the stream has n tokens. rng is the trainer's data sampler, for
	 * objectives that draw (which positions to hide), or NULL in
	 * evaluation (then what is drawn is a function of start alone).
	 * Returns the positions of the row that carry loss.
	 */
	size_t (*make_row)(const struct nn_objective *obj, const struct gpt_config *cfg,
	                   struct nn_batch *batch, size_t b, const uint32_t *stream, size_t n,
	                   size_t start, struct ad_rng *rng);
	/* The masked objective's recipe (unused by the causal one). */
	double             mask_rate;   /* fraction of a row's tokens (or words) chosen */
	int                whole_word;  /* choose whole words: every piece of one together */
	const uint8_t     *word_class;  /* (V) NN_WORD_* bits of each token, when whole_word
	                                 * (borrowed; NULL: every token is a word) */
};

/* Causal next-token prediction: inputs BOS x0 .. x_{Tb-2}, targets x0 .. x_{Tb-1}. */
extern const struct nn_objective nn_objective_causal;
/*
 * Masked tokens (BERT's recipe, Devlin et al. 2019, section 3.1 and
 * appendix A.1): a row is BOS x0 .. x_{Tb-2}; of its n tokens,
 * k = max(1, round(mask_rate n)) positions are chosen uniformly (with
 * whole_word: k words of the row's words, every piece of each), and of the
 * chosen, 80% become GPT_MASK, 10% a token drawn uniformly from the V ids,
 * 10% stay; targets are the original tokens, the loss on the chosen
 * positions only. Each row's draws come from a generator seeded by one
 * 64-bit draw of the trainer's sampler (so a window seen again gets new
 * masks: RoBERTa's dynamic masking, Liu et al. 2019, section 4.1), and in
 * evaluation from its start offset. mask_rate 0.15, whole_word 0 here: a
 * run copies the struct to change them.
 */
extern const struct nn_objective nn_objective_masked;
/* The objective called name (the recipe the default one), or NULL. */
const struct nn_objective *nn_objective_find(const char *name);
/*
 * Word boundaries from a tokenizer's bytes, for whole-word masking: out (V)
 * gets the NN_WORD_* bits of each id's bytes (bpe NULL: byte-level ids,
 * V = 256). A token continues the word of the token before it when its
 * first byte and that token's last byte are both word bytes; any other
 * token (one that starts with a space, a punctuation mark or a newline, or
 * follows one) begins a word.
 */
struct bpe;
void nn_word_classes(uint8_t *out, const struct bpe *bpe, uint32_t V);

int  nn_batch_new(struct nn_batch *b, size_t B, size_t Tb, struct ad_error *e);
void nn_batch_free(struct nn_batch *b);

/* ------------------------------------------------------------------------
 * Training state and the trainer
 * ------------------------------------------------------------------------ */

/* What a training run was configured with: stored so --resume repeats it. */
struct nn_train_state {
	uint64_t step;          /* optimiser steps completed */
	uint64_t steps;         /* planned total steps */
	uint64_t seed;
	uint32_t batch, accum, context;
	uint32_t threads;       /* informational: results do not depend on it */
	uint64_t warmup;
	double   lr, min_lr, beta1, beta2, eps, weight_decay, clip;
	struct ad_rng rng;      /* the data sampler: decides the next batch */
	uint64_t tokens_seen;   /* data position: target tokens trained on so far */
	uint64_t data_hash;     /* XXH64 of the training token stream */
	uint64_t data_tokens;   /* its length */
	double   elapsed;       /* seconds trained before this checkpoint */
	double   last_val;      /* last validation loss (NaN when none) */
	char     objective[16];
	uint32_t precision;     /* enum nn_precision of the products (file flag 4) */
};

/* The optimiser's configuration a training state holds. */
struct adamw_config nn_train_adamw_config(const struct nn_train_state *st);

/* Which of a run's options were given (NN_GIVEN_*, or-ed together). */
enum {
	NN_GIVEN_STEPS  = 1,
	NN_GIVEN_LR     = 2,
	NN_GIVEN_MIN_LR = 4,
	NN_GIVEN_WARMUP = 8,
	NN_GIVEN_WD     = 16,
	NN_GIVEN_CLIP   = 32,
};

/* A run's options as the command has them; `given` says which were given. */
struct nn_train_options {
	uint64_t steps;          /* planned steps */
	uint64_t seed;           /* of the data sampler (the parameters' is the caller's) */
	uint32_t batch;          /* the global batch: sequences per optimiser step */
	uint32_t accum, context;
	uint64_t warmup;
	double   lr, min_lr, weight_decay, clip;
	enum nn_precision precision;   /* of the products (mixed precision: nn_gemm) */
	unsigned given;
};

/*
 * A new run's state for the objective obj: what was not given takes its
 * default (warmup steps / 20, at most 200; min_lr lr / 10), AdamW's betas
 * are 0.9 and 0.95 and its eps 1e-8 (GPT-3's, Brown et al. 2020, appendix
 * B), and the data sampler is seeded from the seed. The training text's
 * hash and length, and the threads, are the caller's to fill.
 */
void nn_train_state_init(struct nn_train_state *st, const struct nn_train_options *o,
                         const struct nn_objective *obj);
/*
 * On resume: the given steps, and the given optimiser options, replace the
 * checkpoint's from this step on (a new lr without a min_lr moves the floor
 * to lr / 10, its default). Returns whether an optimiser option changed (the
 * run is then no longer the one an uninterrupted run would have been).
 */
int  nn_train_state_override(struct nn_train_state *st, const struct nn_train_options *o);

struct nn_step_stats {
	double loss;        /* mean training loss over the step's batches */
	double lr;          /* learning rate applied */
	double grad_norm;   /* global norm before clipping */
};

/*
 * A trainer borrows the model, the optimiser, the objective and the token
 * stream (all must outlive it) and sizes the model's activations for
 * (st->batch, st->context).
 */
struct nn_dist;   /* dist.h: the MPI job */

struct nn_trainer {
	struct gpt                *g;
	struct adamw              *opt;
	const struct nn_objective *obj;
	struct nn_batch            batch;   /* this process's rows of the step's batch */
	struct nn_train_state      st;
	const uint32_t            *train;
	size_t                     ntrain;
	struct nn_dist            *dist;    /* the MPI job (nn_dist_trainer_new), or NULL */
	const uint32_t            *targets; /* (ntrain) what the causal objective is trained to
	                                     * predict at each stream position in place of the
	                                     * stream itself (label noise), or NULL */
};

int  nn_trainer_new(struct nn_trainer **out, struct gpt *g, struct adamw *opt,
                    const struct nn_objective *obj, const struct nn_train_state *st,
                    const uint32_t *train, size_t ntrain, struct ad_error *e);
void nn_trainer_free(struct nn_trainer *tr);
/*
 * Train on targets (ntrain tokens < V, borrowed) instead of the stream's
 * own next tokens: a row's inputs stay the clean stream, its target at the
 * position of stream[i] becomes targets[i] (data_label_noise makes them).
 * Causal objective only (a masked row's targets are not stream positions
 * one to one): AD_EINVAL otherwise.
 */
int  nn_trainer_set_targets(struct nn_trainer *tr, const uint32_t *targets, struct ad_error *e);
/*
 * One optimiser step: st.accum batches forward and backward, the gradient
 * norm, clipping, AdamW at the scheduled rate. A non-finite loss or norm
 * returns AD_ENUMERIC before the parameters are touched.
 */
int  nn_trainer_step(struct nn_trainer *tr, struct nn_step_stats *s, struct ad_error *e);
/*
 * The parts of a step, shared by nn_trainer_step and the data-parallel
 * step (dist.c). nn_trainer_draw draws the rows of a batch of size x B
 * rows (B = tr->batch.B) with the trainer's sampler, in the same generator
 * calls as one process drawing all of them: rows rank*B .. rank*B+B-1 go
 * into tr->batch, the others into scratch (one row; NULL when size is 1)
 * and are dropped; it returns the count of target positions of all rows.
 * nn_trainer_pass runs forward and backward on tr->batch, gradient scaled
 * by scale, hook as in gpt_backward_hooked (NULL: none), and leaves the
 * batch's mean loss in *loss. nn_trainer_finish ends a step whose loss
 * and gradient are final: a non-finite loss or gradient norm is AD_ENUMERIC
 * before the parameters are touched; otherwise AdamW at the scheduled rate,
 * the step counted, and s filled.
 */
size_t nn_trainer_draw(struct nn_trainer *tr, int rank, int size, struct nn_batch *scratch);
int    nn_trainer_pass(struct nn_trainer *tr, float scale, void (*hook)(void *ctx, size_t s),
                       void *ctx, double *loss, struct ad_error *e);
int    nn_trainer_finish(struct nn_trainer *tr, double loss, struct nn_step_stats *s,
                         struct ad_error *e);
/*
 * Total nats of the objective obj over ids[0..n) (at most max_tokens, 0:
 * all) in windows of obj->row_tokens(g->Tb) tokens, each opened by BOS,
 * g->B windows per forward; *count is the number of positions scored (every
 * token for the causal objective). Causal windows do not overlap and the
 * last may be short; a masked model sees the whole window, so its last
 * window ends at the text's end instead (overlapping the one before) when
 * the text holds a whole window, and its masks are those of evaluation
 * (fixed by each window's start: the same at every evaluation).
 */
int  nn_evaluate(struct gpt *g, const struct nn_objective *obj, const uint32_t *ids, size_t n,
                 size_t max_tokens, double *nats, size_t *count, struct ad_error *e);
/* The same with the causal objective's targets taken from targets (n) in
 * place of ids (the training loss under label noise); targets NULL: ids. */
int  nn_evaluate_targets(struct gpt *g, const struct nn_objective *obj, const uint32_t *ids,
                         const uint32_t *targets, size_t n, size_t max_tokens, double *nats,
                         size_t *count, struct ad_error *e);

/* ------------------------------------------------------------------------
 * The training run: the loop around the trainer (loop.c)
 * ------------------------------------------------------------------------ */

/*
 * Fitting the schedule to a time budget when no step count is given: the
 * planned steps are fitted to the time of steps start+2 .. start+4 (the
 * first one also pays for page faults), then refitted every twentieth of
 * the budget to the mean time of every step since the first (validation
 * included), so that a machine that gets faster or slower half-way neither
 * ends the schedule early nor stops before its end. The warmup is set by
 * the first fit (steps / 20, at most 200) when fit_warmup.
 */
struct nn_budget {
	double   budget;      /* seconds of training */
	uint64_t start;       /* the step the run started from */
	int      fit_warmup;  /* the first fit sets the warmup too */
	double   t_first;     /* elapsed seconds at the end of step start + 1 */
	double   t_refit;     /* elapsed seconds from which the next refit is due */
};

/*
 * After step `step` ended at `elapsed` seconds: when the schedule is
 * (re)fitted now, set *steps (and, at the first fit with fit_warmup,
 * *warmup) and return 1; otherwise return 0 and leave them. The fitted
 * count is at least step + 1 and at most UINT64_MAX / 8.
 */
int nn_budget_update(struct nn_budget *b, uint64_t step, double elapsed, uint64_t *steps,
                     uint64_t *warmup);

/* What a training run does around the steps (the command's options). */
struct nn_run_config {
	const uint32_t *val;         /* held-out stream, evaluated on rank 0 */
	size_t          nval;        /* its tokens; 0: no evaluation */
	uint64_t        val_every;   /* evaluate every N steps; 0: at the end only */
	uint64_t        val_tokens;  /* evaluate at most N tokens; 0: all */
	uint64_t        ckpt_every;  /* call the checkpoint hook every N steps; 0: never */
	uint64_t        stop_at;     /* pause after step N (as if interrupted); 0: no */
	double          budget;      /* stop after this many seconds of training; 0: none */
	int             fit_budget;  /* fit the planned steps to the budget (nn_budget) */
	int             fit_warmup;  /* and the warmup, at the first fit */
	/* The training loss, evaluated with the held-out text (at most
	 * val_tokens of the stream's start, against train_targets when not
	 * NULL): the curve that shows when a model fits its training data. */
	const uint32_t *train;       /* the training stream, or NULL: not evaluated */
	const uint32_t *train_targets;
	size_t          ntrain;
};

/* One step as the step hook sees it. */
struct nn_run_step {
	uint64_t step;          /* steps completed */
	uint64_t steps;         /* planned total (a budget's fit changes it) */
	int      refit;         /* the schedule was fitted at this step */
	double   loss, lr, grad_norm;   /* nn_step_stats */
	double   val;           /* held-out loss evaluated after this step; NaN: none */
	double   train_val;     /* training loss evaluated with it (nn_run_config.train);
	                         * NaN: none */
	double   last_val;      /* the last held-out loss; NaN: none yet */
	double   tokens_per_s;  /* this step's rate */
	double   elapsed;       /* seconds of training, sessions before a resume included */
};

/*
 * What the caller does at the run's events; every member may be NULL. The
 * loop prints nothing and writes no file: the hooks do. step and
 * checkpoint are called on rank 0 only; stop on every rank (with more than
 * one, rank 0's answer is broadcast).
 */
struct nn_run_hooks {
	void   *ctx;
	/* After each step, its evaluation and its fit (log lines, progress). */
	void   (*step)(void *ctx, const struct nn_run_step *s);
	/* Every ckpt_every steps, after the step hook: save tr (the command
	 * writes the checkpoint file); nonzero fails the run with e. */
	int    (*checkpoint)(void *ctx, const struct nn_trainer *tr, struct ad_error *e);
	/* Whether a stop was asked for (a signal's flag): polled between steps. */
	int    (*stop)(void *ctx);
	/* The clock in seconds (NULL: ad_now); tests pass their own. */
	double (*now)(void *ctx);
};

/* Why a run ended. */
enum nn_run_end {
	NN_RUN_DONE,      /* the planned steps are done */
	NN_RUN_BUDGET,    /* the time budget is spent */
	NN_RUN_STOP_AT,   /* stop_at was reached */
	NN_RUN_STOPPED,   /* the stop hook asked */
};

struct nn_run_result {
	enum nn_run_end end;
	uint64_t start;        /* the step the run started from */
	double   last_val;     /* the last held-out loss (NaN: none) */
	uint64_t val_step;     /* its step; 0: from before the run (a checkpoint's) */
	int      saved;        /* the checkpoint hook succeeded during the run */
	uint64_t saved_step;   /* at this step */
	int      step_failed;  /* the error came from a step (a divergence: AD_ENUMERIC,
	                        * or the MPI job), not from evaluation or a hook */
};

/*
 * Train from tr->st.step until the planned steps are done, the budget is
 * spent, stop_at is reached or the stop hook asks: each step (over the MPI
 * job when tr->dist is set), then the budget's fit, the evaluation, the
 * step hook, the checkpoint cadence, and the decision to stop. tr->st
 * holds the state to save afterwards (its elapsed time and last held-out
 * loss included). On failure *r still says what was saved.
 */
int nn_train_run(struct nn_trainer *tr, const struct nn_run_config *c,
                 const struct nn_run_hooks *h, struct nn_run_result *r, struct ad_error *e);

/* ------------------------------------------------------------------------
 * Checkpoints and model files
 * ------------------------------------------------------------------------ */

#define NN_MAGIC   "ADGPT\x00\x00\x01"
#define NN_VERSION 2   /* 2 added the training text's hash; 1 is still read */


/* The tokenizer a model belongs to: a BPE vocabulary (embedded) or bytes. */
enum nn_tok_kind { NN_TOK_BYTES = 1, NN_TOK_BPE = 2 };

struct nn_file {
	struct gpt_config     cfg;
	int                   masked;         /* trained on the masked objective (full
	                                       * attention, Vin = V + 2) */
	double                mask_rate;      /* its recipe (masked files only) */
	int                   whole_word;
	enum nn_tok_kind      tok_kind;
	uint64_t              tok_identity;   /* bpe_identity, or 0 for bytes */
	const void           *tok_blob;       /* the serialized vocabulary (BPE) */
	size_t                tok_len;
	uint64_t              text_hash;      /* the training text (struct lm); 0, 0 in */
	uint64_t              text_bytes;     /* version-1 files, which lack it */
	int                   has_train;      /* optimiser state and training state follow */
	struct nn_train_state train;
};

/*
 * Save a model (params) and, when opt is not NULL, the optimiser moments and
 * f->train, atomically: the old file stays whole until the new one is
 * complete. Format in man/autodidact-train-transformer.1.
 */
int nn_save(const char *path, const struct nn_file *f, const struct gpt *g,
            const struct adamw *opt, struct ad_error *e);
/*
 * Validate a file in memory (magic, version, sizes, checksum) and read its
 * header into f (tok_blob points into data). Returns the offset of the
 * parameters in *params_at.
 */
int nn_parse(const uint8_t *data, size_t size, const char *name, struct nn_file *f,
             size_t *params_at, struct ad_error *e);
/*
 * Load a validated file: a new model with its parameters and, when opt is
 * not NULL and the file has them, a new optimiser with its moments.
 */
int nn_load(const uint8_t *data, size_t size, const char *name, struct nn_file *f,
            struct gpt **g, struct adamw **opt, struct ad_error *e);

/* The lm.h opener for transformer model files (registered in lm.c). */
struct lm;
struct ad_map;
int nn_lm_open(struct lm **out, const char *path, struct ad_map *map, struct ad_error *e);
/*
 * For the kNN-LM (src/knn), which wraps a transformer opened by nn_lm_open:
 * the model behind m (NULL when m is not a causal transformer); the
 * context vector of a state of m (the kv cache's hid: C floats, the one
 * that predicts the next token); and a view of m's parameters with
 * activations for 1 x T (m's spare one, or a new one), to give back after
 * a batched forward pass.
 */
struct lm_state;
const struct gpt *nn_lm_gpt(const struct lm *m);
const float      *nn_lm_state_hidden(const struct lm_state *st);
int               nn_lm_view_take(const struct lm *m, struct gpt **view, struct ad_error *e);
void              nn_lm_view_give(const struct lm *m, struct gpt *view);
/*
 * The same interface around a model made elsewhere (an imported
 * checkpoint, src/nn/gpt2_import.c): takes ownership of g and bpe (freed
 * on failure too) and, when map is not NULL, of the mapped file, which is
 * kept until the model is freed (g's parameters may point into it; g's
 * param_mem holds only what was converted). what describes the tokens
 * and the source in the description.
 */
int nn_lm_wrap(struct lm **out, const char *path, struct gpt *g, struct bpe *bpe,
               struct ad_map *map, const char *what, struct ad_error *e);

#endif
