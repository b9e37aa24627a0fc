#include "runtime/simt/thread_report.h"

#include <cstdio>
#include <string_view>

#include "runtime/error.h"

namespace sombrero::simt::detail {

std::string thread_ranges(const std::vector<unsigned>& ids) {
  std::string text = ids.size() == 1 ? "thread " : "threads ";
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (i != 0) text += ", ";
    text += j == i ? str(ids[i]) : str(ids[i], "-", ids[j]);
    i = j + 1;
  }
  return text;
}

std::string site_name(const std::source_location& site) {
  std::string_view file = site.file_name();
  const std::size_t last = file.rfind('/');
  if (last != std::string_view::npos && last > 0) {
    const std::size_t before = file.rfind('/', last - 1);
    if (before != std::string_view::npos) file.remove_prefix(before + 1);
  }
  return str(file, ":", site.line());
}

std::string hex32(unsigned value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%08x", value);
  return buffer;
}

}  // namespace sombrero::simt::detail
