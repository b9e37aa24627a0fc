// The zoo: parameter counts equal torchvision's (and the CIFAR ResNet paper's), parameter and
// buffer names equal torchvision's state_dict keys, output and tap shapes, FLOP counts,
// config plumbing and error messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "layers/zoo.h"
#include "runtime/config/run_config_schema.h"
#include "runtime/error.h"
#include "runtime/generator.h"

namespace sombrero::layers {
namespace {

// Built once per (name, classes): building ResNet-50 initialises 25.6 M weights.
Model* zoo(const std::string& name, int classes = 1000) {
  static std::map<std::pair<std::string, int>, std::unique_ptr<Model>> built;
  auto& model = built[{name, classes}];
  if (!model) {
    ModelOptions o;
    o.name = name;
    o.num_classes = classes;
    model = build_model(o);
  }
  return model.get();
}

std::vector<std::string> state_names(Model& model) {
  std::vector<std::string> names;
  for (const NamedState& s : model.state()) names.push_back(s.name);
  return names;
}

// Counts from torchvision (sum(p.numel() for p in resnetXX().parameters())) and, for the
// CIFAR ResNets with option A shortcuts, from He et al. 2016 (0.27M, 0.85M).
TEST(Zoo, ParameterCountsEqualTorchvision) {
  EXPECT_EQ(zoo("resnet18")->parameter_count(), 11689512);
  EXPECT_EQ(zoo("resnet34")->parameter_count(), 21797672);
  EXPECT_EQ(zoo("resnet50")->parameter_count(), 25557032);
  EXPECT_EQ(zoo("resnet20", 10)->parameter_count(), 269722);
  EXPECT_EQ(zoo("resnet56", 10)->parameter_count(), 853018);
}

TEST(Zoo, Resnet20OptionBAddsProjectionShortcuts) {
  ModelOptions o;
  o.name = "resnet20";
  o.shortcut = ShortcutKind::B;
  // + conv 16->32 (512) + BN(32) (64) + conv 32->64 (2048) + BN(64) (128).
  EXPECT_EQ(build_model(o)->parameter_count(), 269722 + 512 + 64 + 2048 + 128);
}

TEST(Zoo, StateNamesAreTorchvisionKeysInStateDictOrder) {
  Model* model = zoo("resnet50");
  const std::vector<std::string> names = state_names(*model);
  // torchvision's resnet50().state_dict() has 320 keys; its first and last ones:
  EXPECT_EQ(names.size(), 320u);
  const std::vector<std::string> head = {
      "conv1.weight",          "bn1.weight",         "bn1.bias",
      "bn1.running_mean",      "bn1.running_var",    "bn1.num_batches_tracked",
      "layer1.0.conv1.weight", "layer1.0.bn1.weight"};
  for (std::size_t i = 0; i < head.size(); ++i) EXPECT_EQ(names[i], head[i]) << i;
  EXPECT_EQ(names[names.size() - 2], "fc.weight");
  EXPECT_EQ(names.back(), "fc.bias");
  for (const char* key :
       {"layer1.0.downsample.0.weight", "layer1.0.downsample.1.running_var",
        "layer4.2.conv3.weight", "layer4.2.bn3.num_batches_tracked", "layer2.3.bn2.bias"})
    EXPECT_NE(std::find(names.begin(), names.end(), key), names.end()) << key;
  EXPECT_EQ(std::find(names.begin(), names.end(), "layer1.1.downsample.0.weight"), names.end());

  Model* r18 = zoo("resnet18");
  const std::vector<std::string> n18 = state_names(*r18);
  EXPECT_EQ(n18.size(), 122u);  // len(resnet18().state_dict())
  EXPECT_NE(std::find(n18.begin(), n18.end(), "layer2.0.downsample.1.weight"), n18.end());
}

TEST(Zoo, ShapesOfParametersAreInMemoryLayouts) {
  Model* model = zoo("resnet50");
  for (const NamedParameter& p : model->parameters()) {
    const Shape shape = p.parameter->value.shape();
    if (p.name == "conv1.weight") {
      EXPECT_EQ(shape, (Shape{64, 7, 7, 3}));
    } else if (p.name == "fc.weight") {
      EXPECT_EQ(shape, (Shape{1000, 2048}));
    } else if (p.name == "layer2.0.conv2.weight") {  // the stride-2 3x3 of the first bottleneck
      EXPECT_EQ(shape, (Shape{128, 3, 3, 128}));
    }
  }
}

TEST(Zoo, BottleneckTapIsTheLastSpatialMap) {
  EXPECT_EQ(zoo("resnet50")->bottleneck_name(), "layer4");
  EXPECT_EQ(zoo("resnet20", 10)->bottleneck_name(), "layer3");
  EXPECT_EQ(zoo("fashion_cnn", 10)->bottleneck_name(), "pool2");
  EXPECT_EQ(zoo("lenet", 10)->bottleneck_name(), "pool2");

  Model* model = zoo("fashion_cnn", 10);
  runtime::Generator gen(1);
  Tensor images = Tensor::empty({3, 28, 28, 1});
  images.fill_normal(gen);
  Context ctx;
  const Tensor logits = model->forward(ctx, images);
  EXPECT_EQ(logits.shape(), (Shape{3, 10}));
  EXPECT_EQ(model->bottleneck().shape(), (Shape{3, 7, 7, 48}));
  for (const float a : model->bottleneck().to_floats()) ASSERT_GE(a, 0.0f);  // after its ReLU
}

TEST(Zoo, BottleneckCanBeChosenAndBadNamesListTheChoices) {
  ModelOptions o;
  o.name = "fashion_cnn";
  o.bottleneck = "bn3";  // BatchNorm + ReLU (fused)
  EXPECT_EQ(build_model(o)->bottleneck_name(), "bn3");
  o.bottleneck = "fc";
  try {
    build_model(o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'fc' is not a spatial layer"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("pool2"), std::string::npos);
  }
  o.name = "resnet51";
  EXPECT_THROW(build_model(o), Error);
}

TEST(Zoo, ForwardFlopsPerImage) {
  // ResNet-50 at 224x224: 4.09 G multiply-adds in convolutions and fc (the commonly quoted
  // 4.1 GMACs), so ~8.2 GFLOPs, plus elementwise BN/ReLU/pool/add work (< 1%).
  const double r50 = zoo("resnet50")->forward_flops_per_image();
  EXPECT_GT(r50, 8.17e9);
  EXPECT_LT(r50, 8.30e9);
  // fashion_cnn at its default width 24: convolutions 28*28*24*9 + 28*28*24*216 +
  // 14*14*48*216 + 14*14*48*432 MACs = 10.33 M MACs (the affordable range of the default run).
  const double cnn = zoo("fashion_cnn", 10)->forward_flops_per_image();
  EXPECT_GT(cnn, 2 * 10.33e6);
  EXPECT_LT(cnn, 2 * 10.33e6 * 1.05);
}

TEST(Zoo, SummaryListsLayersShapesAndTotals) {
  Model* model = zoo("resnet18");
  const std::string text = model->summary();
  EXPECT_NE(text.find("layer4.1"), std::string::npos);
  EXPECT_NE(text.find("7x7x512"), std::string::npos);
  EXPECT_NE(text.find("11689512 parameters"), std::string::npos);
}

TEST(Zoo, ZeroInitResidualZeroesTheLastBnOfEachBlock) {
  ModelOptions o;
  o.name = "resnet50";
  o.zero_init_residual = true;
  auto model = build_model(o);
  int zeroed = 0;
  for (const NamedParameter& p : model->parameters()) {
    if (p.parameter->role != ParameterRole::norm_weight) continue;
    const bool last_bn = p.name.find(".bn3.weight") != std::string::npos;
    const std::vector<float> v = p.parameter->value.to_floats();
    const bool all_zero = std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; });
    if (last_bn) ++zeroed;
    EXPECT_EQ(all_zero, last_bn) << p.name;
  }
  EXPECT_EQ(zeroed, 16);
}

TEST(Zoo, InitialisationFollowsTorchvision) {
  ModelOptions o;
  o.name = "resnet18";
  o.seed = 3;
  auto model = build_model(o);
  for (const NamedParameter& p : model->parameters()) {
    if (p.name != "layer3.0.conv1.weight") continue;  // kaiming normal, fan_out = 256 * 9
    double sum = 0, sum_sq = 0;
    const std::vector<float> v = p.parameter->value.to_floats();
    for (const float x : v) {
      sum += x;
      sum_sq += double(x) * x;
    }
    const double n = double(v.size()), std = std::sqrt(sum_sq / n);
    EXPECT_NEAR(sum / n, 0.0, 4 * 0.0295 / std::sqrt(n));
    EXPECT_NEAR(std, std::sqrt(2.0 / (256 * 9)), 0.01 * std::sqrt(2.0 / (256 * 9)));
  }
  // Different seeds give different weights; the same seed the same.
  o.seed = 4;
  auto other = build_model(o);
  o.seed = 3;
  auto same = build_model(o);
  EXPECT_NE(model->parameters()[0].parameter->value.to_floats(),
            other->parameters()[0].parameter->value.to_floats());
  EXPECT_EQ(model->parameters()[0].parameter->value.to_floats(),
            same->parameters()[0].parameter->value.to_floats());
}

TEST(Zoo, OptionsFromConfig) {
  const runtime::Config config = runtime::parse_config(
      "model: {name: resnet20, num_classes: 0, width: 8, shortcut: B}\n"
      "data: {dataset: cifar10}\ntrain: {seed: 7}\n",
      "test.yaml", {}, runtime::run_config_schema());
  const ModelOptions o = model_options_from_config(config, 100, 3, 32);
  EXPECT_EQ(o.name, "resnet20");
  EXPECT_EQ(o.num_classes, 100);  // from the dataset
  EXPECT_EQ(o.width, 8);
  EXPECT_EQ(o.shortcut, ShortcutKind::B);
  EXPECT_EQ(o.seed, 7u);
  EXPECT_EQ(build_model(o)->num_classes(), 100);
}

}  // namespace
}  // namespace sombrero::layers

