#include "ring_arena.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>

namespace seismo {

RingArena::RingArena(uint32_t channels, uint32_t capacity, uint32_t slots, OverflowPolicy policy)
    : channels_(channels), capacity_(capacity), slots_(slots), policy_(policy), state_(slots) {
  if (channels == 0 || capacity == 0 || slots == 0) {
    throw RingError("ERR_INVALID_OPTION", "channels, capacity and slots must be positive");
  }
  // Rows are addressed as int64 inside onnxruntime (Gather indices) and as doubles in JS.
  const uint64_t floats = static_cast<uint64_t>(slots) * 2u * capacity * channels;
  if (floats > (uint64_t{1} << 40) / sizeof(float)) {
    throw RingError("ERR_INVALID_OPTION", "ring arena larger than 1 TiB requested");
  }
  // Zeroed so that a view never exposes stale heap contents.
  data_.reset(new float[floats]());
}

void RingArena::CheckSlot(uint32_t slot) const {
  if (slot >= slots_) {
    throw RingError("ERR_INVALID_OPTION", "slot " + std::to_string(slot) + " out of range (slots: " +
                                              std::to_string(slots_) + ")");
  }
}

uint64_t RingArena::Push(uint32_t slot, const float* frames, uint32_t count) {
  CheckSlot(slot);
  SlotState& s = state_[slot];
  const uint64_t live = s.written - s.released;
  if (live + count > capacity_) {
    const uint64_t excess = live + count - capacity_;
    if (policy_ == OverflowPolicy::kReject) {
      throw RingError("ERR_RING_OVERFLOW",
                      "ring slot " + std::to_string(slot) + " is full: " + std::to_string(live) + " of " +
                          std::to_string(capacity_) + " frames are unreleased and " + std::to_string(count) +
                          " more were pushed; score (release) pending windows first, or raise the capacity, "
                          "or use the drop-oldest policy");
    }
    // Every frame that leaves the ring unreleased is lost and counted: the live frames that are
    // overwritten and, for a push larger than the capacity, its own leading frames that are never
    // stored. Both are `excess` (the push keeps only its last `capacity` frames).
    s.dropped += excess;
    s.released += excess;
  }
  const size_t frame_floats = channels_;
  float* base = data_.get() + static_cast<size_t>(slot) * 2u * capacity_ * frame_floats;
  // A push larger than the capacity keeps only its last `capacity` frames.
  uint32_t skip = count > capacity_ ? count - capacity_ : 0;
  uint64_t k = s.written + skip;
  const float* src = frames + static_cast<size_t>(skip) * frame_floats;
  uint32_t left = count - skip;
  // A caller may push a span of this very slot (a view of the arena) back into it: the source
  // then overlaps the rows being written, and the mirror copy would read rows the first copy has
  // already overwritten. Such a push goes through a staged copy; the common case copies directly.
  const float* slot_begin = base;
  const float* slot_end = base + static_cast<size_t>(2u) * capacity_ * frame_floats;
  const size_t src_floats = static_cast<size_t>(left) * frame_floats;
  std::vector<float> staged;
  if (left > 0 && std::less<const float*>()(src, slot_end) && std::less<const float*>()(slot_begin, src + src_floats)) {
    staged.assign(src, src + src_floats);
    src = staged.data();
  }
  while (left > 0) {
    const uint32_t row = static_cast<uint32_t>(k % capacity_);
    const uint32_t run = std::min<uint32_t>(left, capacity_ - row);
    const size_t bytes = static_cast<size_t>(run) * frame_floats * sizeof(float);
    std::memcpy(base + static_cast<size_t>(row) * frame_floats, src, bytes);
    std::memcpy(base + static_cast<size_t>(row + capacity_) * frame_floats, src, bytes);
    src += static_cast<size_t>(run) * frame_floats;
    k += run;
    left -= run;
  }
  s.written += count;
  return s.written;
}

void RingArena::Release(uint32_t slot, uint64_t upTo) {
  CheckSlot(slot);
  SlotState& s = state_[slot];
  if (upTo > s.written) {
    throw RingError("ERR_INVALID_OPTION", "cannot release frame " + std::to_string(upTo) + ": only " +
                                              std::to_string(s.written) + " were written");
  }
  // Releasing is monotone: an older mark is ignored, not an error, since results of
  // concurrent batches may come back out of order.
  s.released = std::max(s.released, upTo);
}

const SlotState& RingArena::State(uint32_t slot) const {
  CheckSlot(slot);
  return state_[slot];
}

uint64_t RingArena::RowOf(uint32_t slot, uint64_t frame) const {
  CheckSlot(slot);
  const SlotState& s = state_[slot];
  const uint64_t oldest = s.written > capacity_ ? s.written - capacity_ : 0;
  if (frame < oldest || frame > s.written) {
    throw RingError("ERR_INVALID_OPTION", "frame " + std::to_string(frame) + " is not retained in slot " +
                                              std::to_string(slot));
  }
  return static_cast<uint64_t>(slot) * 2u * capacity_ + frame % capacity_;
}

}  // namespace seismo
