// Writes TensorBoard event files (scalars) without TensorFlow: TFRecord framing around
// hand-encoded `Event` protocol buffers, the format `tensorboard --logdir` reads.
//
// Record:  u64 length | u32 masked_crc32c(length) | data | u32 masked_crc32c(data)
// Event:   1: wall_time (double)  2: step (int64)  3: file_version (string)  5: summary
// Summary: 1: value (repeated)    Summary.Value: 1: tag (string)  2: simple_value (float)
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace sombrero::trainer {

class TensorBoardWriter {
 public:
  // Creates <dir>/events.out.tfevents.<unix seconds>.<host>.sombrero and writes the header
  // event. Throws sombrero::Error when the file cannot be created.
  explicit TensorBoardWriter(const std::string& dir);

  void add_scalar(const std::string& tag, double value, std::int64_t step);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& data);

  std::string path_;
  std::ofstream out_;
};

// Protocol-buffer encoding helpers (exposed for tests).
namespace protobuf {
void append_varint(std::string& out, std::uint64_t value);
void append_tag(std::string& out, int field, int wire_type);
void append_double(std::string& out, int field, double value);
void append_float(std::string& out, int field, float value);
void append_int64(std::string& out, int field, std::int64_t value);
void append_bytes(std::string& out, int field, const std::string& bytes);
}  // namespace protobuf

// The bytes of one scalar Event (for tests and the writer).
std::string encode_scalar_event(const std::string& tag, float value, std::int64_t step,
                                double wall_time);

}  // namespace sombrero::trainer
