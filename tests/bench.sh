#!/bin/sh
# bench.sh — bench/transformer.sh runs end to end under dash and mawk (the
# shell and awk of a fresh Debian) in seconds, and picks PyTorch's fastest
# OpenBLAS core type. The programs it measures are stubs printing fixed
# figures: autodidact 3,000 tokens/s on shape S and 1,800 on M (twice that
# with --precision bf16: 6,000 and 3,600); PyTorch, by
# the OpenBLAS kernels it is given, 400 (Prescott, what the stub OpenBLAS
# picks by itself, as Debian's did on CPUs it did not know), 900 (Haswell),
# 1,000 (Zen), 1,200 (SkylakeX) on S, half that on M, and 2,400 and 1,200
# under bf16 autocast. So every awk program of the script is parsed and run
# by mawk, and each figure it derives has a worked answer: S 3000/1200 =
# 2.50x, M 1800/600 = 3.00x with SkylakeX the fastest; fp32-vs-bf16 S
# 3000/2400 = 1.25x, M 1800/1200 = 1.50x; our bf16 S 6000/2400 = 2.50x
# and 6000/1200 = 5.00x, M 3600/1200 = 3.00x and 3600/600 = 6.00x against
# PyTorch's bf16 and its fp32 at its best; on a CPU without AVX-512 the
# AVX-512 types are skipped and Zen is the fastest (3000/1000 = 3.00x).
. "$AD_SRCDIR/tests/lib.sh"
MAWK=$(command -v mawk || true)
if [ -z "$MAWK" ] || [ ! -x /usr/bin/time ]; then
	echo "SKIP: needs mawk and /usr/bin/time (apt-get install mawk time)"
	exit 77
fi
DASH=$(command -v dash || echo sh)
B=$T/bin
mkdir "$B"
ln -s "$MAWK" "$B/awk"
# No compiler: the FMA peak (seconds of spinning) is left out.
printf '#!/bin/sh\nexit 1\n' >"$B/cc"

cat >"$T/ad" <<'EOF'
#!/bin/sh
# autodidact, as far as bench/transformer.sh reads it.
case "$1 $2" in
"tokenize train" | "train transformer")
	log= out= dim= prec=
	for a in "$@"; do
		case $prev in
		--log) log=$a ;; -o) out=$a ;; --dim) dim=$a ;; --precision) prec=$a ;;
		esac
		prev=$a
	done
	: >"$out"
	echo "autodidact: transformer: stub; kernel stub 8x32" >&2
	rate=3000
	[ "$dim" = 384 ] && rate=1800
	[ "$prec" = bf16 ] && rate=$((rate * 2))
	if [ -n "$log" ]; then
		echo "step,loss,val_loss,lr,grad_norm,tokens_per_s,elapsed" >"$log"
		# The first three steps (skipped by the script) are slow.
		for i in 1 2 3; do echo "$i,8.3,,0.001,1,10.0,1.0" >>"$log"; done
		for i in 4 5 6 7 8; do echo "$i,8.3,,0.001,1,$rate.0,1.0" >>"$log"; done
	fi ;;
"sample --timing")
	# bf16 weights: twice the fp32 rates (the ratio printed is 2.00x).
	m=1
	case " $* " in *" --precision bf16 "*) m=2 ;; esac
	for k in 1 2 3 4; do
		echo "autodidact: sample $k: tokens/s by position: 2-16 $((k * 100 * m)).0" \
		    "129-256 $(((k * 100 + 10) * m)).0 257-512 $(((k * 100 + 20) * m)).0," \
		    "2-1000 $(((k * 100 + 30) * m)).0" >&2
	done ;;
