// Every layer's forward against a double reference and its backward against finite
// differences of that reference (gradient_check.h states the tolerances and why).
#include <gtest/gtest.h>

#include "layers/activation.h"
#include "layers/batch_norm2d.h"
#include "layers/conv2d.h"
#include "layers/linear.h"
#include "layers/pooling.h"
#include "layers/residual.h"
#include "runtime/error.h"
#include "tests/layers/gradient_check.h"

namespace sombrero::layers {
namespace {

using test::DTensor;
using test::Params;

TEST(LayerGradients, Conv2dStride2PaddedWithBias) {
  Conv2d conv({3, 4, 3, 2, 1, true});
  test::check_gradients(conv, {2, 5, 6, 3}, [](const DTensor& x, const Params& p) {
    return test::ref_conv(x, p.at("weight"), 4, 3, 2, 1, &p.at("bias"));
  });
}

TEST(LayerGradients, Conv2dSame3x3AndPointwise) {
  Conv2d same({2, 3, 3, 1, 1, false});
  test::check_gradients(same, {2, 4, 4, 2}, [](const DTensor& x, const Params& p) {
    return test::ref_conv(x, p.at("weight"), 3, 3, 1, 1);
  });
  Conv2d pointwise({5, 3, 1, 1, 0, false});
  test::check_gradients(pointwise, {2, 3, 3, 5}, [](const DTensor& x, const Params& p) {
    return test::ref_conv(x, p.at("weight"), 3, 1, 1, 0);
  });
}

TEST(LayerGradients, BatchNorm2dTraining) {
  BatchNorm2d bn({4});
  test::check_gradients(bn, {2, 3, 3, 4}, [](const DTensor& x, const Params& p) {
    return test::ref_bn_train(x, p.at("weight"), p.at("bias"));
  });
}

TEST(LayerGradients, BatchNorm2dWithFusedReLU) {
  BatchNorm2d bn({4, 1e-5f, 0.1f, /*relu=*/true});
  test::check_gradients(bn, {2, 3, 3, 4}, [](const DTensor& x, const Params& p) {
    return test::ref_relu(test::ref_bn_train(x, p.at("weight"), p.at("bias")));
  });
}

TEST(LayerGradients, ReLU) {
  ReLU relu;
  test::check_gradients(relu, {2, 3, 3, 4},
                        [](const DTensor& x, const Params&) { return test::ref_relu(x); });
}

TEST(LayerGradients, MaxPool2d) {
  MaxPool2d resnet_stem({3, 2, 1});  // torchvision's stem pool, padding included
  test::check_gradients(resnet_stem, {2, 5, 5, 3}, [](const DTensor& x, const Params&) {
    return test::ref_pool(x, 3, 2, 1, true);
  });
  MaxPool2d halve({2, 2, 0});  // odd width: the last column is dropped, as PyTorch
  test::check_gradients(halve, {2, 4, 7, 3}, [](const DTensor& x, const Params&) {
    return test::ref_pool(x, 2, 2, 0, true);
  });
}

TEST(LayerGradients, AvgPool2d) {
  AvgPool2d pool({3, 2, 1});
  test::check_gradients(pool, {2, 5, 5, 3}, [](const DTensor& x, const Params&) {
    return test::ref_pool(x, 3, 2, 1, false);
  });
}

TEST(LayerGradients, GlobalAvgPool) {
  GlobalAvgPool pool;
  test::check_gradients(pool, {2, 3, 4, 5}, [](const DTensor& x, const Params&) {
    return test::ref_global_avg_pool(x);
  });
}

TEST(LayerGradients, LinearAndFlatten) {
  Linear fc({7, 5, true});
  test::check_gradients(fc, {3, 7}, [](const DTensor& x, const Params& p) {
    return test::ref_linear(x, p.at("weight"), &p.at("bias"), 5);
  });
  Sequential head;  // Flatten is NHWC order: feature index (h * W + w) * C + c
  head.add(std::make_unique<Flatten>());
  head.add(std::make_unique<Linear>(LinearOptions{12, 2, false}));
  test::check_gradients(head, {2, 2, 3, 2}, [](const DTensor& x, const Params& p) {
    return test::ref_linear(x, p.at("1.weight"), nullptr, 2);
  });
}

TEST(LayerGradients, BasicBlockIdentityAndProjection) {
  BasicBlock identity({4, 4, 1, ShortcutKind::B});
  test::check_gradients(identity, {2, 4, 4, 4}, [](const DTensor& x, const Params& p) {
    return test::ref_basic_block(x, p, "", 4, 1, 'I');
  });
  BasicBlock projection({3, 6, 2, ShortcutKind::B});
  test::check_gradients(projection, {2, 5, 5, 3}, [](const DTensor& x, const Params& p) {
    return test::ref_basic_block(x, p, "", 6, 2, 'B');
  });
}

TEST(LayerGradients, BasicBlockOptionAShortcut) {
  BasicBlock block({2, 6, 2, ShortcutKind::A});
  EXPECT_EQ(block.named_parameters().size(), 6u);  // no shortcut parameters
  test::check_gradients(block, {2, 5, 4, 2}, [](const DTensor& x, const Params& p) {
    return test::ref_basic_block(x, p, "", 6, 2, 'A');
  });
}

TEST(LayerGradients, BottleneckStrideOnThe3x3) {
  Bottleneck down({4, 2, 2, ShortcutKind::B});
  test::check_gradients(down, {2, 5, 5, 4}, [](const DTensor& x, const Params& p) {
    return test::ref_bottleneck(x, p, "", 2, 2, true);
  });
  Bottleneck identity({8, 2, 1, ShortcutKind::B});
  test::check_gradients(identity, {2, 3, 3, 8}, [](const DTensor& x, const Params& p) {
    return test::ref_bottleneck(x, p, "", 2, 1, false);
  });
}

TEST(LayerGradients, AddSumsAndRefusesMismatchedShapes) {
  const Tensor a = Tensor::from_floats({1, 1, 1, 3}, {1, 2, 3});
  const Tensor b = Tensor::from_floats({1, 1, 1, 3}, {10, 20, 30});
  EXPECT_EQ(Add::forward(a, b).to_floats(), (std::vector<float>{11, 22, 33}));
  EXPECT_THROW(Add::forward(a, Tensor::zeros({1, 1, 3, 1})), Error);
}

TEST(LayerErrors, ShapeAndModeMistakesAreClear) {
  Conv2d conv({3, 4, 3, 1, 1, false});
  Context ctx;
  try {
    conv.forward(ctx, Tensor::zeros({1, 5, 5, 2}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input has 2 channels, expected 3"), std::string::npos)
        << e.what();
  }
  ctx.training = false;
  conv.forward(ctx, Tensor::zeros({1, 5, 5, 3}));
  EXPECT_THROW(conv.backward(ctx, Tensor::zeros({1, 5, 5, 4})), Error);  // nothing cached
  BatchNorm2d bn({2});
  ctx.training = true;
  EXPECT_THROW(bn.forward(ctx, Tensor::zeros({1, 1, 1, 2})), Error);  // one value per channel
}

}  // namespace
}  // namespace sombrero::layers
