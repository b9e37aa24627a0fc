// What this binary was built with: version, compiler, backends and library versions.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace sombrero::runtime {

// Ordered (key, value) rows, as `sombrero info` prints them.
std::vector<std::pair<std::string, std::string>> build_info();

}  // namespace sombrero::runtime
