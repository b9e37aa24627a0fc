// Appends one JSON object per line to a file (metrics.jsonl), flushed after every record so
// a crashed run keeps everything logged up to its last step.
#pragma once

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace sombrero::trainer {

class JsonlWriter {
 public:
  // Opens `path` for appending (a resumed run continues the same file).
  explicit JsonlWriter(const std::string& path);
  void write(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace sombrero::trainer
