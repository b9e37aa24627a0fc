// CRC-32C (Castagnoli), as TFRecord files (TensorBoard event files) checksum their records.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sombrero::trainer {

std::uint32_t crc32c(const void* data, std::size_t size);

// TFRecord's masked form: rotate right by 15 and add a constant, so a CRC of data that
// itself contains CRCs is not trivially structured.
inline std::uint32_t masked_crc32c(const void* data, std::size_t size) {
  const std::uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace sombrero::trainer
