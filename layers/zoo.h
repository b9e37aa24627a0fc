// The model zoo: networks by name, from options or from the `model:` section of a run config.
//
//   fashion_cnn  28x28, the default run's small CNN: [conv3x3 + BN + ReLU] x2, maxpool 2,
//                [conv3x3 + BN + ReLU] x2 (twice the width), maxpool 2 -> tap 7x7 ->
//                flatten -> fc. width (default 24) sets the first convs' channels:
//                24 is 20.7 MFLOPs forward per image (~0.1 s per training step of 128 images
//                on 2 cores), 32 is 36.9 MFLOPs.
//   lenet        28x28, LeNet-5 with ReLU and max pooling: conv5x5(6, pad 2) pool
//                conv5x5(16) pool -> tap 5x5x16 -> fc 120 -> fc 84 -> fc classes.
//   resnet20/56  32x32 CIFAR ResNets of He et al. (3 stages of 3 / 9 BasicBlocks, 16-32-64
//                channels), shortcut option A (default, as the paper) or B.
//   resnet18/34/50  torchvision's ResNets (BasicBlock [2,2,2,2] / [3,4,6,3], Bottleneck
//                [3,4,6,3] with the stride on the 3x3), 224x224 by default, with
//                torchvision's parameter names and initialisation (kaiming normal fan_out
//                for convolutions, BN 1/0, PyTorch's default for fc).
//   custom       the layers of ModelOptions::layers (`model.layers`), one spec per entry:
//                  conv KxK OUT [stride S] [pad P] [bias]   (pad defaults to K / 2)
//                  bn | relu | gap | flatten
//                  maxpool K [stride S] [pad P] | avgpool K [stride S] [pad P]  (stride = K)
//                  basic OUT [stride S] | bottleneck PLANES [stride S]  (torchvision blocks,
//                                                             1x1 conv + BN projection)
//                  linear [OUT]                     (OUT defaults to num_classes)
//                Layers are named by kind and count: conv1, bn1, relu1, ..., block1, fc1.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "layers/model.h"
#include "layers/residual.h"
#include "runtime/config/config.h"

namespace sombrero::layers {

struct ModelOptions {
  std::string name;  // a zoo name
  int num_classes = 10;
  int in_channels = 0;  // 0: the architecture's (1 for 28x28 ones, 3 otherwise)
  int image_size = 0;   // 0: the architecture's (28, 32 or 224)
  int width = 0;        // 0: the architecture's base width
  bool zero_init_residual = false;
  ShortcutKind shortcut = ShortcutKind::A;  // CIFAR ResNets only
  float bn_momentum = 0.1f;
  float bn_eps = 1e-5f;
  std::string bottleneck;           // "" = the default tap
  std::vector<std::string> layers;  // name "custom": the layer specs above
  std::uint64_t seed = 0;           // initialisation
};

std::vector<std::string> zoo_names();
std::unique_ptr<Model> build_model(const ModelOptions& options);

// Options from a run config's `model:` section (and train.seed). The dataset supplies what the
// config leaves open: its class count (model.num_classes: 0), channels and image size
// (0 = the architecture's default).
ModelOptions model_options_from_config(const runtime::Config& config, int dataset_classes = 0,
                                       int dataset_channels = 0, int dataset_image_size = 0);

// Initialises every Conv2d weight with kaiming normal (fan_out, ReLU gain: std sqrt(2 /
// (out kh kw))) and every Linear with PyTorch's default (U(+-1/sqrt(in))), drawing from one
// generator seeded with `seed` in parameter order. BN parameters are left as they are.
void initialize(Layer& root, std::uint64_t seed);

}  // namespace sombrero::layers
