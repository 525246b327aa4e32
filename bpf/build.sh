#!/usr/bin/env bash
# Regenerates bpf/probe.bpf.o from bpf/probe.bpf.c: the object
# `probedex features` embeds. Only this needs clang; building probedex
# does not. Run from anywhere; compiled from the repository root with a
# relative path so the object does not record where the checkout lives.
#
# DWARF is stripped after compiling (the .BTF and .BTF.ext sections the
# kernel needs stay): it records the compiler's version and directories,
# which would make the object differ between machines for no reason.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bpf/probe.bpf.o}
clang -target bpf -g -O2 -fno-ident -c bpf/probe.bpf.c -o "$out"
llvm-strip -g "$out"
