#include "runtime/dtype.h"

#include <charconv>

#include "runtime/error.h"
#include "runtime/text.h"

namespace sombrero::runtime {

DType parse_dtype(std::string_view text) {
  if (text == "f32" || text == "float32") return DType::f32;
  if (text == "bf16" || text == "bfloat16") return DType::bf16;
  SOMBRERO_FAIL("unknown dtype '", text, "': expected 'f32' or 'bf16'",
                did_you_mean(text, {"f32", "bf16", "float32", "bfloat16"}));
}

std::string to_string(Device device) {
  if (device.is_cpu()) return "cpu";
  if (device.is_simt()) return "simt";
  return str("cuda:", device.index);
}

Device parse_device(std::string_view text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  if (text == "simt") return Device::simt();
  constexpr std::string_view prefix = "cuda:";
  if (text.starts_with(prefix)) {
    const std::string_view digits = text.substr(prefix.size());
    int index = -1;
    const auto [end, status] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (status == std::errc() && end == digits.data() + digits.size() && !digits.empty() &&
        index >= 0)
      return Device::cuda(index);
    SOMBRERO_FAIL("invalid device '", text, "': the index after 'cuda:' must be a number >= 0");
  }
  SOMBRERO_FAIL("unknown device '", text, "': expected 'cpu', 'cuda', 'cuda:<index>' or 'simt'",
                did_you_mean(text, {"cpu", "cuda", "simt"}));
}

}  // namespace sombrero::runtime
