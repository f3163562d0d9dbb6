#!/usr/bin/env bash
# Builds the ring arena's C++ core (its memory block) with AddressSanitizer and UndefinedBehaviorSanitizer and runs
# its driver (test/sanitize/ring_arena_test.cc). Any out-of-bounds access, leak or UB aborts.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
g++ -std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
  -Wall -Wextra native/ring_arena.cc test/sanitize/ring_arena_test.cc -o "$out/ring_arena_test"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 "$out/ring_arena_test"
