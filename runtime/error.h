// sombrero's error type and checking macros.
//
// Every failure a user can cause or meet (bad config, wrong shape, missing file, a CUDA
// error) is a sombrero::Error carrying one message that names the cause and the place.
// The CLI catches it at the top and prints that one line. Vendor status checks
// (CUDA, cuBLAS, cuDNN, NCCL) live in runtime/cuda_check.h, the same macro family.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace sombrero {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates anything streamable: str("shape ", n, "x", c) -> "shape 4x3".
template <typename... Parts>
std::string str(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

// Throws sombrero::Error("<message> (at file:line)").
[[noreturn]] void throw_error(const std::string& message, const char* file, int line);

}  // namespace sombrero

// SOMBRERO_CHECK(cond, parts...): throws sombrero::Error with the concatenated message
// when cond is false. Use for preconditions a caller can violate (shapes, dtypes, ranges).
#define SOMBRERO_CHECK(cond, ...)                                                     \
  do {                                                                                \
    if (!(cond)) ::sombrero::throw_error(::sombrero::str(__VA_ARGS__), __FILE__, __LINE__); \
  } while (0)

// SOMBRERO_FAIL(parts...): unconditional throw, for unreachable-by-input branches.
#define SOMBRERO_FAIL(...) ::sombrero::throw_error(::sombrero::str(__VA_ARGS__), __FILE__, __LINE__)
