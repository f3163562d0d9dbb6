// Ring buffers of float32 frames for many series, in one block of memory.
//
// Why one block: onnxruntime takes one `frames` tensor per call, and seismo batches windows of
// many series into one call. With every series' ring inside the same allocation, a batch is a
// single contiguous row range of the arena plus a list of window starts: no copy at all.
//
// Why mirrored: each slot stores every frame twice, at row (k mod capacity) and at
// (k mod capacity) + capacity. Any span of up to `capacity` retained frames is then contiguous,
// whatever the wrap point, so a stride-1 run of windows reaches onnxruntime as one view. The cost
// is one extra copy of `channels` floats per frame; a double mmap of one memfd would avoid it but
// needs page-sized slots and Linux-only calls.
//
// This file knows nothing of Node: it is the part a sanitizer run or a C++ test can drive alone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace seismo {

enum class OverflowPolicy : int32_t {
  // A push that would overwrite frames not yet released fails whole; nothing is written.
  kReject = 0,
  // The oldest unreleased frames are overwritten; how many is counted per slot.
  kDropOldest = 1,
};

// Thrown for violated invariants; `code` is the JS error code the binding attaches.
class RingError : public std::runtime_error {
 public:
  RingError(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;
};

// Counters of one slot. `written` and `released` are absolute frame counts since the slot was
// created (uint64: they never wrap in practice); live frames are [released, written).
struct SlotState {
  uint64_t written = 0;
  uint64_t released = 0;
  uint64_t dropped = 0;
};

class RingArena {
 public:
  RingArena(uint32_t channels, uint32_t capacity, uint32_t slots, OverflowPolicy policy);
  RingArena(const RingArena&) = delete;
  RingArena& operator=(const RingArena&) = delete;

  uint32_t channels() const { return channels_; }
  uint32_t capacity() const { return capacity_; }
  uint32_t slots() const { return slots_; }
  OverflowPolicy policy() const { return policy_; }

  float* data() { return data_.get(); }
  // Bytes of the whole arena: slots * 2 * capacity * channels * 4.
  size_t byte_length() const { return static_cast<size_t>(rows()) * channels_ * sizeof(float); }
  // Rows (frames) of the whole arena, mirrors included.
  uint64_t rows() const { return static_cast<uint64_t>(slots_) * 2u * capacity_; }

  // Appends `count` frames (row-major, count * channels floats) to `slot`.
  // Returns the slot's new `written` count. Throws RingError on overflow under kReject.
  uint64_t Push(uint32_t slot, const float* frames, uint32_t count);

  // Marks frames before `upTo` as no longer needed (they may be overwritten).
  void Release(uint32_t slot, uint64_t upTo);

  const SlotState& State(uint32_t slot) const;

  // Arena row where absolute frame `frame` of `slot` starts a contiguous run of up to
  // `capacity` frames. The frame must still be retained (>= written - capacity).
  uint64_t RowOf(uint32_t slot, uint64_t frame) const;

 private:
  void CheckSlot(uint32_t slot) const;

  const uint32_t channels_;
  const uint32_t capacity_;
  const uint32_t slots_;
  const OverflowPolicy policy_;
  std::unique_ptr<float[]> data_;
  std::vector<SlotState> state_;
};

}  // namespace seismo
