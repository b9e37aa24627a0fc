#!/usr/bin/env bash
# tools/sass_loop.py on a hand-written cuobjdump listing: it counts the body of the backward
# branch that holds the marker opcodes (HGMMA), names the conv kernel short, skips loops
# without a marker and kernels the filter leaves out, and fails when nothing matches.
set -euo pipefail
tool="$(dirname "$0")/../../tools/sass_loop.py"
listing='
	code for sm_90a
		Function : _ZN8sombrero7kernels4cuda10conv_igemm16conv_gemm_kernelINS2_50_GLOBAL__N__a1c45a51_17_conv2d_forward_cu_cf8ea13014ForwardProblemI13__nv_bfloat16EENS2_10WgmmaLargeELb1EEEvT_i
        /*0000*/                   MOV R1, c[0x0][0x28] ;
        /*0010*/                   IMAD R2, R3, 0x2, R4 ;
        /*0020*/              @!P0 LDGSTS.E.BYPASS.128 [R5], desc[UR4][R6.64], P1 ;
        /*0030*/                   HGMMA.64x128x16.F32.BF16 R24, gdesc[UR20], R24 ;
        /*0040*/               @P2 BRA 0x10 ;
        /*0050*/                   IADD3 R7, R7, 0x1, RZ ;
        /*0060*/               @P3 BRA 0x50 ;
        /*0070*/                   EXIT ;
		Function : _Z5otherv
        /*0000*/                   HGMMA.64x128x16.F32.BF16 R24, gdesc[UR20], R24 ;
        /*0010*/                   BRA 0x0 ;
'
got=$(printf '%s' "$listing" | python3 "$tool" Wgmma)
echo "$got"
grep -q '^    4 instructions  ForwardProblem<bf16> WgmmaLarge  \[0x10, 0x40\]$' <<<"$got"
grep -q 'HGMMA:1' <<<"$got"
[ "$(grep -c instructions <<<"$got")" -eq 1 ]  # not the marker-free loop at 0x50
if printf '%s' "$listing" | python3 "$tool" NoSuchKernel 2>/dev/null; then
  echo "expected a failure for a filter that matches nothing" >&2
  exit 1
fi
echo "sass_loop_test: ok"
