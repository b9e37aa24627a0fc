// safetensors IO: round trip of every supported dtype with metadata, the exact byte layout
// of the format (header length, 8-byte padding, contiguous data in name order), atomic
// replacement, and one clear error for each kind of broken file.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/safetensors.h"

namespace sombrero::runtime {
namespace {

namespace fs = std::filesystem;

class Safetensors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sombrero_safetensors_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static SafetensorsFile sample() {
    SafetensorsFile file;
    file.tensors["b.weight"] =
        SafetensorsTensor::from_tensor(Tensor::from_floats({2, 3}, {1, -2, 3.5f, 4, 5, 6}));
    file.tensors["a.half"] =
        SafetensorsTensor::from_tensor(Tensor::from_floats({4}, {1, 0.5f, -3, 1e10f}, DType::bf16));
    file.tensors["c.num_batches_tracked"] = SafetensorsTensor::from_int64(123456789012LL);
    file.metadata = {{"architecture", "resnet50"}, {"step", "17"}};
    return file;
  }

  static std::string read_bytes(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  static void write_bytes(const std::string& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
  }
  // A well-formed file around a hand-written header.
  static std::string with_header(const std::string& header, std::size_t data_bytes) {
    std::string out(8, '\0');
    const std::uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    return out + header + std::string(data_bytes, '\0');
  }
  void expect_error(const std::string& bytes, const std::string& fragment) {
    write_bytes(path("bad.safetensors"), bytes);
    try {
      read_safetensors(path("bad.safetensors"));
      FAIL() << "expected an error containing: " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
    }
  }

  fs::path dir_;
};

TEST_F(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  const SafetensorsFile file = sample();
  write_safetensors(path("x.safetensors"), file);
  const SafetensorsFile back = read_safetensors(path("x.safetensors"));
  EXPECT_EQ(back.metadata, file.metadata);
  ASSERT_EQ(back.tensors.size(), 3u);
  for (const auto& [name, tensor] : file.tensors) {
    const SafetensorsTensor& other = back.tensors.at(name);
    EXPECT_EQ(other.dtype, tensor.dtype) << name;
    EXPECT_EQ(other.shape, tensor.shape) << name;
    EXPECT_EQ(other.bytes, tensor.bytes) << name;
  }
  EXPECT_EQ(back.tensors.at("b.weight").to_floats(), (std::vector<float>{1, -2, 3.5f, 4, 5, 6}));
  EXPECT_EQ(back.tensors.at("a.half").to_tensor().dtype(), DType::bf16);
  EXPECT_EQ(back.tensors.at("c.num_batches_tracked").to_int64(), 123456789012LL);
  EXPECT_TRUE(back.tensors.at("c.num_batches_tracked").shape.empty());  // a 0-dim tensor
  // Nothing but the file is left in the folder (the temporary was renamed).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(Safetensors, ByteLayoutIsTheFormats) {
  write_safetensors(path("x.safetensors"), sample());
  const std::string bytes = read_bytes(path("x.safetensors"));
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);  // header padded with spaces to 8 bytes
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["__metadata__"]["step"], "17");
  // Sorted by name, back to back: a.half (8 bytes), b.weight (24), c.num_batches_tracked (8).
  EXPECT_EQ(header["a.half"]["dtype"], "BF16");
  EXPECT_EQ(header["a.half"]["data_offsets"], nlohmann::json::array({0, 8}));
  EXPECT_EQ(header["b.weight"]["shape"], nlohmann::json::array({2, 3}));
  EXPECT_EQ(header["b.weight"]["data_offsets"], nlohmann::json::array({8, 32}));
  EXPECT_EQ(header["c.num_batches_tracked"]["dtype"], "I64");
  EXPECT_EQ(header["c.num_batches_tracked"]["shape"], nlohmann::json::array());
  EXPECT_EQ(bytes.size(), 8 + n + 40);
  float f;
  std::memcpy(&f, bytes.data() + 8 + n + 8 + 8, 4);  // b.weight[0, 2]
  EXPECT_EQ(f, 3.5f);
}

TEST_F(Safetensors, WritingReplacesAnExistingFileWhole) {
  write_safetensors(path("x.safetensors"), sample());
  SafetensorsFile small;
  small.tensors["only"] = SafetensorsTensor::from_int64(1);
  write_safetensors(path("x.safetensors"), small);
  EXPECT_EQ(read_safetensors(path("x.safetensors")).tensors.size(), 1u);
  EXPECT_THROW(write_safetensors(path("no/such/folder/x.safetensors"), small), Error);
}

TEST_F(Safetensors, BrokenFilesGiveOneClearError) {
  write_safetensors(path("good.safetensors"), sample());
  const std::string good = read_bytes(path("good.safetensors"));
  expect_error(good.substr(0, good.size() - 5), "truncated");
  expect_error(good.substr(0, 5), "shorter than the 8-byte header length");
  expect_error(std::string("\xff\xff\xff\xff\x00\x00\x00\x00", 8) + "{}", "does not fit the file");
  expect_error(with_header("{not json", 0), "not valid JSON");
  expect_error(with_header(R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4),
               "tensor 'w' has dtype F16");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4),
               "tensor 'w' (F32 [2]) needs 8 bytes");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("v":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                           6),
               "overlapping or non-contiguous");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8),
               "4 bytes of data after the last tensor");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[1]}})", 4), "lacks dtype");
  try {
    read_safetensors(path("missing.safetensors"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.safetensors: cannot open"), std::string::npos);
  }
}

}  // namespace
}  // namespace sombrero::runtime
