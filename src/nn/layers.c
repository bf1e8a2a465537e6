/*
 * layers.c — the layers of the transformer, each as an adjacent
 * forward/backward pair, fast (float, OpenMP) then naive (_ref, double).
 *
 * Input: activations of the previous layer; output: this layer's. Backward
 * passes ACCUMULATE into gradients the caller has zeroed, and each quotes
 * the forward line it differentiates. See nn.h for shapes and for why no
 * result depends on the thread count: every parallel loop below writes
 * disjoint outputs, and every reduction over rows runs over all rows in
 * order inside one thread.
 */
#include "config.h"

#include <assert.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LAYERS_X86 1
#endif

#include "nn/nn.h"

#define LN_EPS 1e-5
#define GELU_K 0.7978845608028654   /* sqrt(2 / pi) */
#define GELU_C 0.044715

/* Columns per chunk when a reduction over rows is split among threads. */
#define COL_CHUNK 64
/*
 * Loops over fewer elements than this stay on one thread: waking the team
 * costs more than the work (generation and scoring run batches of one
 * window). The split never changes a result, only who computes it.
 */
#define NN_PAR_MIN 65536

/* ------------------------------------------------------------------------
 * Vectorised exp and tanh. The layers spend more time in exp (softmax,
 * cross-entropy) and tanh (GELU) than anywhere but the matrix products, so
 * with AVX2 these run eight at a time: exp by range reduction to
 * [-ln2/2, ln2/2] and the degree-6 polynomial of Cephes' expf (relative
 * error about 2e-7), tanh(u) = 1 - 2 / (exp(2u) + 1). Sums run over eight
 * lanes then the lanes in a fixed order, so they depend on n only.
 * ------------------------------------------------------------------------ */

#ifdef LAYERS_X86
__attribute__((target("avx2,fma"))) static inline __m256
v_exp(__m256 x)
{
	const __m256 hi = _mm256_set1_ps(88.37f), lo = _mm256_set1_ps(-87.33f);
	const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
	const __m256 c1 = _mm256_set1_ps(0.693359375f), c2 = _mm256_set1_ps(-2.12194440e-4f);
	__m256  n, r, p;
	__m256i e;

	x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
	n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm256_fnmadd_ps(n, c1, x);
	r = _mm256_fnmadd_ps(n, c2, r);
	p = _mm256_set1_ps(1.9875691500e-4f);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
	p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
	e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
	return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma"))) static float
exp_sum_avx2(float *y, const float *x, size_t n, float scale, float shift)
{
	__m256 acc = _mm256_setzero_ps(), vs = _mm256_set1_ps(scale), vh = _mm256_set1_ps(shift);
	float  lanes[8], s = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 e = v_exp(_mm256_fmsub_ps(_mm256_loadu_ps(x + i), vs, vh));
		if (y != NULL)
			_mm256_storeu_ps(y + i, e);
		acc = _mm256_add_ps(acc, e);
	}
	_mm256_storeu_ps(lanes, acc);
	for (; i < n; i++) {
		float e = expf(x[i] * scale - shift);
		if (y != NULL)
			y[i] = e;
		s += e;
	}
	return LANES8(lanes, s);
}

/* 0.5 x (1 + tanh(k (x + c x^3))) and, when d is not NULL, d += g' * dout. */
__attribute__((target("avx2,fma"))) static size_t
gelu_avx2(float *out, float *d, const float *inp, const float *dout, size_t n)
{
	const __m256 k = _mm256_set1_ps((float)GELU_K), c = _mm256_set1_ps((float)GELU_C);
	const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
	const __m256 two = _mm256_set1_ps(2.0f), c3 = _mm256_set1_ps(3.0f * (float)GELU_C);
	size_t       i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 x = _mm256_loadu_ps(inp + i), x2 = _mm256_mul_ps(x, x);
		__m256 u = _mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_mul_ps(c, x2), x, x));
		__m256 th = _mm256_sub_ps(one, _mm256_div_ps(two,
		    _mm256_add_ps(v_exp(_mm256_add_ps(u, u)), one)));
		if (d == NULL) {
			_mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, th)));
		} else {
			__m256 sech2 = _mm256_fnmadd_ps(th, th, one);
			__m256 g = _mm256_add_ps(_mm256_mul_ps(half, _mm256_add_ps(one, th)),
			    _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(half, x), sech2),
			    _mm256_mul_ps(k, _mm256_fmadd_ps(c3, x2, one))));
			_mm256_storeu_ps(d + i, _mm256_fmadd_ps(g, _mm256_loadu_ps(dout + i),
			    _mm256_loadu_ps(d + i)));
		}
	}
	return i;
}
#endif

static float
exp_sum(float *y, const float *x, size_t n, float scale, float shift)
{
	float s = 0;

#ifdef LAYERS_X86
	if (nn_kernel_current() >= NN_KERNEL_AVX2)
		return exp_sum_avx2(y, x, n, scale, shift);
#endif
	for (size_t i = 0; i < n; i++) {
		float e = expf(x[i] * scale - shift);
		if (y != NULL)
			y[i] = e;
		s += e;
	}
	return s;
}

