// Drives the ring arena's C++ core alone, for AddressSanitizer and UndefinedBehaviorSanitizer
// (scripts/sanitize.sh): every code path of Push/Release/RowOf, wraps at every offset, pushes
// larger than the capacity, both overflow policies, and the error paths.
#include <cassert>
#include <algorithm>
#include <cstdio>
#include <string>
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

// ---- Property sequences: the same kind as test/window/ring-property.test.ts --------------------
// Random push / release / span-push (aliasing) / oversize pushes / bad slots against a plain
// model, both policies; every retained frame is checked at its row and its mirror after each step.

struct Rng {
  uint32_t state;
  uint32_t Next() {  // xorshift32: enough to spread the cases, reproducible from the seed
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
  uint32_t Below(uint32_t n) { return Next() % n; }
};

struct ModelSlot {
  std::vector<uint32_t> ids;  // every frame ever pushed
  uint64_t released = 0;
  uint64_t dropped = 0;
};

static void Fail(uint32_t seed, int step, const char* what) {
  std::fprintf(stderr, "property: seed %u step %d: %s\n", seed, step, what);
  std::abort();
}

static void RunSequence(uint32_t seed, int steps) {
  Rng rng{seed * 2654435761u + 1u};
  const uint32_t channels = 1 + rng.Below(3);
  const uint32_t capacity = 1 + rng.Below(9);
  const uint32_t slots = 1 + rng.Below(3);
  const OverflowPolicy policy = rng.Below(2) ? OverflowPolicy::kReject : OverflowPolicy::kDropOldest;
  RingArena a(channels, capacity, slots, policy);
  std::vector<ModelSlot> model(slots);
  uint32_t next_id = 1;
  auto values = [&](const std::vector<uint32_t>& ids) {
    std::vector<float> out(ids.size() * channels);
    for (size_t i = 0; i < ids.size(); i++)
      for (uint32_t c = 0; c < channels; c++) out[i * channels + c] = static_cast<float>(ids[i] * 8 + c);
    return out;
  };
  // Returns whether the model accepts the push (reject policy refuses a full slot).
  auto model_push = [&](uint32_t slot, const std::vector<uint32_t>& ids) {
    ModelSlot& m = model[slot];
    const uint64_t live = m.ids.size() - m.released;
    if (live + ids.size() > capacity) {
      if (policy == OverflowPolicy::kReject) return false;
      const uint64_t excess = live + ids.size() - capacity;
      m.dropped += excess;
      m.released += excess;
    }
    m.ids.insert(m.ids.end(), ids.begin(), ids.end());
    return true;
  };
  auto check = [&](int step) {
    for (uint32_t s = 0; s < slots; s++) {
      const ModelSlot& m = model[s];
      const seismo::SlotState& st = a.State(s);
      if (st.written != m.ids.size() || st.released != m.released || st.dropped != m.dropped) Fail(seed, step, "counters differ");
      const uint64_t written = m.ids.size();
      for (uint64_t k = written > capacity ? written - capacity : 0; k < written; k++) {
        const float* row = a.data() + (static_cast<uint64_t>(s) * 2 * capacity + k % capacity) * channels;
        const float* mirror = row + static_cast<size_t>(capacity) * channels;
        for (uint32_t c = 0; c < channels; c++) {
          const float want = static_cast<float>(m.ids[k] * 8 + c);
          if (row[c] != want || mirror[c] != want) Fail(seed, step, "frame or mirror differs");
        }
      }
    }
  };
  for (int step = 0; step < steps; step++) {
    const uint32_t op = rng.Below(100);
    const uint32_t slot = rng.Below(slots);
    ModelSlot& m = model[slot];
    if (op < 35) {
      const uint32_t count = rng.Below(100) < 15 ? capacity + 1 + rng.Below(2 * capacity) : rng.Below(capacity + 1);
      std::vector<uint32_t> ids(count);
      for (uint32_t& id : ids) id = next_id++;
      const std::vector<float> v = values(ids);
      const bool ok = model_push(slot, ids);
      bool threw = false;
      try {
        a.Push(slot, v.data(), count);
      } catch (const RingError&) {
        threw = true;
      }
      if (threw == ok) Fail(seed, step, "push accepted/refused unlike the model");
    } else if (op < 55) {
      // Push a span of the arena itself (the source may overlap the rows being written).
      const uint64_t written = m.ids.size();
      if (written == 0) continue;
      const uint64_t oldest = written > capacity ? written - capacity : 0;
      const uint64_t from = oldest + rng.Below(static_cast<uint32_t>(written - oldest + 1));
      const uint64_t to = from + rng.Below(static_cast<uint32_t>(written - from + 1));
      const uint32_t target = rng.Below(100) < 60 ? slot : rng.Below(slots);
      const std::vector<uint32_t> ids(m.ids.begin() + static_cast<long>(from), m.ids.begin() + static_cast<long>(to));
      const float* src = a.data() + a.RowOf(slot, from) * channels;
      const bool ok = model_push(target, ids);
      bool threw = false;
      try {
        a.Push(target, src, static_cast<uint32_t>(to - from));
      } catch (const RingError&) {
        threw = true;
      }
      if (threw == ok) Fail(seed, step, "span push accepted/refused unlike the model");
    } else if (op < 80) {
      const uint64_t up_to = rng.Below(static_cast<uint32_t>(m.ids.size() + 1));
      a.Release(slot, up_to);
      m.released = std::max(m.released, up_to);
    } else {
      // Slots out of range and releases past `written` are refused whole.
      bool threw = false;
      try {
        const float one[3] = {0, 0, 0};
        a.Push(slots + rng.Below(3), one, 1);
      } catch (const RingError& e) {
        threw = std::string(e.code()) == "ERR_INVALID_OPTION";
      }
      if (!threw) Fail(seed, step, "bad slot accepted");
      threw = false;
      try {
        a.Release(slot, m.ids.size() + 1);
      } catch (const RingError&) {
        threw = true;
      }
      if (!threw) Fail(seed, step, "release past written accepted");
    }
    check(step);
  }
}

int main() {
  for (uint32_t seed = 1; seed <= 3000; seed++) RunSequence(seed, 200);
  std::puts("ring_arena_test: 3000 property sequences ok");

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
