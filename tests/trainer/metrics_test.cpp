// Metrics outputs: the TensorBoard event file framing and encoding, JSONL lines, and the
// console progress line.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "trainer/metrics/crc32c.h"
#include "trainer/metrics/jsonl_writer.h"
#include "trainer/metrics/tensorboard_writer.h"
#include "trainer/progress_line.h"

namespace sombrero::trainer {
namespace {

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("sombrero_" + name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(Crc32c, MatchesTheStandardCheckValue) {
  // The CRC-32C check value of "123456789" (RFC 3720, iSCSI).
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
}

TEST(Protobuf, EncodesVarintsAndFieldsAsTheWireFormatSpecifies) {
  std::string out;
  protobuf::append_varint(out, 300);  // the protobuf documentation's example: ac 02
  EXPECT_EQ(out, std::string("\xac\x02", 2));
  out.clear();
  protobuf::append_int64(out, 2, 1);  // field 2, varint: tag 0x10
  EXPECT_EQ(out, std::string("\x10\x01", 2));
  out.clear();
  protobuf::append_bytes(out, 1, "loss");  // field 1, length-delimited: 0x0a
  EXPECT_EQ(out, std::string("\x0a\x04loss", 6));
}

// Reads the TFRecord framing back, checking both CRCs of every record.
std::vector<std::string> read_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> records;
  std::size_t at = 0;
  while (at < bytes.size()) {
    std::uint64_t length;
    std::uint32_t length_crc, data_crc;
    EXPECT_LE(at + 12, bytes.size());
    std::memcpy(&length, bytes.data() + at, 8);
    std::memcpy(&length_crc, bytes.data() + at + 8, 4);
    EXPECT_EQ(length_crc, masked_crc32c(bytes.data() + at, 8));
    const std::string data = bytes.substr(at + 12, length);
    std::memcpy(&data_crc, bytes.data() + at + 12 + length, 4);
    EXPECT_EQ(data_crc, masked_crc32c(data.data(), data.size()));
    records.push_back(data);
    at += 12 + length + 4;
  }
  return records;
}

TEST(TensorBoardWriter, WritesAVersionHeaderThenOneFramedEventPerScalar) {
  const auto dir = temp_dir("tb");
  std::string path;
  {
    TensorBoardWriter writer(dir.string());
    writer.add_scalar("train/loss", 0.5, 10);
    writer.add_scalar("val/top1", 0.91, 20);
    path = writer.path();
  }
  const std::vector<std::string> records = read_records(path);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_NE(records[0].find("brain.Event:2"), std::string::npos);
  // The scalar event carries the tag, the float value's bytes and the step.
  const float value = 0.5f;
  EXPECT_NE(records[1].find("train/loss"), std::string::npos);
  EXPECT_NE(records[1].find(std::string(reinterpret_cast<const char*>(&value), 4)),
            std::string::npos);
  EXPECT_NE(records[1].find(std::string("\x10\x0a", 2)), std::string::npos);  // step 10
  std::filesystem::remove_all(dir);
}

TEST(TensorBoardWriter, ScalarEventEncodingIsStable) {
  // Event{wall_time: 1.0, step: 3, summary{value{tag: "a", simple_value: 2.0}}}
  const std::string expected = std::string("\x09\x00\x00\x00\x00\x00\x00\xf0\x3f", 9) +
                               std::string("\x10\x03", 2) +
                               std::string(
                                   "\x2a\x0a\x0a\x08\x0a\x01"
                                   "a"
                                   "\x15\x00\x00\x00\x40",
                                   12);
  EXPECT_EQ(encode_scalar_event("a", 2.0f, 3, 1.0), expected);
}

TEST(JsonlWriter, AppendsOneObjectPerLine) {
  const auto dir = temp_dir("jsonl");
  const std::string path = (dir / "metrics.jsonl").string();
  JsonlWriter(path).write({{"step", 1}, {"loss", 0.5}});
  JsonlWriter(path).write({{"step", 2}, {"loss", 0.25}});  // reopened: appends
  std::ifstream in(path);
  std::string first, second, third;
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_FALSE(std::getline(in, third));
  EXPECT_EQ(nlohmann::json::parse(first)["step"], 1);
  EXPECT_EQ(nlohmann::json::parse(second)["loss"], 0.25);
  std::filesystem::remove_all(dir);
}

TEST(ProgressLine, FormatsEveryFieldAndABar) {
  StepStats s;
  s.step = 50;
  s.steps = 100;
  s.images_per_second = 2150;
  s.data_wait_share = 0.04;
  s.loss = 0.4123;
  s.ce = 0.377;
  s.u1 = 0.35;
  s.lr = 0.0412;
  s.eta_seconds = 71;
  const std::string line = ProgressLine::format(3, 10, s, 10);
  EXPECT_EQ(line,
            "epoch 3/10 [#####.....] 50/100  2150 img/s  data 4%  loss 0.4123 (ce 0.3770 u1 "
            "0.3500)  lr 0.0412  ETA 1:11");
  EXPECT_EQ(format_duration(3723), "1:02:03");
}

TEST(ProgressLine, PlainModePrintsAtMostOncePerIntervalAndAtTheEnd) {
  const auto dir = temp_dir("progress");
  const std::string path = (dir / "out.txt").string();
  std::FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  {
    ProgressLine line(1, 2, file, /*plain_interval_seconds=*/3600.0);
    line.set_interactive(false);
    StepStats s;
    s.steps = 3;
    for (s.step = 1; s.step <= 3; ++s.step) line.update(s);
    line.finish(s);
  }
  std::fclose(file);
  std::ifstream in(path);
  int lines = 0;
  for (std::string l; std::getline(in, l);) {
    ++lines;
    EXPECT_EQ(l.find('\r'), std::string::npos);
  }
  EXPECT_EQ(lines, 2);  // the first update, then the end
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sombrero::trainer
