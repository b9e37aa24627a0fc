#include "trainer/metrics/jsonl_writer.h"

#include "runtime/error.h"

namespace sombrero::trainer {

JsonlWriter::JsonlWriter(const std::string& path) : path_(path) {
  out_.open(path, std::ios::app);
  SOMBRERO_CHECK(out_.good(), "cannot open metrics file '", path, "' for appending");
}

void JsonlWriter::write(const nlohmann::json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
  SOMBRERO_CHECK(out_.good(), "cannot write metrics file '", path_, "'");
}

}  // namespace sombrero::trainer