namespace sombrero::layers {
namespace {

TEST(Zoo, CustomModelFromALayerList) {
  const runtime::Config config = runtime::parse_config(
      "model:\n  name: custom\n  num_classes: 5\n"
      "  layers: [conv 3x3 8, bn, relu, maxpool 2, basic 16 stride 2, conv 1x1 4 bias, relu,\n"
      "           gap, linear 7, relu, linear]\n"
      "data: {dataset: synthetic}\n",
      "test.yaml", {}, runtime::run_config_schema());
  auto model = build_model(model_options_from_config(config, 0, 3, 16));
  // conv1 216 + bn1 16 + block1 (16*9*8 + 32 + 16*9*16 + 32 + 8*16 + 32) + conv2 64 + 4
  // + fc1 4*7 + 7 + fc2 7*5 + 5.
  EXPECT_EQ(model->parameter_count(), 216 + 16 + (1152 + 32 + 2304 + 32 + 128 + 32) + 68 + 35 + 40);
  EXPECT_EQ(model->bottleneck_name(), "relu2");
  Tensor images = Tensor::zeros({2, 16, 16, 3});
  Context ctx;
  EXPECT_EQ(model->forward(ctx, images).shape(), (Shape{2, 5}));
  EXPECT_EQ(model->bottleneck().shape(), (Shape{2, 4, 4, 4}));
  const std::vector<NamedParameter> params = model->parameters();
  EXPECT_EQ(params[2].name, "bn1.bias");
  EXPECT_EQ(params[3].name, "block1.conv1.weight");
  EXPECT_EQ(params.back().name, "fc2.bias");
}

TEST(Zoo, CustomModelErrorsNameTheEntry) {
  ModelOptions o;
  o.name = "custom";
  o.layers = {"conv 3x3 8", "relu", "dense 10"};
  try {
    build_model(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers[2] 'dense 10': unknown layer kind 'dense'"),
              std::string::npos)
        << e.what();
  }
  o.layers = {"conv 3x3 8", "linear"};
  EXPECT_THROW(build_model(o), Error);  // linear on a spatial map
  o.layers = {"conv 3x3 8", "gap"};
  EXPECT_THROW(build_model(o), Error);  // does not end in num_classes outputs
}

}  // namespace
}  // namespace sombrero::layers