/* ------------------------------------------------------------------------
 * Encoder: token + position embedding
 * ------------------------------------------------------------------------ */

void
nn_encoder_forward(float *out, const uint32_t *inp, const float *wte, const float *wpe,
    size_t B, size_t T, size_t C)
{
	long BT = (long)(B * T);

	/* Race-free: each (b,t) row of out is written by one iteration. */
	#pragma omp parallel for schedule(static) if (B * T * C >= NN_PAR_MIN)
	for (long bt = 0; bt < BT; bt++) {
		size_t       t = (size_t)bt % T;
		float       *o = out + (size_t)bt * C;
		const float *e = wte + (size_t)inp[bt] * C, *p = wpe + t * C;
		for (size_t c = 0; c < C; c++)
			o[c] = e[c] + p[c];
	}
}

void
nn_encoder_backward(float *dwte, float *dwpe, const float *dout, const uint32_t *inp,
    size_t B, size_t T, size_t C)
{
	long nchunks = (long)((C + COL_CHUNK - 1) / COL_CHUNK);

	/* o[c] = e[c] + p[c]: de[c] += do[c], dp[c] += do[c]. Race-free: each
	 * chunk of channels is owned by one iteration, which runs over the rows
	 * in order (repeated tokens add up in a fixed order). */
	#pragma omp parallel for schedule(static) if (B * T * C >= NN_PAR_MIN)
	for (long ch = 0; ch < nchunks; ch++) {
		size_t c0 = (size_t)ch * COL_CHUNK, c1 = c0 + COL_CHUNK < C ? c0 + COL_CHUNK : C;
		for (size_t bt = 0; bt < B * T; bt++) {
			const float *d = dout + bt * C;
			float       *de = dwte + (size_t)inp[bt] * C, *dp = dwpe + (bt % T) * C;
			for (size_t c = c0; c < c1; c++) {
				de[c] += d[c];
				dp[c] += d[c];
			}
		}
	}
}

void
nn_encoder_forward_ref(double *out, const uint32_t *inp, const double *wte, const double *wpe,
    size_t B, size_t T, size_t C)
{
	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t < T; t++)
			for (size_t c = 0; c < C; c++)
				out[(b * T + t) * C + c] = wte[inp[b * T + t] * C + c] + wpe[t * C + c];
}

void
nn_encoder_backward_ref(double *dwte, double *dwpe, const double *dout, const uint32_t *inp,
    size_t B, size_t T, size_t C)
{
	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t < T; t++)
			for (size_t c = 0; c < C; c++) {
				double d = dout[(b * T + t) * C + c];
				dwte[inp[b * T + t] * C + c] += d;
				dwpe[t * C + c] += d;
			}
}

/* ------------------------------------------------------------------------
 * LayerNorm
 * ------------------------------------------------------------------------ */

void
nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
    const float *weight, const float *bias, size_t N, size_t C)
{
	/* Race-free: one row per iteration. */
	#pragma omp parallel for schedule(static) if (N * C >= NN_PAR_MIN)
	for (long n = 0; n < (long)N; n++) {
		const float *x = inp + (size_t)n * C;
		float       *o = out + (size_t)n * C;
		double       m, v, sm[8] = { 0 }, sv[8] = { 0 }, tm = 0, tv = 0;
		float        mf, sf;
		size_t       c;

		/* Sums in eight lanes, combined in a fixed order (LANES8), which
		 * the compiler vectorizes; one chain of dependent double adds made
		 * LayerNorm 2% of a training step of shape M. */
		for (c = 0; c + 8 <= C; c += 8)
			for (int j = 0; j < 8; j++)
				sm[j] += x[c + j];
		for (; c < C; c++)
			tm += x[c];
		m = LANES8(sm, tm) / (double)C;
		for (c = 0; c + 8 <= C; c += 8)
			for (int j = 0; j < 8; j++)
				sv[j] += (x[c + j] - m) * (x[c + j] - m);
		for (; c < C; c++)
			tv += (x[c] - m) * (x[c] - m);
		v = LANES8(sv, tv) / (double)C;
		mf = (float)m;
		sf = (float)(1.0 / sqrt(v + LN_EPS));
		for (c = 0; c < C; c++)
			o[c] = (x[c] - mf) * sf * weight[c] + bias[c];
		mean[n] = mf;
		rstd[n] = sf;
	}
}

