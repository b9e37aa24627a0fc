// Whether a kernel may move rows of an NHWC tensor as 16-byte vectors (8 bf16 or 4 f32 per
// load/store): the host decides once per launch, so a kernel takes one path uniformly.
// Kernels keep a scalar path for the rest (C = 3, odd C, offset views).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace sombrero::kernels {

// True when a row of `channels` elements of `element_bytes` each is a whole number of
// 16-byte vectors and every pointer given is 16-byte aligned (null counts as aligned), so that
// every row of every tensor starts on a 16-byte boundary.
inline bool rows_split_into_16_byte_vectors(long long channels, std::size_t element_bytes,
                                            std::initializer_list<const void*> pointers) {
  if (element_bytes == 0 || 16 % element_bytes != 0 || channels <= 0) return false;
  if ((static_cast<std::size_t>(channels) * element_bytes) % 16 != 0) return false;
  for (const void* p : pointers)
    if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0) return false;
  return true;
}

}  // namespace sombrero::kernels