*) echo "stub autodidact: unexpected $*" >&2; exit 1 ;;
esac
EOF
cat >"$T/py" <<'EOF'
#!/bin/sh
# python3 with numpy, PyTorch and Debian's OpenBLAS 0.3.21, as far as
# bench/transformer.sh reads them: OpenBLAS picks Prescott by itself and
# does not know Cooperlake or SapphireRapids.
if [ -n "${OPENBLAS_L2_SIZE+set}" ]; then echo "stub python: OPENBLAS_L2_SIZE is set" >&2; exit 1; fi
case ${OPENBLAS_CORETYPE-} in
"") kern=Prescott ;;
Cooperlake | SapphireRapids) echo "Core not found: $OPENBLAS_CORETYPE" >&2; kern=Prescott ;;
*) kern=$OPENBLAS_CORETYPE ;;
esac
[ "${OPENBLAS_VERBOSE-}" = 2 ] && echo "Core: $kern" >&2
if [ "$1" = -c ]; then echo "peak: numpy/OpenBLAS sgemm 2048^3 50.0 GFLOP/s"; exit 0; fi
# transformer_torch.py L NH C T B V STEPS THREADS PRECISION
shift
case $kern in Prescott) r=400 ;; Haswell) r=900 ;; Zen) r=1000 ;; SkylakeX) r=1200 ;; *) exit 1 ;; esac
[ "$9" = bf16 ] && r=2400
[ "$3" = 384 ] && r=$((r / 2))
if [ "$9" = bf16 ] && [ "${DNNL_VERBOSE-}" = 1 ]; then
	# 3 (6 L + 1) = 75 products on shape S: 70 in oneDNN 2's format, 4 in
	# oneDNN 3's, one on fp32 inputs; lines that are no execution between.
	echo "onednn_verbose,info,cpu,isa:Intel AVX-512 with bfloat16 support"
	i=0
	while [ $i -lt 70 ]; do
		echo "onednn_verbose,exec,cpu,matmul,brg:avx512_core_bf16,undef,src_bf16::blocked:abc:f0 wei_bf16::blocked:abc:f0 dst_bf16::blocked:abc:f0,,,8x128x128:8x128x128,0.1"
		i=$((i + 1))
	done
	echo "onednn_verbose,primitive,create:cache_miss,cpu,matmul,brg:avx512_core_bf16,undef,src_bf16 wei_bf16,,,1x1:1x1,0.1"
	for i in 1 2 3 4; do
		echo "onednn_verbose,primitive,exec,cpu,matmul,brg:avx512_core_amx,undef,src_bf16::blocked:ab:f0 wei_bf16::blocked:ab:f0 dst_f32::blocked:ab:f0,,,128x512:512x128,0.1"
	done
	echo "onednn_verbose,exec,cpu,matmul,gemm:jit,undef,src_f32::blocked:ab:f0 wei_f32::blocked:ab:f0 dst_f32::blocked:ab:f0,,,128x512:512x128,0.1"
fi
echo "tokens_per_s=$r.0 steps=7 threads=$8 precision=$9"
EOF
chmod +x "$T/ad" "$T/py" "$B/cc"
echo "the text" >"$T/corpus.txt"
# A bf16 CPU with AVX-512 but no AMX, and one with AVX2 only.
printf 'model name\t: Stub CPU\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16 avx512_vnni\n' \
    >"$T/bf16.cpuinfo"
printf 'model name\t: Stub CPU\nflags\t\t: fpu sse2 avx avx2 fma\n' >"$T/avx2.cpuinfo"

