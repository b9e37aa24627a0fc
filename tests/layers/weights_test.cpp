// Model weights in safetensors: sombrero's round trip, PyTorch's layouts on disk, the errors
// for weights that do not fit, and the torchvision golden case: tiny ResNets built from
// torchvision's own blocks (tools/make_torchvision_golden.py wrote tests/data/torchvision_*)
// load into the zoo's resnet18 / resnet50 and give torchvision's logits in eval and train mode.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>

#include "layers/weights.h"
#include "layers/zoo.h"
#include "runtime/error.h"

namespace sombrero::layers {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<Model> make(const std::string& name, int width, std::uint64_t seed,
                            int image_size = 0) {
  ModelOptions o;
  o.name = name;
  o.width = width;
  o.seed = seed;
  o.image_size = image_size;
  return build_model(o);
}

class Weights : public ::testing::Test {
 protected:
  void SetUp() override {
    omp_set_num_threads(1);  // small models; see train_step_test.cpp
    dir_ = fs::temp_directory_path() /
           (std::string("sombrero_weights_") +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(Weights, RoundTripRestoresEveryParameterAndBuffer) {
  auto trained = make("fashion_cnn", 8, 1);
  Context ctx;
  runtime::Generator gen(3);
  Tensor images = Tensor::empty({4, 28, 28, 1});
  images.fill_normal(gen);
  trained->forward(ctx, images);  // moves running statistics and num_batches_tracked
  save_model_weights(*trained, path("w.safetensors"), {{"note", "test"}});
  auto fresh = make("fashion_cnn", 8, 2);
  load_model_weights(*fresh, path("w.safetensors"));
  auto a = trained->state(), b = fresh->state();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].name, b[i].name);
    if (a[i].parameter != nullptr)
      EXPECT_EQ(a[i].parameter->value.to_floats(), b[i].parameter->value.to_floats()) << a[i].name;
    else if (a[i].buffer.tensor != nullptr)
      EXPECT_EQ(a[i].buffer.tensor->to_floats(), b[i].buffer.tensor->to_floats()) << a[i].name;
    else
      EXPECT_EQ(*a[i].buffer.counter, 1);
  }
  ctx.training = false;
  EXPECT_EQ(trained->forward(ctx, images).to_floats(), fresh->forward(ctx, images).to_floats());
  const runtime::SafetensorsFile file = runtime::read_safetensors(path("w.safetensors"));
  EXPECT_EQ(file.metadata.at("architecture"), "fashion_cnn");
  EXPECT_EQ(file.metadata.at("note"), "test");
}

TEST_F(Weights, ConvolutionsAreOihwOnDiskAndCountersI64) {
  auto model = make("fashion_cnn", 8, 1);
  save_model_weights(*model, path("w.safetensors"));
  const runtime::SafetensorsFile file = runtime::read_safetensors(path("w.safetensors"));
  const runtime::SafetensorsTensor& disk = file.tensors.at("conv2.weight");
  ASSERT_EQ(disk.shape, (std::vector<std::int64_t>{8, 8, 3, 3}));  // O I H W
  const std::vector<float> oihw = disk.to_floats();
  const std::vector<float> krsc = model->parameters()[3].parameter->value.to_floats();
  ASSERT_EQ(model->parameters()[3].name, "conv2.weight");
  for (int k = 0; k < 8; ++k)
    for (int c = 0; c < 8; ++c)
      for (int r = 0; r < 3; ++r)
        for (int s = 0; s < 3; ++s)
          ASSERT_EQ(oihw[std::size_t(((k * 8 + c) * 3 + r) * 3 + s)],
                    krsc[std::size_t(((k * 3 + r) * 3 + s) * 8 + c)]);
  EXPECT_EQ(file.tensors.at("bn1.num_batches_tracked").dtype, runtime::SafetensorsDType::I64);
  // The head reads the whole 7x7x16 map (width 8: 16 channels after conv3).
  EXPECT_EQ(file.tensors.at("fc.weight").shape, (std::vector<std::int64_t>{10, 7 * 7 * 16}));
}

TEST_F(Weights, WeightsThatDoNotFitNameTheKeysAndChangeNothing) {
  save_model_weights(*make("fashion_cnn", 8, 1), path("w8.safetensors"));
  auto wider = make("fashion_cnn", 16, 1);
  const std::vector<float> before = wider->parameters()[0].parameter->value.to_floats();
  try {
    load_model_weights(*wider, path("w8.safetensors"));
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("w8.safetensors"), std::string::npos) << what;
    EXPECT_NE(what.find("shape mismatch for 'conv1.weight': file has [8, 1, 3, 3], model "
                        "expects [16, 1, 3, 3]"),
              std::string::npos)
        << what;
  }
  EXPECT_EQ(wider->parameters()[0].parameter->value.to_floats(), before);

  ModelOptions o;
  o.name = "lenet";
  auto lenet = build_model(o);
  try {
    load_model_weights(*lenet, path("w8.safetensors"));
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("missing keys: 'conv1.bias'"), std::string::npos) << what;
    EXPECT_NE(what.find("unexpected keys: 'bn1.bias'"), std::string::npos) << what;
  }
}