void
nn_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
    const float *inp, const float *weight, const float *mean, const float *rstd,
    size_t N, size_t C)
{
	long nchunks = (long)((C + COL_CHUNK - 1) / COL_CHUNK);

	/* o = (x - mean) * rstd * w + b, per row. Race-free: rows are disjoint. */
	#pragma omp parallel for schedule(static) if (N * C >= NN_PAR_MIN)
	for (long n = 0; n < (long)N; n++) {
		const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
		float       *dx = dinp + (size_t)n * C;
		float        m = mean[n], s = rstd[n];
		double       dmean, dnormmean, sg[8] = { 0 }, sgx[8] = { 0 }, tg = 0, tgx = 0;
		size_t       c;

		/* With xhat = (x - m) s and g = d w: dx = s (g - mean(g) - xhat mean(g xhat)).
		 * The sums in eight lanes, as in the forward. */
		for (c = 0; c + 8 <= C; c += 8)
			for (int j = 0; j < 8; j++) {
				float g = d[c + j] * weight[c + j], xh = (x[c + j] - m) * s;
				sg[j] += g;
				sgx[j] += (double)g * xh;
			}
		for (; c < C; c++) {
			float g = d[c] * weight[c], xh = (x[c] - m) * s;
			tg += g;
			tgx += (double)g * xh;
		}
		dmean = LANES8(sg, tg) / (double)C;
		dnormmean = LANES8(sgx, tgx) / (double)C;
		for (c = 0; c < C; c++) {
			float g = d[c] * weight[c], xh = (x[c] - m) * s;
			dx[c] += s * (g - (float)dmean - xh * (float)dnormmean);
		}
	}
	/* dw[c] += sum over rows of d * xhat, db[c] += sum of d. Race-free: each
	 * chunk of channels is owned by one iteration, rows run in order. */
	#pragma omp parallel for schedule(static) if (N * C >= NN_PAR_MIN)
	for (long ch = 0; ch < nchunks; ch++) {
		size_t c0 = (size_t)ch * COL_CHUNK, c1 = c0 + COL_CHUNK < C ? c0 + COL_CHUNK : C;
		float  dw[COL_CHUNK], db[COL_CHUNK];

		memset(dw, 0, sizeof dw);
		memset(db, 0, sizeof db);
		for (size_t n = 0; n < N; n++) {
			const float *x = inp + n * C, *d = dout + n * C;
			float        m = mean[n], s = rstd[n];
			for (size_t c = c0; c < c1; c++) {
				dw[c - c0] += d[c] * ((x[c] - m) * s);
				db[c - c0] += d[c];
			}
		}
		for (size_t c = c0; c < c1; c++) {
			dweight[c] += dw[c - c0];
			dbias[c] += db[c - c0];
		}
	}
}

void
nn_layernorm_forward_ref(double *out, double *mean, double *rstd, const double *inp,
    const double *weight, const double *bias, size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++) {
		const double *x = inp + n * C;
		double        m = 0, v = 0, s;
		for (size_t c = 0; c < C; c++)
			m += x[c];
		m /= (double)C;
		for (size_t c = 0; c < C; c++)
			v += (x[c] - m) * (x[c] - m);
		v /= (double)C;
		s = 1.0 / sqrt(v + LN_EPS);
		for (size_t c = 0; c < C; c++)
			out[n * C + c] = (x[c] - m) * s * weight[c] + bias[c];
		mean[n] = m;
		rstd[n] = s;
	}
}

void
nn_layernorm_backward_ref(double *dinp, double *dweight, double *dbias, const double *dout,
    const double *inp, const double *weight, const double *mean, const double *rstd,
    size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++) {
		const double *x = inp + n * C, *d = dout + n * C;
		double        gm = 0, gxm = 0;
		for (size_t c = 0; c < C; c++) {
			double xh = (x[c] - mean[n]) * rstd[n];
			gm += d[c] * weight[c];
			gxm += d[c] * weight[c] * xh;
			dweight[c] += d[c] * xh;
			dbias[c] += d[c];
		}
		gm /= (double)C;
		gxm /= (double)C;
		for (size_t c = 0; c < C; c++) {
			double xh = (x[c] - mean[n]) * rstd[n];
			dinp[n * C + c] += rstd[n] * (d[c] * weight[c] - gm - xh * gxm);
		}
	}
}

/* ------------------------------------------------------------------------
 * Linear layer
 * ------------------------------------------------------------------------ */

void
nn_matmul_forward(float *out, const float *inp, const float *weight, const float *bias,
    size_t N, size_t C, size_t OC, enum nn_precision prec)
{
	nn_gemm(prec, 0, 1, N, OC, C, inp, C, weight, C, bias, out, OC, 0);
}

void
nn_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
    const float *inp, const float *weight, size_t N, size_t C, size_t OC, int add_dinp,
    enum nn_precision prec)
{
	/* out = inp weight^T + bias:
	 * dinp (+)= dout weight, dweight += dout^T inp, dbias += column sums of dout. */
	nn_gemm(prec, 0, 0, N, C, OC, dout, OC, weight, C, NULL, dinp, C, add_dinp);
	nn_gemm(prec, 1, 0, OC, C, N, dout, OC, inp, C, NULL, dweight, C, 1);
	if (dbias != NULL) {
		long nchunks = (long)((OC + COL_CHUNK - 1) / COL_CHUNK);
		/* Race-free: each chunk of output channels is owned by one iteration. */
		#pragma omp parallel for schedule(static) if (N * OC >= NN_PAR_MIN)
		for (long ch = 0; ch < nchunks; ch++) {
			size_t o0 = (size_t)ch * COL_CHUNK, o1 = o0 + COL_CHUNK < OC ? o0 + COL_CHUNK : OC;
			float  db[COL_CHUNK];
			memset(db, 0, sizeof db);
			for (size_t n = 0; n < N; n++)
				for (size_t o = o0; o < o1; o++)
					db[o - o0] += dout[n * OC + o];
			for (size_t o = o0; o < o1; o++)
				dbias[o] += db[o - o0];
		}
	}
}