# Both variables set, as on hosts here where they suit another program: the
# script clears them (the stub fails if OPENBLAS_L2_SIZE reaches it).
bench() {
	code=$1
	shift
	run "$code" env PATH="$B:$PATH" OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512 PY="$T/py" \
	    RUNS=1 "$@" "$DASH" "$AD_SRCDIR/bench/transformer.sh" "$T/ad" "$T/corpus.txt"
}
bench 0 CPUINFO="$T/bf16.cpuinfo" SHAPES="S M"
cp "$T/out" "$T/bf16.out"
has "$T/bf16.out" "machine: Stub CPU"
has "$T/bf16.out" "OpenBLAS core type SapphireRapids: skipped, this CPU lacks amx_tile"
has "$T/bf16.out" "shape S: PyTorch fp32, OPENBLAS_CORETYPE unset: OpenBLAS kernels Prescott, 400 tokens/s"
has "$T/bf16.out" "shape S: PyTorch fp32, OPENBLAS_CORETYPE SkylakeX: OpenBLAS kernels SkylakeX, 1200 tokens/s"
has "$T/bf16.out" "shape S: PyTorch fp32, OPENBLAS_CORETYPE Cooperlake: OpenBLAS kernels Prescott, 400 tokens/s (median of 1 runs) (this OpenBLAS does not know Cooperlake; it chose by itself)"
has "$T/bf16.out" "shape S: PyTorch fp32, OPENBLAS_CORETYPE Haswell: OpenBLAS kernels Haswell, 900 tokens/s"
has "$T/bf16.out" "shape M: PyTorch fp32, OPENBLAS_CORETYPE Zen: OpenBLAS kernels Zen, 500 tokens/s"
has "$T/bf16.out" "autodidact 3000 tokens/s, PyTorch fp32 at its best 1200 tokens/s (OPENBLAS_CORETYPE SkylakeX, kernels SkylakeX), ratio 2.50x; 24.8 vs 9.9 GFLOP/s"
has "$T/bf16.out" "autodidact 1800 tokens/s, PyTorch fp32 at its best 600 tokens/s (OPENBLAS_CORETYPE SkylakeX, kernels SkylakeX), ratio 3.00x"
has "$T/bf16.out" "PyTorch bf16 check (shape S, one training step, DNNL_VERBOSE=1): 74 of its 75 products ran as oneDNN bf16 matmuls (brg:avx512_core_bf16, brg:avx512_core_amx); 1 other oneDNN matmuls"
has "$T/bf16.out" "shape S: PyTorch bf16 (torch.autocast) 2400 tokens/s"
has "$T/bf16.out" "autodidact fp32 / PyTorch bf16 = 1.25x (fp32 against bf16, not like for like"
has "$T/bf16.out" "autodidact fp32 / PyTorch bf16 = 1.50x (fp32 against bf16, not like for like"
has "$T/bf16.out" "shape S: autodidact bf16 (--precision bf16) 6000 tokens/s"
has "$T/bf16.out" "/ PyTorch bf16 = 2.50x, / PyTorch fp32 at its best = 5.00x (medians of 1 runs)"
has "$T/bf16.out" "shape M: autodidact bf16 (--precision bf16) 3600 tokens/s"
has "$T/bf16.out" "/ PyTorch bf16 = 3.00x, / PyTorch fp32 at its best = 6.00x (medians of 1 runs)"
# Generation: the lower median of the four samples, 200-230 tokens/s.
has "$T/bf16.out" "generation, shape M, batch 1, tokens 2-16: 200 tokens/s"
has "$T/bf16.out" "generation, shape M, batch 1, tokens 129-256 (the cache fills, then slides): 210 tokens/s"
has "$T/bf16.out" "generation, shape M, batch 1, tokens 257-512 (the cache slides): 220 tokens/s"
has "$T/bf16.out" "generation, shape M, batch 1, tokens 2-1000 (all but the first): 230 tokens/s"
# The stub's bf16 rates are twice its fp32 ones: medians 460 and 230.
has "$T/bf16.out" "generation in bf16 (--precision bf16: bf16 weights), shape M, batch 1, tokens 2-1000: 460 tokens/s, 2.00x fp32"
n=$(grep -c 'PyTorch fp32, OPENBLAS_CORETYPE' "$T/bf16.out")
[ "$n" -eq 10 ] && ok || fail "expected 5 core types on 2 shapes, got $n lines: $(cat "$T/bf16.out")"

bench 0 CPUINFO="$T/avx2.cpuinfo" SHAPES=S GEN=0
has "$T/out" "OpenBLAS core type SkylakeX: skipped, this CPU lacks avx512f"
has "$T/out" "OpenBLAS core type Cooperlake: skipped, this CPU lacks avx512f"
has "$T/out" "autodidact 3000 tokens/s, PyTorch fp32 at its best 1000 tokens/s (OPENBLAS_CORETYPE Zen, kernels Zen), ratio 3.00x"
grep -q bf16 "$T/out" && fail "bf16 figures on a CPU without bf16: $(cat "$T/out")" || ok

bench 2 CPUINFO="$T/avx2.cpuinfo" CORETYPES="unset Skylake"
has "$T/err" "unknown OpenBLAS core type 'Skylake' in CORETYPES"
finish
