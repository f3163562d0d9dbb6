#include "ring_arena.h"

namespace seismo {

RingArena::RingArena(uint32_t channels, uint32_t capacity, uint32_t slots)
    : channels_(channels), capacity_(capacity), slots_(slots) {
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

}  // namespace seismo
