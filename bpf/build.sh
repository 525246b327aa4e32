#!/usr/bin/env bash
# Regenerates the BPF objects probedex embeds from their sources:
# bpf/probe.bpf.o (from probe.bpf.c, what `probedex features` tries) and
# bpf/count.bpf.o (from count.bpf.c, what `probedex attach` counts with) and
# bpf/sample.bpf.o (from sample.bpf.c, what `attach --sample` records with;
# -mcpu=v3 for the atomic fetch-and-add its per-point limit needs).
# Only this needs clang; building probedex does not. Run from anywhere;
# compiled from the repository root with relative paths so the objects do
# not record where the checkout lives.
#
# With an argument DIR, writes both objects into DIR instead (what
# tests/features.rs does to compare them with the committed ones).
#
# DWARF is stripped after compiling (the .BTF and .BTF.ext sections the
# kernel needs stay): it records the compiler's version and directories,
# which would make the objects differ between machines for no reason.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bpf}
for name in probe count; do
  clang -target bpf -g -O2 -fno-ident -c "bpf/$name.bpf.c" -o "$out/$name.bpf.o"
  llvm-strip -g "$out/$name.bpf.o"
done
clang -target bpf -mcpu=v3 -g -O2 -fno-ident -c bpf/sample.bpf.c -o "$out/sample.bpf.o"
llvm-strip -g "$out/sample.bpf.o"