void
nn_matmul_forward_ref(double *out, const double *inp, const double *weight, const double *bias,
    size_t N, size_t C, size_t OC)
{
	for (size_t n = 0; n < N; n++)
		for (size_t o = 0; o < OC; o++) {
			double s = bias != NULL ? bias[o] : 0;
			for (size_t c = 0; c < C; c++)
				s += inp[n * C + c] * weight[o * C + c];
			out[n * OC + o] = s;
		}
}

void
nn_matmul_backward_ref(double *dinp, double *dweight, double *dbias, const double *dout,
    const double *inp, const double *weight, size_t N, size_t C, size_t OC)
{
	for (size_t n = 0; n < N; n++)
		for (size_t o = 0; o < OC; o++) {
			double d = dout[n * OC + o];
			for (size_t c = 0; c < C; c++) {
				dinp[n * C + c] += d * weight[o * C + c];
				dweight[o * C + c] += d * inp[n * C + c];
			}
			if (dbias != NULL)
				dbias[o] += d;
		}
}

/* ------------------------------------------------------------------------
 * Self-attention, causal or full
 * ------------------------------------------------------------------------ */

/*
 * The largest of x[0..n), in eight lanes so that the compiler can vectorize
 * it: a maximum is exact, so the order does not change the result.
 */
static float
row_max(const float *x, size_t n)
{
	float  m[8], r = -INFINITY;
	size_t i = 0;

	if (n >= 8) {
		for (int j = 0; j < 8; j++)
			m[j] = x[j];
		for (i = 8; i + 8 <= n; i += 8)
			for (int j = 0; j < 8; j++)
				m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
		for (int j = 0; j < 8; j++)
			r = m[j] > r ? m[j] : r;
	}
	for (; i < n; i++)
		r = x[i] > r ? x[i] : r;
	return r;
}

/*
 * One of a head's products: C = or += op(A) op(B) over the triangle tri,
 * with op(B) packed once into pack (nn_sgemm_scratch). Without a pack
 * buffer, the whole product: the same sums, since the parts that the
 * triangle leaves out are zeros in A or unused in C.
 */
static void
att_product(float *pack, enum nn_tri tri, int transA, int transB, size_t M, size_t N, size_t K,
    const float *A, size_t lda, const float *B, size_t ldb, float *C, size_t ldc, int acc)
{
	if (pack == NULL) {
		nn_sgemm_serial(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, acc);
		return;
	}
	nn_sgemm_pack_b(pack, transB, B, ldb, K, N);
	nn_sgemm_tri(tri, transA, M, N, K, A, lda, pack, C, ldc, acc);
}

/* Floats of a head's pack buffer: op(B) is T x hs or hs x T. */
static size_t
att_pack_size(size_t T, size_t hs)
{
	size_t a = nn_sgemm_packed_size(T, hs), b = nn_sgemm_packed_size(hs, T);

	return a > b ? a : b;
}

void
nn_attention_forward(float *out, float *att, const float *inp, size_t B, size_t T, size_t C,
    size_t NH, enum nn_attention mask)
{
	nn_attention_forward_heads(out, att, inp, B, T, C, NH, mask, 0, B * NH);
}

void
nn_attention_forward_heads(float *out, float *att, const float *inp, size_t B, size_t T,
    size_t C, size_t NH, enum nn_attention mask, size_t bh0, size_t nbh)
{
	size_t hs = C / NH, C3 = 3 * C, np = att_pack_size(T, hs);
	int    full = mask == NN_ATTN_FULL;
	/* Full attention: whole products, every row over every key. */
	enum nn_tri cols = full ? NN_TRI_FULL : NN_TRI_COLS, kle = full ? NN_TRI_FULL : NN_TRI_KLE;
	float  scale = (float)(1.0 / sqrt((double)hs));
	long   end = (long)(bh0 + nbh);

	assert(bh0 + nbh <= B * NH);
	/* On failure, nn_sgemm_scratch is NULL: whole products, more slowly. */
	(void)nn_sgemm_reserve(np);
	/* Race-free: each (b, h) owns its T x T block of att and its hs columns of out. */
	#pragma omp parallel for schedule(static) if (nbh * T * T * (C / NH) >= 64 * NN_PAR_MIN)
	for (long bh = (long)bh0; bh < end; bh++) {
		size_t       b = (size_t)bh / NH, h = (size_t)bh % NH;
		const float *q = inp + b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
		float       *a = att + ((size_t)bh - bh0) * T * T, *o = out + b * T * C + h * hs;
		float       *pack = nn_sgemm_scratch(np);

		/* att = q k^T, row t against keys 0..t only (causal). */
		att_product(pack, cols, 0, 1, T, T, hs, q, C3, k, C3, a, T, 0);
		/* Softmax over the n = t + 1 (causal) or T (full) keys of the
		 * scaled scores (eq. 1 of Vaswani et al.). */
		for (size_t t = 0; t < T; t++) {
			/* scale > 0: the largest scaled score is the largest score, scaled. */
			size_t n = full ? T : t + 1;
			float *row = a + t * T, mx = row_max(row, n) * scale, inv;
			inv = 1.0f / exp_sum(row, row, n, scale, mx);
			for (size_t t2 = 0; t2 < n; t2++)
				row[t2] *= inv;
			memset(row + n, 0, (T - n) * sizeof *row);
		}
		/* out = att v, row t over values 0..t (causal). */
		att_product(pack, kle, 0, 0, T, hs, T, a, T, v, C3, o, C, 0);
	}
}

