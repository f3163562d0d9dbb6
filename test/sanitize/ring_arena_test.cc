// Drives the ring arena's C++ core alone, for AddressSanitizer and UndefinedBehaviorSanitizer
// (scripts/sanitize.sh). The core is the block of memory (frames are pushed and counted in
// TypeScript over it: test/window/ring-property.test.ts runs random push/release sequences there,
// on this memory and on the TypeScript fallback's); what is checked here is what the block
// promises: its size for every shape, zeroed rows, every byte of it writable and readable (ASan
// flags a block shorter than byte_length()), and the refusals of zero and oversized shapes.
#include <cassert>
#include <cstdio>
#include <cstring>
#include <string>

#include "../../native/ring_arena.h"

using seismo::RingArena;
using seismo::RingError;

static bool Refused(uint32_t channels, uint32_t capacity, uint32_t slots) {
  try {
    RingArena a(channels, capacity, slots);
  } catch (const RingError& e) {
    return std::string(e.code()) == "ERR_INVALID_OPTION";
  }
  return false;
}

int main() {
  for (uint32_t channels : {1u, 3u, 38u}) {
    for (uint32_t capacity : {1u, 2u, 7u, 64u}) {
      for (uint32_t slots : {1u, 3u, 100u}) {
        RingArena a(channels, capacity, slots);
        assert(a.channels() == channels && a.capacity() == capacity && a.slots() == slots);
        assert(a.rows() == static_cast<uint64_t>(slots) * 2u * capacity);
        assert(a.byte_length() == a.rows() * channels * sizeof(float));
        const size_t floats = a.byte_length() / sizeof(float);
        float* p = a.data();
        for (size_t i = 0; i < floats; i++) assert(p[i] == 0.0f);
        // The last row of the last slot's mirror is the block's last float: writable, and read back.
        for (size_t i = 0; i < floats; i++) p[i] = static_cast<float>(i % 1024);
        assert(p[floats - 1] == static_cast<float>((floats - 1) % 1024));
        std::memset(p, 0, a.byte_length());
      }
    }
  }
  assert(Refused(0, 1, 1) && Refused(1, 0, 1) && Refused(1, 1, 0));
  // 2^31 slots * 2 * 2^31 rows * 1 channel * 4 bytes = 2^65 bytes: refused before any allocation.
  assert(Refused(1, 1u << 31, 1u << 31));
  // Just over 1 TiB (2^38 floats + 1 row) is refused too; 1 TiB exactly is not tried (it would allocate).
  assert(Refused(2, (1u << 31) + 1, 32));
  std::puts("ring_arena_test: ok");
  return 0;
}
