#!/usr/bin/env python3
"""Instructions per iteration of each kernel's main loop, from `cuobjdump -sass` output.

A main loop is a backward branch whose body holds the kernel's tensor-core or async-copy
instructions (HGMMA, HMMA, LDGSTS by default). For each kernel whose (mangled) name
contains FILTER, prints the loop's instruction count and its most frequent opcodes. Static
counts, not a profile: they say how much each thread issues per iteration, which is what
bounds an issue-bound loop (docs/conv.md). cuobjdump comes with the CUDA toolkit, or from
PyPI (`pip install nvidia-cuda-cuobjdump`).

  cuobjdump -sass build/kernels/CMakeFiles/sombrero_kernels.dir/conv/conv2d_forward.cu.o \\
      | tools/sass_loop.py WgmmaLarge
"""
import argparse
import re
import sys
from collections import Counter

INSTRUCTION = re.compile(r"\s*/\*([0-9a-f]{4,})\*/\s*(.*?)\s*;")
BACKWARD_TARGET = re.compile(r"\bBRA\s+(?:\S+\s+)?0x([0-9a-f]+)")
PREDICATE = re.compile(r"^@!?U?P\w+\s+")


# conv_gemm_kernel<Problem<T>, Config, Vectorized> as mangled by nvcc, to print it short.
CONV_KERNEL = re.compile(r"([A-Z][A-Za-z]*Problem)I(13__nv_bfloat16|f)EENS2_\d+(\w+?)ELb([01])")


def short_name(name):
    match = CONV_KERNEL.search(name)
    if not match:
        return name
    problem, element, config, vectorized = match.groups()
    element = "bf16" if element.endswith("bfloat16") else "f32"
    return f"{problem}<{element}> {config}{'' if vectorized == '1' else ' unvectorized'}"


def opcode(instruction):
    return PREDICATE.sub("", instruction).split()[0].split(".")[0]


def main_loops(body, markers):
    """(start, end, instructions) of each backward branch's body that holds a marker."""
    loops = []
    for address, text in body:
        match = BACKWARD_TARGET.search(text)
        if not match or int(match.group(1), 16) >= address:
            continue
        start = int(match.group(1), 16)
        inside = [t for a, t in body if start <= a <= address]
        if any(opcode(t) in markers for t in inside):
            loops.append((start, address, inside))
    return loops


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("filter", nargs="?", default="", help="part of the kernel's name")
    parser.add_argument("--markers", default="HGMMA,HMMA,LDGSTS",
                        help="opcodes that mark a main loop (comma-separated)")
    parser.add_argument("--top", type=int, default=8, help="opcodes listed per loop")
    args = parser.parse_args()
    markers = set(args.markers.split(","))
    found = False
    for function in re.split(r"\n\s*Function : ", sys.stdin.read())[1:]:
        name = function.split("\n", 1)[0].strip()
        if args.filter not in name:
            continue
        body = [(int(m.group(1), 16), m.group(2)) for m in INSTRUCTION.finditer(function)]
        for start, end, inside in main_loops(body, markers):
            found = True
            common = Counter(opcode(t) for t in inside).most_common(args.top)
            print(f"{len(inside):5d} instructions  {short_name(name)}  [{start:#x}, {end:#x}]")
            print("       " + " ".join(f"{op}:{n}" for op, n in common))
    if not found:
        sys.exit(f"sass_loop.py: no main loop in a kernel matching '{args.filter}'")


if __name__ == "__main__":
    main()