/*
 * logp = ln softmax(l) over V, for generation's next-token distribution:
 * the exponentials in fp32 (v_exp with AVX2, expf otherwise: about 2e-7
 * relative each), their sum in double, so the normaliser is off by about
 * 2e-7 relative and each log-probability by about 2e-7 absolute. With AVX2
 * the sum runs in eight double lanes added in a fixed order; the plain C
 * loop sums in order (other bits, the same precision). At GPT-2's 50,257
 * ids the libm double exp of each took ~2% of a bf16 generation step, on
 * thread 0 alone while the other threads waited.
 */
#ifdef LAYERS_X86
__attribute__((target("avx2,fma"))) static double
exp_sum_d_avx2(const float *l, size_t n, float mx)
{
	__m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
	__m256  vm = _mm256_set1_ps(mx);
	double  lanes[8], t = 0;
	size_t  i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 e = v_exp(_mm256_sub_ps(_mm256_loadu_ps(l + i), vm));
		a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
		a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
	}
	_mm256_storeu_pd(lanes, a0);
	_mm256_storeu_pd(lanes + 4, a1);
	for (; i < n; i++)
		t += expf(l[i] - mx);
	return LANES8(lanes, t);
}
#endif

void
nn_log_softmax(float *logp, const float *l, size_t V)
{
	float  mx = row_max(l, V);
	double s = 0, lse;

#ifdef LAYERS_X86
	if (nn_kernel_current() >= NN_KERNEL_AVX2)
		s = exp_sum_d_avx2(l, V, mx);
	else
#endif
		for (size_t v = 0; v < V; v++)
			s += expf(l[v] - mx);
	lse = (double)mx + log(s);
	for (size_t v = 0; v < V; v++)
		logp[v] = (float)((double)l[v] - lse);
}

/*
 * One query against n cached keys and values (a generation step, one
 * head): the softmax arithmetic of nn_attention_forward's rows (the largest
 * score, exp_sum, the reciprocal of the sum), with the two products of a
 * single row. With AVX2 and hs a multiple of 8: the scores four keys at a
 * time (q's loads shared, the four sums reduced together), and the output
 * in accumulators held in registers across all n values (64 columns, then
 * 8 at a time), instead of a dot and an axpy per key, each reloading and
 * storing the output: at GPT-2 124M's 12 x 12 heads of 64 this part took
 * ~7% of a bf16 generation step by perf (2-core Zen 5).
 */
#ifdef LAYERS_X86
__attribute__((target("avx2,fma"))) static void
attend_scores_avx2(float *att, const float *q, const float *K, size_t n, size_t hs)
{
	size_t t = 0;

	for (; t + 4 <= n; t += 4) {
		const float *k = K + t * hs;
		__m256       a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		for (size_t i = 0; i < hs; i += 8) {
			__m256 qv = _mm256_loadu_ps(q + i);
			a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + i), a0);
			a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + hs + i), a1);
			a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + 2 * hs + i), a2);
			a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + 3 * hs + i), a3);
		}
		/* Lanes j and j + 4 of hadd(hadd(a0, a1), hadd(a2, a3)) hold
		 * halves of key j's sum. */
		__m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
		_mm_storeu_ps(att + t, _mm_add_ps(_mm256_castps256_ps128(h),
		    _mm256_extractf128_ps(h, 1)));
	}
	for (; t < n; t++) {
		const float *k = K + t * hs;
		__m256       a0 = _mm256_setzero_ps();
		for (size_t i = 0; i < hs; i += 8)
			a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(k + i), a0);
		__m128 h = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
		h = _mm_add_ps(h, _mm_movehl_ps(h, h));
		att[t] = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
	}
}

/* o = inv sum_t p[t] V[t]. */
__attribute__((target("avx2,fma"))) static void
attend_values_avx2(float *o, const float *p, const float *V, size_t n, size_t hs, float inv)
{
	size_t c = 0;
	__m256 vi = _mm256_set1_ps(inv);

	for (; c + 64 <= hs; c += 64) {
		__m256 a[8];
		for (int j = 0; j < 8; j++)
			a[j] = _mm256_setzero_ps();
		for (size_t t = 0; t < n; t++) {
			__m256 pt = _mm256_set1_ps(p[t]);
			const float *v = V + t * hs + c;
			#pragma GCC unroll 8
			for (int j = 0; j < 8; j++)
				a[j] = _mm256_fmadd_ps(pt, _mm256_loadu_ps(v + 8 * j), a[j]);
		}
		for (int j = 0; j < 8; j++)
			_mm256_storeu_ps(o + c + 8 * j, _mm256_mul_ps(a[j], vi));
	}
	for (; c < hs; c += 8) {
		__m256 a = _mm256_setzero_ps();
		for (size_t t = 0; t < n; t++)
			a = _mm256_fmadd_ps(_mm256_set1_ps(p[t]), _mm256_loadu_ps(V + t * hs + c), a);
		_mm256_storeu_ps(o + c, _mm256_mul_ps(a, vi));
	}
}
#endif