TEST_F(Weights, CheckpointEntriesBesideTheModelCanBeIgnoredByPrefix) {
  auto model = make("fashion_cnn", 8, 1);
  runtime::SafetensorsFile file;
  file.tensors = model_state_to_safetensors(*model);
  file.tensors["optimizer.momentum.conv1.weight"] = runtime::SafetensorsTensor::from_int64(0);
  EXPECT_THROW(load_model_state(*model, file), Error);
  EXPECT_NO_THROW(load_model_state(*model, file, {{"optimizer."}}));
}

struct Golden {
  const char* name;
  const char* zoo;
  int width;
};

class TorchvisionGolden : public Weights, public ::testing::WithParamInterface<Golden> {};

// NCHW (PyTorch) -> NHWC.
Tensor nhwc(const runtime::SafetensorsTensor& nchw) {
  const auto& s = nchw.shape;
  const std::vector<float> v = nchw.to_floats();
  std::vector<float> out(v.size());
  for (std::int64_t n = 0; n < s[0]; ++n)
    for (std::int64_t c = 0; c < s[1]; ++c)
      for (std::int64_t h = 0; h < s[2]; ++h)
        for (std::int64_t w = 0; w < s[3]; ++w)
          out[std::size_t(((n * s[2] + h) * s[3] + w) * s[1] + c)] =
              v[std::size_t(((n * s[1] + c) * s[2] + h) * s[3] + w)];
  return Tensor::from_floats({s[0], s[2], s[3], s[1]}, out);
}

// f32 on both sides with different summation orders through ~20 layers: logits of order 1
// agree to ~1e-5 with OpenBLAS's FMA kernels (Haswell, SkylakeX), to 1.9e-4 with the generic
// ones it falls back to on a CPU it does not recognise (0.3.21 on a VM's Sapphire Rapids:
// "Prescott"); 1e-3 (absolute + relative) leaves margin over both, while any layout or
// semantics error (a transposed kernel, NCHW flattening, biased running variance) is O(0.1)
// or more.
void expect_close(const std::vector<float>& actual, const std::vector<float>& expected,
                  const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], 1e-3 * (1 + std::abs(expected[i])))
        << what << "[" << i << "]";
}

TEST_P(TorchvisionGolden, LogitsEqualTorchvisions) {
  const Golden g = GetParam();
  const std::string data = std::string(SOMBRERO_SOURCE_DIR) + "/tests/data/torchvision_" + g.name;
  auto model = make(g.zoo, g.width, 0, 48);
  load_model_weights(*model, data + ".safetensors");
  const runtime::SafetensorsFile io = runtime::read_safetensors(data + "_io.safetensors");
  const Tensor images = nhwc(io.tensors.at("input"));
  Context ctx;
  ctx.training = false;
  expect_close(model->forward(ctx, images).to_floats(), io.tensors.at("logits_eval").to_floats(),
               "eval logits");
  ctx.training = true;
  expect_close(model->forward(ctx, images).to_floats(), io.tensors.at("logits_train").to_floats(),
               "train logits");
  for (const NamedBuffer& b : model->buffers()) {
    if (b.name == "bn1.running_mean")
      expect_close(b.tensor->to_floats(), io.tensors.at("after_train.bn1.running_mean").to_floats(),
                   b.name);
    if (b.name == "bn1.running_var")
      expect_close(b.tensor->to_floats(), io.tensors.at("after_train.bn1.running_var").to_floats(),
                   b.name);
    if (b.name == "bn1.num_batches_tracked") {
      EXPECT_EQ(*b.counter, 8);  // 7 + one train forward
    }
  }
  // And back out: sombrero's file holds exactly torchvision's keys, shapes and values (the
  // generator's --check loads such a file into torchvision strictly).
  save_model_weights(*make(g.zoo, g.width, 0, 48), path("out.safetensors"));
  auto reloaded = make(g.zoo, g.width, 0, 48);
  load_model_weights(*reloaded, data + ".safetensors");
  save_model_weights(*reloaded, path("out.safetensors"));
  const runtime::SafetensorsFile ours = runtime::read_safetensors(path("out.safetensors"));
  const runtime::SafetensorsFile theirs = runtime::read_safetensors(data + ".safetensors");
  ASSERT_EQ(ours.tensors.size(), theirs.tensors.size());
  for (const auto& [key, tensor] : theirs.tensors) {
    ASSERT_EQ(ours.tensors.count(key), 1u) << key;
    EXPECT_EQ(ours.tensors.at(key).shape, tensor.shape) << key;
    EXPECT_EQ(ours.tensors.at(key).dtype, tensor.dtype) << key;
    EXPECT_EQ(ours.tensors.at(key).bytes, tensor.bytes) << key;
  }
  if (const char* export_dir = std::getenv("SOMBRERO_EXPORT_DIR"))
    fs::copy_file(path("out.safetensors"),
                  fs::path(export_dir) / (std::string(g.name) + ".safetensors"),
                  fs::copy_options::overwrite_existing);
}

INSTANTIATE_TEST_SUITE_P(Zoo, TorchvisionGolden,
                         ::testing::Values(Golden{"resnet18_w4", "resnet18", 4},
                                           Golden{"resnet50_w2", "resnet50", 2}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sombrero::layers
