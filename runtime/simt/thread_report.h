// Text helpers for the SIMT executor's reports: compressed thread ranges ("0-15, 17"),
// short source sites ("simt/race_kernels.cu:12") and 32-bit masks in hex.
#pragma once

#include <source_location>
#include <string>
#include <vector>

namespace sombrero::simt::detail {

// "threads 0-15, 17, 20-31" from sorted ids ("thread 3" for a single one).
std::string thread_ranges(const std::vector<unsigned>& sorted_ids);
// The last two path components and the line: "reduce/sum_squares.cu:42".
std::string site_name(const std::source_location& site);
std::string hex32(unsigned value);

}  // namespace sombrero::simt::detail