namespace sombrero::layers {
namespace {

// Model::backward's after_layer: every parameter is reported exactly once, right after its
// layer's backward (a stage's blocks one by one), last layer first. Data parallelism starts
// reducing gradients from these reports, so a missed or doubled parameter would hang or
// corrupt a run.
TEST(Model, BackwardReportsEachBlockOnceItsGradientsAreFinal) {
  ModelOptions o;
  o.name = "resnet20";
  o.width = 4;
  auto model = build_model(o);
  runtime::Generator generator(1);
  Tensor images = Tensor::empty({2, 32, 32, 3});
  images.fill_normal(generator);
  Context ctx;
  const Tensor logits = model->forward(ctx, images);
  std::vector<std::string> reported;
  std::map<const Parameter*, int> reports;
  std::map<const Parameter*, std::vector<float>> grad_when_reported;
  model->backward(ctx, Tensor::full(logits.shape(), 0.01f), [&](Layer& layer) {
    reported.push_back(layer.describe());
    for (const NamedParameter& p : layer.named_parameters()) {
      ++reports[p.parameter];
      grad_when_reported[p.parameter] = p.parameter->grad.to_floats();
    }
  });
  for (const NamedParameter& p : model->parameters()) {
    EXPECT_EQ(reports[p.parameter], 1) << p.name;
    // Nothing changed the gradient after its report.
    EXPECT_EQ(grad_when_reported[p.parameter], p.parameter->grad.to_floats()) << p.name;
  }
  // resnet20: fc, avgpool, the three stages' 3 blocks each (reported one by one), bn1, conv1.
  ASSERT_GE(reported.size(), 11u);
  EXPECT_EQ(reported.front().rfind("Linear", 0), 0u) << reported.front();
  EXPECT_EQ(reported.back().rfind("Conv2d", 0), 0u) << reported.back();
  EXPECT_EQ(std::count_if(reported.begin(), reported.end(),
                          [](const std::string& d) { return d.rfind("BasicBlock", 0) == 0; }),
            9);
}

}  // namespace
}  // namespace sombrero::layers
