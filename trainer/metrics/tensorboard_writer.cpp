#include "trainer/metrics/tensorboard_writer.h"

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>

#include "runtime/error.h"
#include "trainer/metrics/crc32c.h"

namespace sombrero::trainer {

namespace protobuf {

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void append_tag(std::string& out, int field, int wire_type) {
  append_varint(out,
                (static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(wire_type));
}

void append_double(std::string& out, int field, double value) {
  append_tag(out, field, 1);  // 64-bit, little endian
  char bytes[8];
  std::memcpy(bytes, &value, 8);
  out.append(bytes, 8);
}

void append_float(std::string& out, int field, float value) {
  append_tag(out, field, 5);  // 32-bit, little endian
  char bytes[4];
  std::memcpy(bytes, &value, 4);
  out.append(bytes, 4);
}

void append_int64(std::string& out, int field, std::int64_t value) {
  append_tag(out, field, 0);
  append_varint(out, static_cast<std::uint64_t>(value));
}

void append_bytes(std::string& out, int field, const std::string& bytes) {
  append_tag(out, field, 2);
  append_varint(out, bytes.size());
  out += bytes;
}

}  // namespace protobuf

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

std::string encode_scalar_event(const std::string& tag, float value, std::int64_t step,
                                double wall_time) {
  std::string summary_value;
  protobuf::append_bytes(summary_value, 1, tag);
  protobuf::append_float(summary_value, 2, value);
  std::string summary;
  protobuf::append_bytes(summary, 1, summary_value);
  std::string event;
  protobuf::append_double(event, 1, wall_time);
  protobuf::append_int64(event, 2, step);
  protobuf::append_bytes(event, 5, summary);
  return event;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  const auto seconds = static_cast<long long>(now_seconds());
  path_ = str(dir, "/events.out.tfevents.", seconds, ".", host, ".sombrero");
  out_.open(path_, std::ios::binary | std::ios::trunc);
  SOMBRERO_CHECK(out_.good(), "cannot create TensorBoard event file '", path_, "'");
  std::string header;
  protobuf::append_double(header, 1, now_seconds());
  protobuf::append_bytes(header, 3, "brain.Event:2");
  write_record(header);
  flush();
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, std::int64_t step) {
  write_record(encode_scalar_event(tag, static_cast<float>(value), step, now_seconds()));
}

void TensorBoardWriter::flush() {
  out_.flush();
}

void TensorBoardWriter::write_record(const std::string& data) {
  const std::uint64_t length = data.size();
  char length_bytes[8];
  std::memcpy(length_bytes, &length, 8);  // little endian on every supported host
  const std::uint32_t length_crc = masked_crc32c(length_bytes, 8);
  const std::uint32_t data_crc = masked_crc32c(data.data(), data.size());
  out_.write(length_bytes, 8);
  out_.write(reinterpret_cast<const char*>(&length_crc), 4);
  out_.write(data.data(), static_cast<std::streamsize>(data.size()));
  out_.write(reinterpret_cast<const char*>(&data_crc), 4);
  SOMBRERO_CHECK(out_.good(), "cannot write TensorBoard event file '", path_, "'");
}

}  // namespace sombrero::trainer
