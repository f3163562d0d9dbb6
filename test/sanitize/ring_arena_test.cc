// Drives the ring arena's C++ core alone, for AddressSanitizer and UndefinedBehaviorSanitizer
// (scripts/sanitize.sh): every code path of Push/Release/RowOf, wraps at every offset, pushes
// larger than the capacity, both overflow policies, and the error paths.
#include <cassert>
#include <cstdio>
#include <vector>

#include "../../native/ring_arena.h"

using seismo::OverflowPolicy;
using seismo::RingArena;
using seismo::RingError;

static std::vector<float> Frames(uint64_t from, uint32_t n, uint32_t channels) {
  std::vector<float> out(static_cast<size_t>(n) * channels);
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t c = 0; c < channels; c++) out[static_cast<size_t>(i) * channels + c] = static_cast<float>((from + i) * 10 + c);
  return out;
}

static void CheckSpan(RingArena& a, uint32_t slot, uint64_t from, uint64_t to) {
  const uint64_t row = a.RowOf(slot, from);
  const float* p = a.data() + row * a.channels();
  for (uint64_t k = from; k < to; k++)
    for (uint32_t c = 0; c < a.channels(); c++) {
      const float expected = static_cast<float>(k * 10 + c);
      if (p[(k - from) * a.channels() + c] != expected) {
        std::fprintf(stderr, "slot %u frame %llu channel %u: got %f want %f\n", slot, static_cast<unsigned long long>(k), c,
                     p[(k - from) * a.channels() + c], expected);
        std::abort();
      }
    }
}

int main() {
  for (uint32_t capacity : {1u, 2u, 7u, 64u}) {
    for (uint32_t channels : {1u, 3u}) {
      RingArena reject(channels, capacity, 3, OverflowPolicy::kReject);
      RingArena drop(channels, capacity, 3, OverflowPolicy::kDropOldest);
      uint64_t written = 0;
      for (uint32_t step = 0; step < 200; step++) {
        const uint32_t n = 1 + (step * 7) % (capacity + 1);
        if (n > capacity) {
          bool threw = false;
          try {
            reject.Push(2, Frames(written, n, channels).data(), n);
          } catch (const RingError& e) {
            threw = true;
          }
          assert(threw);
        }
        const uint32_t m = n > capacity ? capacity : n;
        reject.Release(2, written + m > capacity ? written + m - capacity : 0);
        reject.Push(2, Frames(written, m, channels).data(), m);
        drop.Push(1, Frames(written, m, channels).data(), m);
        written += m;
        const uint64_t from = written > capacity ? written - capacity : 0;
        CheckSpan(reject, 2, from, written);
        CheckSpan(drop, 1, from, written);
      }
      // A drop-oldest push larger than the capacity keeps its tail.
      drop.Push(0, Frames(0, capacity * 3 + 1, channels).data(), capacity * 3 + 1);
      CheckSpan(drop, 0, capacity * 2 + 1, capacity * 3 + 1);
      bool threw = false;
      try {
        drop.RowOf(0, 0);
      } catch (const RingError&) {
        threw = true;
      }
      assert(threw);
    }
  }
  // Aliasing: a span of the slot pushed back into it (ASan flagged memcpy-param-overlap and the
  // mirror came out wrong before the staged copy), from the row half and from the mirror half.
  for (uint32_t capacity : {3u, 8u}) {
    RingArena a(2, capacity, 2, OverflowPolicy::kDropOldest);
    std::vector<float> model;  // value of channel 0 of every frame pushed, in order
    std::vector<float> first = Frames(0, capacity, 2);
    a.Push(0, first.data(), capacity);
    for (uint32_t i = 0; i < capacity; i++) model.push_back(first[i * 2]);
    for (int round = 0; round < 20; round++) {
      const uint64_t written = a.State(0).written;
      const uint32_t n = 1 + static_cast<uint32_t>(round) % capacity;
      const uint64_t from = written - n;
      a.Release(0, written);
      a.Push(0, a.data() + a.RowOf(0, from) * 2, n);
      for (uint32_t i = 0; i < n; i++) model.push_back(model[from + i]);
      const uint64_t w = a.State(0).written;
      for (uint64_t k = w - capacity; k < w; k++) {
        const float* row = a.data() + (k % capacity) * 2;
        const float* mirror = row + static_cast<size_t>(capacity) * 2;
        if (row[0] != model[k] || mirror[0] != model[k] || row[1] != model[k] + 1 || mirror[1] != model[k] + 1) {
          std::fprintf(stderr, "aliasing push: frame %llu wrong\n", static_cast<unsigned long long>(k));
          std::abort();
        }
      }
    }
  }
  // Drop-oldest counts every frame lost, also a push's own frames beyond the capacity.
  {
    RingArena a(1, 4, 1, OverflowPolicy::kDropOldest);
    a.Push(0, Frames(0, 3, 1).data(), 3);
    a.Push(0, Frames(3, 10, 1).data(), 10);
    assert(a.State(0).dropped == 9 && a.State(0).released == 9 && a.State(0).written == 13);
  }
  bool threw = false;
  try {
    RingArena bad(0, 1, 1, OverflowPolicy::kReject);
  } catch (const RingError&) {
    threw = true;
  }
  assert(threw);
  std::puts("ring_arena_test: ok");
  return 0;
}