void
nn_attend_one(float *o, const float *q, const float *K, const float *V, size_t n, size_t hs,
    float *att)
{
	float scale = (float)(1.0 / sqrt((double)hs)), mx, inv;

#ifdef LAYERS_X86
	if (hs % 8 == 0 && nn_kernel_current() >= NN_KERNEL_AVX2) {
		attend_scores_avx2(att, q, K, n, hs);
		mx = row_max(att, n) * scale;
		inv = 1.0f / exp_sum(att, att, n, scale, mx);
		attend_values_avx2(o, att, V, n, hs, inv);
		return;
	}
#endif
	for (size_t t = 0; t < n; t++)
		att[t] = nn_dot(q, K + t * hs, hs);
	mx = row_max(att, n) * scale;
	inv = 1.0f / exp_sum(att, att, n, scale, mx);
	memset(o, 0, hs * sizeof *o);
	for (size_t t = 0; t < n; t++)
		nn_axpy(o, att[t] * inv, V + t * hs, hs);
}

void
nn_attention_backward(float *dinp, float *datt, const float *dout, const float *inp,
    const float *att, size_t B, size_t T, size_t C, size_t NH, enum nn_attention mask)
{
	size_t hs = C / NH, C3 = 3 * C, np = att_pack_size(T, hs);
	int    full = mask == NN_ATTN_FULL;
	enum nn_tri cols = full ? NN_TRI_FULL : NN_TRI_COLS, kle = full ? NN_TRI_FULL : NN_TRI_KLE;
	enum nn_tri kge = full ? NN_TRI_FULL : NN_TRI_KGE;
	float  scale = (float)(1.0 / sqrt((double)hs));
	long   nbh = (long)(B * NH);

	(void)nn_sgemm_reserve(np);
	/* Race-free: each (b, h) owns its datt block and its hs columns of q, k, v in dinp. */
	#pragma omp parallel for schedule(static) if (B * NH * T * T * (C / NH) >= 64 * NN_PAR_MIN)
	for (long bh = 0; bh < nbh; bh++) {
		size_t       b = (size_t)bh / NH, h = (size_t)bh % NH;
		const float *q = inp + b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
		const float *a = att + (size_t)bh * T * T, *dO = dout + b * T * C + h * hs;
		float       *dq = dinp + b * T * C3 + h * hs, *dk = dq + C, *dv = dq + 2 * C;
		float       *da = datt + (size_t)bh * T * T, *pack = nn_sgemm_scratch(np);

		/* o = att v: datt = do v^T (row t, keys 0..t); dv[t2] += sum over
		 * t >= t2 of att[t][t2] do[t] (causal: att is zero above the
		 * diagonal; full: every t). */
		att_product(pack, cols, 0, 1, T, T, hs, dO, C, v, C3, da, T, 0);
		att_product(pack, kge, 1, 0, T, hs, T, a, T, dO, C, dv, C3, 1);
		/* a = softmax(s * scale): ds = scale * a (da - sum(a da)) over the
		 * row's n keys, zero past them. */
		for (size_t t = 0; t < T; t++) {
			size_t       n = full ? T : t + 1;
			const float *ar = a + t * T;
			float       *dr = da + t * T;
			float        dot = nn_dot(ar, dr, n);
			for (size_t t2 = 0; t2 < n; t2++)
				dr[t2] = scale * ar[t2] * (dr[t2] - dot);
			memset(dr + n, 0, (T - n) * sizeof *dr);
		}
		/* s = q k^T: dq[t] += sum over t2 <= t of ds[t][t2] k[t2],
		 * dk[t2] += sum over t >= t2 of ds[t][t2] q[t] (full: every t, t2). */
		att_product(pack, kle, 0, 0, T, hs, T, da, T, k, C3, dq, C3, 1);
		att_product(pack, kge, 1, 0, T, hs, T, da, T, q, C3, dk, C3, 1);
	}
}

