#include "layers/zoo.h"

#include <cmath>

#include "layers/linear.h"
#include "layers/pooling.h"
#include "runtime/error.h"

namespace sombrero::layers {

namespace {

struct Builder {
  const ModelOptions& o;
  Sequential& trunk;

  void conv(const std::string& name, int in, int out, int kernel, int stride, int padding,
            bool bias = false) {
    trunk.add(std::make_unique<Conv2d>(Conv2dOptions{in, out, kernel, stride, padding, bias}),
              name);
  }
  void bn(const std::string& name, int channels) {
    trunk.add(std::make_unique<BatchNorm2d>(BatchNorm2dOptions{channels, o.bn_eps, o.bn_momentum}),
              name);
  }
  void relu(const std::string& name) { trunk.add(std::make_unique<ReLU>(), name); }
  void maxpool(const std::string& name, int kernel, int stride, int padding) {
    trunk.add(std::make_unique<MaxPool2d>(Pool2dOptions{kernel, stride, padding}), name);
  }
  void fc(const std::string& name, int in, int out) {
    trunk.add(std::make_unique<Linear>(LinearOptions{in, out, true}), name);
  }
};

template <typename Block>
std::unique_ptr<Sequential> make_stage(const ModelOptions& o, int& in_channels, int planes,
                                       int blocks, int stride, ShortcutKind shortcut) {
  auto stage = std::make_unique<Sequential>();
  for (int b = 0; b < blocks; ++b) {
    BlockOptions block{in_channels,          planes,   b == 0 ? stride : 1, shortcut,
                       o.zero_init_residual, o.bn_eps, o.bn_momentum};
    stage->add(std::make_unique<Block>(block));
    in_channels = planes * Block::expansion;
  }
  return stage;
}

int or_default(int value, int fallback) {
  return value > 0 ? value : fallback;
}

std::unique_ptr<Model> fashion_cnn(const ModelOptions& o) {
  const int c = or_default(o.in_channels, 1), size = or_default(o.image_size, 28);
  const int w = or_default(o.width, 24);
  auto trunk = std::make_unique<Sequential>();
  Builder b{o, *trunk};
  b.conv("conv1", c, w, 3, 1, 1);
  b.bn("bn1", w);
  b.relu("relu1");
  b.conv("conv2", w, w, 3, 1, 1);
  b.bn("bn2", w);
  b.relu("relu2");
  b.maxpool("pool1", 2, 2, 0);
  b.conv("conv3", w, 2 * w, 3, 1, 1);
  b.bn("bn3", 2 * w);
  b.relu("relu3");
  b.conv("conv4", 2 * w, 2 * w, 3, 1, 1);
  b.bn("bn4", 2 * w);
  b.relu("relu4");
  b.maxpool("pool2", 2, 2, 0);
  trunk->add(std::make_unique<GlobalAvgPool>(), "avgpool");
  b.fc("fc", 2 * w, o.num_classes);
  return std::make_unique<Model>("fashion_cnn", std::move(trunk), Shape{size, size, c},
                                 o.bottleneck);
}

std::unique_ptr<Model> lenet(const ModelOptions& o) {
  const int c = or_default(o.in_channels, 1), size = or_default(o.image_size, 28);
  const int w = or_default(o.width, 6);
  auto trunk = std::make_unique<Sequential>();
  Builder b{o, *trunk};
  b.conv("conv1", c, w, 5, 1, 2, true);
  b.relu("relu1");
  b.maxpool("pool1", 2, 2, 0);
  const int w2 = w * 16 / 6;
  b.conv("conv2", w, w2, 5, 1, 0, true);
  b.relu("relu2");
  b.maxpool("pool2", 2, 2, 0);
  trunk->add(std::make_unique<Flatten>(), "flatten");
  const int spatial = ((size / 2) - 4) / 2;
  SOMBRERO_CHECK(spatial > 0, "lenet: image size ", size, " is too small (at least 12)");
  b.fc("fc1", w2 * spatial * spatial, 120);
  b.relu("relu3");
  b.fc("fc2", 120, 84);
  b.relu("relu4");
  b.fc("fc3", 84, o.num_classes);
  return std::make_unique<Model>("lenet", std::move(trunk), Shape{size, size, c}, o.bottleneck);
}

std::unique_ptr<Model> cifar_resnet(const ModelOptions& o, int blocks) {
  const int c = or_default(o.in_channels, 3), size = or_default(o.image_size, 32);
  const int w = or_default(o.width, 16);
  auto trunk = std::make_unique<Sequential>();
  Builder b{o, *trunk};
  b.conv("conv1", c, w, 3, 1, 1);
  b.bn("bn1", w);
  b.relu("relu");
  int in = w;
  trunk->add(make_stage<BasicBlock>(o, in, w, blocks, 1, o.shortcut), "layer1");
  trunk->add(make_stage<BasicBlock>(o, in, 2 * w, blocks, 2, o.shortcut), "layer2");
  trunk->add(make_stage<BasicBlock>(o, in, 4 * w, blocks, 2, o.shortcut), "layer3");
  trunk->add(std::make_unique<GlobalAvgPool>(), "avgpool");
  b.fc("fc", in, o.num_classes);
  return std::make_unique<Model>(o.name, std::move(trunk), Shape{size, size, c}, o.bottleneck);
}

template <typename Block>
std::unique_ptr<Model> imagenet_resnet(const ModelOptions& o, std::vector<int> blocks) {
  const int c = or_default(o.in_channels, 3), size = or_default(o.image_size, 224);
  const int w = or_default(o.width, 64);
  auto trunk = std::make_unique<Sequential>();
  Builder b{o, *trunk};
  b.conv("conv1", c, w, 7, 2, 3);
  b.bn("bn1", w);
  b.relu("relu");
  b.maxpool("maxpool", 3, 2, 1);
  int in = w;
  for (int s = 0; s < 4; ++s)
    trunk->add(
        make_stage<Block>(o, in, w << s, blocks[std::size_t(s)], s == 0 ? 1 : 2, ShortcutKind::B),
        "layer" + std::to_string(s + 1));
  trunk->add(std::make_unique<GlobalAvgPool>(), "avgpool");
  b.fc("fc", in, o.num_classes);
  return std::make_unique<Model>(o.name, std::move(trunk), Shape{size, size, c}, o.bottleneck);
}

void initialize_layer(Layer& layer, runtime::Generator& generator) {
  if (auto* conv = dynamic_cast<Conv2d*>(&layer)) {
    const Conv2dOptions& co = conv->options();
    const float std = std::sqrt(2.0f / float(co.out_channels * co.kernel * co.kernel));
    conv->weight().value.fill_normal(generator, 0.0f, std);
    if (conv->bias() != nullptr) conv->bias()->value.fill(0.0f);
  } else if (auto* linear = dynamic_cast<Linear*>(&layer)) {
    const float bound = 1.0f / std::sqrt(float(linear->weight().value.dim(1)));
    linear->weight().value.fill_uniform(generator, -bound, bound);
    if (linear->bias() != nullptr) linear->bias()->value.fill_uniform(generator, -bound, bound);
  }
  for (const auto& [name, child] : layer.children()) initialize_layer(*child, generator);
}

}  // namespace

void initialize(Layer& root, std::uint64_t seed) {
  runtime::Generator generator(seed);
  initialize_layer(root, generator);
}

std::vector<std::string> zoo_names() {
  return {"fashion_cnn", "lenet", "resnet20", "resnet56", "resnet18", "resnet34", "resnet50"};
}

std::unique_ptr<Model> build_model(const ModelOptions& o) {
  SOMBRERO_CHECK(o.num_classes > 0, "model ", o.name, ": num_classes must be positive, got ",
                 o.num_classes);
  std::unique_ptr<Model> model;
  if (o.name == "fashion_cnn")
    model = fashion_cnn(o);
  else if (o.name == "lenet")
    model = lenet(o);
  else if (o.name == "resnet20")
    model = cifar_resnet(o, 3);
  else if (o.name == "resnet56")
    model = cifar_resnet(o, 9);
  else if (o.name == "resnet18")
    model = imagenet_resnet<BasicBlock>(o, {2, 2, 2, 2});
  else if (o.name == "resnet34")
    model = imagenet_resnet<BasicBlock>(o, {3, 4, 6, 3});
  else if (o.name == "resnet50")
    model = imagenet_resnet<Bottleneck>(o, {3, 4, 6, 3});
  else {
    std::string names;
    for (const std::string& n : zoo_names()) {
      if (!names.empty()) names += ", ";
      names += n;
    }
    SOMBRERO_FAIL("unknown model '", o.name, "' (the zoo has: ", names, ")");
  }
  initialize(model->trunk(), o.seed);
  return model;
}

ModelOptions model_options_from_config(const runtime::Config& config, int dataset_classes,
                                       int dataset_channels, int dataset_image_size) {
  ModelOptions o;
  o.name = config.get<std::string>("model.name");
  o.num_classes = config.get<int>("model.num_classes");
  if (o.num_classes == 0) o.num_classes = dataset_classes;
  SOMBRERO_CHECK(o.num_classes > 0,
                 "model.num_classes is 0 and no dataset class count is known: set it");
  o.in_channels = dataset_channels;
  o.image_size = dataset_image_size;
  o.width = config.get<int>("model.width");
  o.zero_init_residual = config.get<bool>("model.zero_init_residual");
  o.shortcut = config.get<std::string>("model.shortcut") == "B" ? ShortcutKind::B : ShortcutKind::A;
  o.bn_momentum = float(config.get<double>("model.bn_momentum"));
  o.bn_eps = float(config.get<double>("model.bn_eps"));
  o.bottleneck = config.get<std::string>("model.bottleneck");
  o.seed = static_cast<std::uint64_t>(config.get<std::int64_t>("train.seed"));
  return o;
}

}  // namespace sombrero::layers
