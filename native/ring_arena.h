// The memory of the ring buffers of float32 frames for many series: one block.
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
// Why only the memory: frames are written, and the per-slot counters (written, released,
// dropped) kept, in TypeScript (src/window/frame-rings.ts), straight into this block through the
// Float32Array that views it. A push of one frame is a few stores; a call into the addon per
// sample cost ~0.27 us, ten times the write itself, and was a quarter of a stride-1 detector's
// main thread. Nothing native reads the counters, and a worker thread reads only rows it was
// told about by a message (the synchronisation point), so no state here is shared across
// threads but the block.
//
// This file knows nothing of Node: it is the part a sanitizer run or a C++ test can drive alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace seismo {

// Thrown for violated invariants; `code` is the JS error code the binding attaches.
class RingError : public std::runtime_error {
 public:
  RingError(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;
};

class RingArena {
 public:
  // Zeroed rows: slots * 2 * capacity rows of `channels` floats. Throws RingError for a zero size
  // or a block over 1 TiB, std::bad_alloc when the memory is not there.
  RingArena(uint32_t channels, uint32_t capacity, uint32_t slots);
  RingArena(const RingArena&) = delete;
  RingArena& operator=(const RingArena&) = delete;

  uint32_t channels() const { return channels_; }
  uint32_t capacity() const { return capacity_; }
  uint32_t slots() const { return slots_; }

  float* data() { return data_.get(); }
  // Bytes of the whole arena: slots * 2 * capacity * channels * 4.
  size_t byte_length() const { return static_cast<size_t>(rows()) * channels_ * sizeof(float); }
  // Rows (frames) of the whole arena, mirrors included.
  uint64_t rows() const { return static_cast<uint64_t>(slots_) * 2u * capacity_; }

 private:
  const uint32_t channels_;
  const uint32_t capacity_;
  const uint32_t slots_;
  std::unique_ptr<float[]> data_;
};

}  // namespace seismo