void
nn_attention_forward_ref(double *out, double *att, const double *inp, size_t B, size_t T,
    size_t C, size_t NH, enum nn_attention mask)
{
	size_t hs = C / NH, C3 = 3 * C;
	double scale = 1.0 / sqrt((double)hs);

	for (size_t b = 0; b < B; b++)
		for (size_t h = 0; h < NH; h++)
			for (size_t t = 0; t < T; t++) {
				const double *q = inp + (b * T + t) * C3 + h * hs;
				double       *a = att + ((b * NH + h) * T + t) * T;
				double        mx = -INFINITY, sum = 0;
				/* The keys position t sees: 0..t, or all of them. */
				size_t        n = mask == NN_ATTN_FULL ? T : t + 1;
				for (size_t t2 = 0; t2 < T; t2++) {
					const double *k = inp + (b * T + t2) * C3 + C + h * hs;
					double        s = 0;
					if (t2 >= n) {
						a[t2] = 0;
						continue;
					}
					for (size_t i = 0; i < hs; i++)
						s += q[i] * k[i];
					a[t2] = s * scale;
					if (a[t2] > mx)
						mx = a[t2];
				}
				for (size_t t2 = 0; t2 < n; t2++) {
					a[t2] = exp(a[t2] - mx);
					sum += a[t2];
				}
				for (size_t t2 = 0; t2 < n; t2++)
					a[t2] /= sum;
				for (size_t i = 0; i < hs; i++) {
					double s = 0;
					for (size_t t2 = 0; t2 < n; t2++)
						s += a[t2] * inp[(b * T + t2) * C3 + 2 * C + h * hs + i];
					out[(b * T + t) * C + h * hs + i] = s;
				}
			}
}

void
nn_attention_backward_ref(double *dinp, const double *dout, const double *inp,
    const double *att, size_t B, size_t T, size_t C, size_t NH, enum nn_attention mask)
{
	size_t hs = C / NH, C3 = 3 * C;
	double scale = 1.0 / sqrt((double)hs);

	for (size_t b = 0; b < B; b++)
		for (size_t h = 0; h < NH; h++)
			for (size_t t = 0; t < T; t++) {
				const double *a = att + ((b * NH + h) * T + t) * T;
				const double *dO = dout + (b * T + t) * C + h * hs;
				double        dot = 0;
				size_t        n = mask == NN_ATTN_FULL ? T : t + 1;
				/* out[t] = sum_t2 a[t2] v[t2] */
				for (size_t t2 = 0; t2 < n; t2++) {
					const double *v = inp + (b * T + t2) * C3 + 2 * C + h * hs;
					double       *dv = dinp + (b * T + t2) * C3 + 2 * C + h * hs;
					double        d = 0;
					for (size_t i = 0; i < hs; i++) {
						d += dO[i] * v[i];
						dv[i] += a[t2] * dO[i];
					}
					dot += a[t2] * d;
				}
				/* a = softmax(s): ds[t2] = a[t2] (da[t2] - sum a da); s = scale q.k */
				for (size_t t2 = 0; t2 < n; t2++) {
					const double *v = inp + (b * T + t2) * C3 + 2 * C + h * hs;
					const double *q = inp + (b * T + t) * C3 + h * hs;
					const double *k = inp + (b * T + t2) * C3 + C + h * hs;
					double       *dq = dinp + (b * T + t) * C3 + h * hs;
					double       *dk = dinp + (b * T + t2) * C3 + C + h * hs;
					double        d = 0, ds;
					for (size_t i = 0; i < hs; i++)
						d += dO[i] * v[i];
					ds = a[t2] * (d - dot) * scale;
					for (size_t i = 0; i < hs; i++) {
						dq[i] += ds * k[i];
						dk[i] += ds * q[i];
					}
				}
			}
}

/* ------------------------------------------------------------------------
 * GELU (tanh approximation)
 * ------------------------------------------------------------------------ */

void
nn_gelu_forward(float *out, const float *inp, size_t n)
{
	long nchunks = (long)((n + 4095) / 4096);

	/* Race-free: elementwise, in chunks of 4096. */
	#pragma omp parallel for schedule(static) if (n >= NN_PAR_MIN)
	for (long ch = 0; ch < nchunks; ch++) {
		size_t i0 = (size_t)ch * 4096, len = n - i0 < 4096 ? n - i0 : 4096, i = 0;
#ifdef LAYERS_X86
		if (nn_kernel_current() >= NN_KERNEL_AVX2)
			i = gelu_avx2(out + i0, NULL, inp + i0, NULL, len);
#endif
		for (; i < len; i++) {
			float x = inp[i0 + i];
			out[i0 + i] = 0.5f * x * (1.0f + tanhf((float)GELU_K * (x + (float)GELU_C * x * x * x)));
		}
	}
}

void
nn_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
	/* out = 0.5 x (1 + tanh(u)), u = k (x + c x^3):
	 * dout/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) k (1 + 3 c x^2). Race-free:
	 * elementwise, in chunks of 4096. */
	long nchunks = (long)((n + 4095) / 4096);

	#pragma omp parallel for schedule(static) if (n >= NN_PAR_MIN)
	for (long ch = 0; ch < nchunks; ch++) {
		size_t i0 = (size_t)ch * 4096, len = n - i0 < 4096 ? n - i0 : 4096, j = 0;
#ifdef LAYERS_X86
		if (nn_kernel_current() >= NN_KERNEL_AVX2)
			j = gelu_avx2(NULL, dinp + i0, inp + i0, dout + i0, len);
#endif
		for (; j < len; j++) {
		size_t i = i0 + j;
		float x = inp[i];
		float u = (float)GELU_K * (x + (float)GELU_C * x * x * x);
		float th = tanhf(u);
		float g = 0.5f * (1.0f + th) +
		          0.5f * x * (1.0f - th * th) * (float)GELU_K * (1.0f + 3.0f * (float)GELU_C * x * x);
		dinp[i] += g * dout[i];
		}
	}
}

void
nn_gelu_forward_ref(double *out, const double *inp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double x = inp[i];
		out[i] = 0.5 * x * (1 + tanh(GELU_K * (x + GELU_C * x * x * x)));
	}
}

void
nn_gelu_backward_ref(double *dinp, const double *inp, const double *dout, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double x = inp[i], th = tanh(GELU_K * (x + GELU_C * x * x * x));
		dinp[i] += dout[i] * (0.5 * (1 + th) +
		    0.5 * x * (1 - th * th) * GELU_K * (1 + 3 * GELU_C * x * x));
	}
}

/* ------------------------------------------------------------------------
 * Residual
 * ------------------------------------------------------------------------ */

void
nn_residual_forward(float *out, const float *inp1, const float *inp2, size_t n)
{
	/* Race-free: elementwise. */
	#pragma omp parallel for simd schedule(static) if (n >= NN_PAR_MIN)
	for (long i = 0; i < (long)n; i++)
		out[i] = inp1[i] + inp2[i];
}

void
nn_residual_backward(float *dinp1, float *dinp2, const float *dout, size_t n)
{
	/* out = inp1 + inp2. Race-free: elementwise. */
	#pragma omp parallel for simd schedule(static) if (n >= NN_PAR_MIN)
	for (long i = 0; i < (long)n; i++) {
		dinp1[i] += dout[i];
		dinp2[i] += dout[i];
	}
}

/* ------------------------------------------------------------------------
 * Softmax cross-entropy
 * ------------------------------------------------------------------------ */

/* Max and sum of exp(l - max) of one row, in a fixed order. */
static void
ce_row_stats(const float *l, size_t V, float *mx, double *sum)
{
	float m = -INFINITY;

	for (size_t v = 0; v < V; v++)
		if (l[v] > m)
			m = l[v];
	*mx = m;
	*sum = exp_sum(NULL, l, V, 1.0f, m);
}

double
nn_crossentropy_forward(float *losses, const float *logits, const uint32_t *targets,
    const uint8_t *mask, size_t N, size_t V, size_t Vs)
{
	double total = 0;

	/* Race-free: one row per iteration. */
	#pragma omp parallel for schedule(static) if (N * V >= NN_PAR_MIN)
	for (long n = 0; n < (long)N; n++) {
		const float *l = logits + (size_t)n * Vs;
		float        mx;
		double       sum;
		if (mask != NULL && !mask[n]) {
			losses[n] = 0;
			continue;
		}
		ce_row_stats(l, V, &mx, &sum);
		/* -ln softmax(l)[y] = ln sum exp(l - max) - (l[y] - max) */
		losses[n] = (float)(log(sum) - ((double)l[targets[n]] - mx));
	}
	for (size_t n = 0; n < N; n++)
		total += losses[n];
	return total;
}

void
nn_crossentropy_backward(float *logits, const uint32_t *targets, const uint8_t *mask,
    float scale, size_t N, size_t V, size_t Vs)
{
	/* loss = ln sum exp(l) - l[y]: dl = scale (softmax(l) - onehot(y)). Race-free. */
	#pragma omp parallel for schedule(static) if (N * V >= NN_PAR_MIN)
	for (long n = 0; n < (long)N; n++) {
		float *l = logits + (size_t)n * Vs;
		float  mx, inv;
		double sum;
		if (mask != NULL && !mask[n]) {
			memset(l, 0, V * sizeof *l);
			continue;
		}
		ce_row_stats(l, V, &mx, &sum);
		inv = (float)(1.0 / sum);
		exp_sum(l, l, V, 1.0f, mx);
		for (size_t v = 0; v < V; v++)
			l[v] *= scale * inv;
		l[targets[n]] -= scale;
	}
}

double
nn_crossentropy_forward_ref(double *losses, const double *logits, const uint32_t *targets,
    const uint8_t *mask, size_t N, size_t V)
{
	double total = 0;

	for (size_t n = 0; n < N; n++) {
		const double *l = logits + n * V;
		double        mx = -INFINITY, s = 0;
		if (mask != NULL && !mask[n]) {
			losses[n] = 0;
			continue;
		}
		for (size_t v = 0; v < V; v++)
			mx = l[v] > mx ? l[v] : mx;
		for (size_t v = 0; v < V; v++)
			s += exp(l[v] - mx);
		losses[n] = log(s) + mx - l[targets[n]];
		total += losses[n];
	}
	return total;
}

void
nn_crossentropy_backward_ref(double *dlogits, const double *logits, const uint32_t *targets,
    const uint8_t *mask, double scale, size_t N, size_t V)
{
	for (size_t n = 0; n < N; n++) {
		const double *l = logits + n * V;
		double        mx = -INFINITY, s = 0;
		if (mask != NULL && !mask[n])
			continue;
		for (size_t v = 0; v < V; v++)
			mx = l[v] > mx ? l[v] : mx;
		for (size_t v = 0; v < V; v++)
			s += exp(l[v] - mx);
		for (size_t v = 0; v < V; v++)
			dlogits[n * V + v] += scale * (exp(l[v] - mx) / s - (v == targets[n]));
	}
}
