// The checks of model_device_test.cpp (simt) and model_device_gpu_test.cpp (cuda:0): the
// optimizer, the combined loss, Model::to and weight I/O on a device against the cpu path,
// which is the reference (its own tests compare it with torch's formulas and docs/u1.md).
// Shapes are tiny: the simt device runs one fiber per CUDA thread.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/optim/sgd.h"
#include "kernels/u1loss/class_angles.h"
#include "layers/model.h"
#include "layers/sgd.h"
#include "layers/weights.h"
#include "layers/zoo.h"
#include "losses/combined_loss.h"
#include "runtime/error.h"
#include "tests/support/test_values.h"

namespace sombrero::layers::device_checks {

using runtime::Device;
using runtime::DType;
using runtime::Generator;

// How closely a device result must follow the cpu one.
struct Tolerance {
  bool sgd_bitwise = false;  // without clipping (see check_sgd_matches_cpu)
  double sgd = 1e-6;         // norm-wise relative, where not bit for bit
};

// ---------------------------------------------------------------------------------------------
// Sgd

// A parameter set with every role (so no_decay_bn_bias excludes some) and one tensor longer
// than a chunk of the multi-tensor kernel (kSgdChunkElements), on `device`.
struct ParameterSet {
  std::vector<std::string> names = {"conv.weight", "bn.weight", "bn.bias", "fc.weight", "fc.bias"};
  std::vector<std::int64_t> sizes = {kernels::kSgdChunkElements + 37, 6, 6, 12, 3};
  std::vector<ParameterRole> roles = {ParameterRole::weight, ParameterRole::norm_weight,
                                      ParameterRole::norm_bias, ParameterRole::weight,
                                      ParameterRole::bias};
  std::vector<Parameter> parameters;

  explicit ParameterSet(Device device) {
    Generator gen(11);
    parameters.resize(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
      Tensor value = Tensor::empty({sizes[i]});
      value.fill_normal(gen, 0.0f, 1.0f);
      parameters[i].value = value.to(device);
      parameters[i].grad = Tensor::zeros({sizes[i]}, DType::f32, device);
      parameters[i].role = roles[i];
    }
  }
  std::vector<NamedParameter> named() {
    std::vector<NamedParameter> out;
    for (std::size_t i = 0; i < names.size(); ++i) out.push_back({names[i], &parameters[i]});
    return out;
  }
  // The gradients of step `step`, the same on every device.
  void set_gradients(int step) {
    Generator gen(100 + std::uint64_t(step));
    for (Parameter& p : parameters) {
      Tensor g = Tensor::empty(p.grad.shape());
      g.fill_normal(gen, 0.0f, 0.5f);
      p.grad.copy_from(g);
    }
  }
};

inline void expect_same_floats(const std::vector<float>& got, const std::vector<float>& want,
                               const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  std::size_t differing = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    differing += std::memcmp(&got[i], &want[i], sizeof(float)) != 0 ? 1 : 0;
  EXPECT_EQ(differing, 0u) << what << ": " << differing << " of " << got.size()
                           << " elements differ in their bits";
}

// Three steps of the cpu Sgd and of the Sgd on `device` from the same parameters and gradients,
// for momentum + Nesterov + weight decay with exclusions, heavy ball, plain SGD and clipping.
inline void check_sgd_matches_cpu(Device device, const Tolerance& tolerance) {
  struct Case {
    const char* name;
    SgdOptions options;
  };
  const Case cases[] = {
      {"nesterov, decay without bn/bias", {0.9f, true, 0.05f, true, 0.0f}},
      {"heavy ball, decay on all", {0.5f, false, 0.01f, false, 0.0f}},
      {"no momentum", {0.0f, false, 0.02f, true, 0.0f}},
      {"nesterov, clipped", {0.9f, true, 0.05f, true, 1.0f}},  // the norm is about 128
  };
  const float lrs[3] = {0.1f, 0.05f, 0.2f};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ParameterSet cpu(Device::cpu()), dev(device);
    Sgd cpu_sgd(cpu.named(), c.options), dev_sgd(dev.named(), c.options);
    for (int step = 0; step < 3; ++step) {
      cpu.set_gradients(step);
      dev.set_gradients(step);
      const SgdStepStats want = cpu_sgd.step(lrs[step]);
      const SgdStepStats got = dev_sgd.step(lrs[step]);
      // The norm is summed in another order (f32 tree on the device, double on the cpu).
      EXPECT_NEAR(got.grad_norm, want.grad_norm, 1e-6 * want.grad_norm) << "step " << step;
      EXPECT_EQ(got.clipped, want.clipped) << "step " << step;
    }
    EXPECT_EQ(dev_sgd.steps_taken(), 3);
    // Without clipping the update reads nothing summed: the same float expression per element,
    // so a device that evaluates it without contraction (simt: the host compiler's code, no
    // FMA on baseline x86-64) gives the cpu's bits. The GPU fuses multiply-adds (nvcc
    // --fmad=true) and clipping's scale depends on the norm's summation order: there the
    // parameters agree to 1e-6 norm-wise (a few float ulps of each element's update).
    const bool bitwise = tolerance.sgd_bitwise && c.options.grad_clip == 0.0f;
    const auto cpu_buffers = cpu_sgd.momentum_buffers();
    const auto dev_buffers = dev_sgd.momentum_buffers();
    ASSERT_EQ(dev_buffers.size(), cpu_buffers.size());
    for (std::size_t i = 0; i < cpu.names.size(); ++i) {
      EXPECT_EQ(dev.parameters[i].value.device(), device);
      const std::vector<float> got = dev.parameters[i].value.to_floats();
      const std::vector<float> want = cpu.parameters[i].value.to_floats();
      if (bitwise)
        expect_same_floats(got, want, cpu.names[i]);
      else
        EXPECT_LT(test::relative_error(got, want), tolerance.sgd) << cpu.names[i];
      if (i < cpu_buffers.size()) {
        EXPECT_EQ(dev_buffers[i].first, cpu.names[i]);
        EXPECT_EQ(dev_buffers[i].second->device(), device);
        const std::vector<float> got_buffer = dev_buffers[i].second->to_floats();
        const std::vector<float> want_buffer = cpu_buffers[i].second->to_floats();
        if (bitwise)
          expect_same_floats(got_buffer, want_buffer, cpu.names[i] + " momentum");
        else
          EXPECT_LT(test::relative_error(got_buffer, want_buffer), tolerance.sgd)
              << cpu.names[i] << " momentum";
      }
    }
    // The parameters did move (a no-op update would trivially "match" nothing else).
    EXPECT_GT(test::relative_error(dev.parameters[0].value.to_floats(),
                                   ParameterSet(Device::cpu()).parameters[0].value.to_floats()),
              1e-3);
  }
}

// A NaN in one gradient on the device: step() fails naming that parameter and changes nothing.
inline void check_sgd_nonfinite_gradient_is_named(Device device) {
  ParameterSet dev(device);
  Sgd sgd(dev.named(), {0.9f, true, 0.05f, true, 0.0f});
  dev.set_gradients(0);
  Tensor grad = dev.parameters[3].grad.to(Device::cpu());
  grad.data<float>()[5] = NAN;
  dev.parameters[3].grad.copy_from(grad);
  const std::vector<float> before = dev.parameters[0].value.to_floats();
  try {
    sgd.step(0.1f);
    ADD_FAILURE() << "a NaN gradient was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'fc.weight (gradient)'"), std::string::npos) << e.what();
  }
  expect_same_floats(dev.parameters[0].value.to_floats(), before, "conv.weight after the failure");
  EXPECT_EQ(sgd.steps_taken(), 0);
  EXPECT_EQ(first_nonfinite(dev.named(), true), "fc.weight (gradient)");
  EXPECT_EQ(first_nonfinite(dev.named(), false), "");
}

// ---------------------------------------------------------------------------------------------
// CombinedLoss

struct LossInputs {
  Tensor logits, bottleneck, dbottleneck;  // the bottleneck and its gradient: bf16-exact values
  std::vector<std::int32_t> labels = {2, 0, 3};
};

// batch 3, 4 classes, a 2x3x5 bottleneck with ReLU zeros; the gradient buffer starts non-zero
// (the loss adds to it) at the scale of what the loss adds.
inline LossInputs loss_inputs() {
  LossInputs in;
  Generator gen(5);
  in.logits = Tensor::empty({3, 4});
  in.logits.fill_normal(gen, 0.0f, 2.0f);
  std::vector<float> a = test::random_values(3 * 2 * 3 * 5, 7);
  for (float& v : a) v = v < -0.3f ? 0.0f : std::abs(v);
  in.bottleneck = Tensor::from_floats({3, 2, 3, 5}, test::rounded_to_bf16(a));
  std::vector<float> d = test::random_values(a.size(), 8);
  for (float& v : d) v *= 1e-3f;
  in.dbottleneck = Tensor::from_floats({3, 2, 3, 5}, test::rounded_to_bf16(d));
  return in;
}

inline losses::CombinedLossOptions loss_options(kernels::U1Space space) {
  losses::CombinedLossOptions o;
  o.u1 = {0.3f, 1e-3f, space, 0.1f};
  o.class_angles = kernels::class_angle_table(kernels::ClassAngles::uniform, 4, 0);
  return o;
}

inline std::vector<float> minus(std::vector<float> a, const std::vector<float>& b) {
  for (std::size_t i = 0; i < a.size(); ++i) a[i] -= b[i];
  return a;
}

// compute() and forward_only() with the bottleneck in `dtype` on `device` against the cpu.
// `tolerance`: relative, for the loss parts, dlogits, the added bottleneck gradient and z.
inline void check_loss_matches_cpu(Device device, kernels::U1Space space, DType dtype,
                                   double tolerance) {
  SCOPED_TRACE(std::string(kernels::to_string(space)) + " " + runtime::dtype_name(dtype));
  const losses::CombinedLoss loss(loss_options(space));
  const LossInputs in = loss_inputs();
  Tensor cpu_d = in.dbottleneck.clone();
  const losses::LossOutput want = loss.compute(in.logits, in.labels, in.bottleneck, &cpu_d);

  const Tensor logits = in.logits.to(device);
  const Tensor bottleneck = in.bottleneck.to_dtype(dtype).to(device);
  Tensor dev_d = in.dbottleneck.to_dtype(dtype).to(device);
  const losses::LossOutput got = loss.compute(logits, in.labels, bottleneck, &dev_d);

  auto near = [&](double g, double w, const char* what) {
    EXPECT_NEAR(g, w, tolerance * std::abs(w)) << what;
  };
  near(got.mean.loss, want.mean.loss, "loss");
  near(got.mean.ce, want.mean.ce, "ce");
  near(got.mean.u1, want.mean.u1, "u1");
  EXPECT_GT(want.mean.u1, 0.0);
  ASSERT_TRUE(got.dlogits.defined());
  EXPECT_EQ(got.dlogits.device(), device);
  EXPECT_EQ(got.dlogits.dtype(), DType::f32);
  EXPECT_LT(test::relative_error(got.dlogits.to_floats(), want.dlogits.to_floats()), tolerance);
  EXPECT_EQ(dev_d.device(), device);
  const std::vector<float> added_want = minus(cpu_d.to_floats(), in.dbottleneck.to_floats());
  const std::vector<float> added_got =
      minus(dev_d.to_floats(), in.dbottleneck.to_dtype(dtype).to_floats());
  EXPECT_GT(test::relative_error(std::vector<float>(added_want.size(), 0.0f), added_want), 0.5)
      << "the loss added no bottleneck gradient";
  EXPECT_LT(test::relative_error(added_got, added_want), tolerance) << "added bottleneck gradient";
  EXPECT_LT(test::relative_error(got.z, want.z), tolerance) << "z";
  EXPECT_LT(test::relative_error(got.sample_losses, want.sample_losses), tolerance);
  EXPECT_EQ(got.angle_prediction, want.angle_prediction);

  // Evaluation: the same loss, nothing written to a gradient.
  const losses::LossOutput want_eval = loss.forward_only(in.logits, in.labels, in.bottleneck);
  const losses::LossOutput got_eval = loss.forward_only(logits, in.labels, bottleneck);
  near(got_eval.mean.loss, want_eval.mean.loss, "forward_only loss");
  near(got_eval.mean.loss, want.mean.loss, "forward_only loss vs compute");
  EXPECT_LT(test::relative_error(got_eval.z, want.z), tolerance) << "forward_only z";
  EXPECT_EQ(got_eval.angle_prediction, want.angle_prediction);
}

// ---------------------------------------------------------------------------------------------
// Model::to and weights

inline std::unique_ptr<Model> tiny_model(std::uint64_t seed) {
  ModelOptions o;
  o.name = "custom";
  o.num_classes = 3;
  o.in_channels = 2;
  o.image_size = 6;
  o.seed = seed;
  o.layers = {"conv 3x3 4", "bn", "relu", "gap", "linear"};
  return build_model(o);
}

// Every state tensor (parameter values, gradients, buffer tensors) and counter as floats,
// after giving the gradients and BatchNorm statistics values of their own (seeded).
inline void randomise_grads_and_buffers(Model& model, std::uint64_t seed) {
  Generator gen(seed);
  for (const NamedParameter& p : model.parameters()) {
    Tensor g = Tensor::empty(p.parameter->grad.shape());
    g.fill_normal(gen);
    p.parameter->grad.copy_from(g);
  }
  for (const NamedBuffer& b : model.buffers()) {
    if (b.tensor != nullptr) {
      Tensor t = Tensor::empty(b.tensor->shape());
      t.fill_uniform(gen, 0.5f, 2.0f);
      b.tensor->copy_from(t);
    } else {
      *b.counter = 17;
    }
  }
}

struct StateSnapshot {
  std::vector<std::vector<float>> values, grads, buffers;
  std::vector<std::int64_t> counters;
};

inline StateSnapshot snapshot(Model& model) {
  StateSnapshot s;
  for (const NamedParameter& p : model.parameters()) {
    s.values.push_back(p.parameter->value.to_floats());
    s.grads.push_back(p.parameter->grad.to_floats());
  }
  for (const NamedBuffer& b : model.buffers()) {
    if (b.tensor != nullptr)
      s.buffers.push_back(b.tensor->to_floats());
    else
      s.counters.push_back(*b.counter);
  }
  return s;
}

inline void expect_same_state(const StateSnapshot& got, const StateSnapshot& want, bool grads) {
  ASSERT_EQ(got.values.size(), want.values.size());
  for (std::size_t i = 0; i < want.values.size(); ++i) {
    expect_same_floats(got.values[i], want.values[i], "parameter " + std::to_string(i));
    if (grads) expect_same_floats(got.grads[i], want.grads[i], "grad " + std::to_string(i));
  }
  ASSERT_EQ(got.buffers.size(), want.buffers.size());
  for (std::size_t i = 0; i < want.buffers.size(); ++i)
    expect_same_floats(got.buffers[i], want.buffers[i], "buffer " + std::to_string(i));
  EXPECT_EQ(got.counters, want.counters);
}

inline void expect_all_state_on(Model& model, Device device) {
  EXPECT_EQ(model.device(), device);
  for (const NamedParameter& p : model.parameters()) {
    EXPECT_EQ(p.parameter->value.device(), device) << p.name;
    EXPECT_EQ(p.parameter->grad.device(), device) << p.name << " grad";
    EXPECT_EQ(p.parameter->value.dtype(), DType::f32) << p.name;
  }
  for (const NamedBuffer& b : model.buffers())
    if (b.tensor != nullptr) {
      EXPECT_EQ(b.tensor->device(), device) << b.name;
    }
}

// cpu -> device -> cpu keeps every bit of the state; zero_grad works on the device; images
// on another device are refused by name.
inline void check_model_to_round_trips(Device device) {
  auto model = tiny_model(1);
  randomise_grads_and_buffers(*model, 2);
  const StateSnapshot before = snapshot(*model);
  EXPECT_EQ(model->device(), Device::cpu());
  model->to(device);
  expect_all_state_on(*model, device);
  expect_same_state(snapshot(*model), before, true);
  model->to(Device::cpu());
  expect_all_state_on(*model, Device::cpu());
  expect_same_state(snapshot(*model), before, true);

  model->to(device);
  model->zero_grad();
  for (const NamedParameter& p : model->parameters())
    for (const float g : p.parameter->grad.to_floats()) ASSERT_EQ(g, 0.0f) << p.name;

  Context ctx;
  ctx.device = device;
  try {
    model->forward(ctx, Tensor::zeros({1, 6, 6, 2}));
    ADD_FAILURE() << "cpu images were accepted by a model on " << runtime::to_string(device);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the images are on cpu but the model is on " +
                                         runtime::to_string(device)),
              std::string::npos)
        << e.what();
  }
}

// A model on the device saves what a cpu model loads bit for bit, and a device model loads
// a cpu model's file bit for bit.
inline void check_weights_cross_devices(Device device, const std::string& stem) {
  const std::string path = ::testing::TempDir() + stem + "_weights.safetensors";
  auto saved = tiny_model(1);
  randomise_grads_and_buffers(*saved, 3);
  const StateSnapshot want = snapshot(*saved);
  saved->to(device);
  save_model_weights(*saved, path);

  auto cpu_model = tiny_model(2);  // other initial values
  load_model_weights(*cpu_model, path);
  expect_same_state(snapshot(*cpu_model), want, false);

  auto device_model = tiny_model(4);
  device_model->to(device);
  load_model_weights(*device_model, path);
  expect_all_state_on(*device_model, device);
  expect_same_state(snapshot(*device_model), want, false);
  std::remove(path.c_str());
}

// ---------------------------------------------------------------------------------------------
// A whole training step

// Two steps of forward, loss (U(1) weight > 0, so the tap receives a gradient), backward and
// Sgd on `device` with activations in `precision`, against the same steps on the cpu: the
// logits leave the model f32, the bottleneck gradient has the activations' dtype, and the
// loss, the gradients and the updated parameters follow the cpu's within `tolerance`
// (norm-wise relative).
inline void check_train_step_matches_cpu(Device device, DType precision, double tolerance) {
  SCOPED_TRACE(runtime::dtype_name(precision));
  auto cpu = tiny_model(1), dev = tiny_model(1);
  dev->to(device);
  losses::CombinedLossOptions options = loss_options(kernels::U1Space::joint);
  options.class_angles = kernels::class_angle_table(kernels::ClassAngles::uniform, 3, 0);
  const losses::CombinedLoss loss(options);
  const SgdOptions sgd_options{0.9f, true, 0.01f, true, 0.0f};
  Sgd cpu_sgd(cpu->parameters(), sgd_options), dev_sgd(dev->parameters(), sgd_options);
  Generator gen(3);
  Tensor images = Tensor::empty({2, 6, 6, 2});
  images.fill_normal(gen);
  images = images.to_dtype(precision).to_dtype(DType::f32);  // the same inputs for both
  const std::vector<std::int32_t> labels = {1, 2};
  Context cpu_ctx, dev_ctx;
  dev_ctx.device = device;
  dev_ctx.precision = precision == DType::bf16 ? Precision::bf16 : Precision::f32;
  for (int step = 0; step < 2; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    cpu->zero_grad();
    const Tensor cpu_logits = cpu->forward(cpu_ctx, images);
    const losses::LossOutput want =
        loss.compute(cpu_logits, labels, cpu->bottleneck(), &cpu->bottleneck_grad());
    cpu->backward(cpu_ctx, want.dlogits);
    cpu_sgd.step(0.1f);

    dev->zero_grad();
    const Tensor logits = dev->forward(dev_ctx, images.to_dtype(precision).to(device));
    EXPECT_EQ(logits.dtype(), DType::f32);
    EXPECT_EQ(logits.device(), device);
    EXPECT_EQ(dev->bottleneck().dtype(), precision);
    EXPECT_EQ(dev->bottleneck_grad().dtype(), precision);
    EXPECT_EQ(dev->bottleneck_grad().device(), device);
    const losses::LossOutput got =
        loss.compute(logits, labels, dev->bottleneck(), &dev->bottleneck_grad());
    dev->backward(dev_ctx, got.dlogits);
    dev_sgd.step(0.1f);

    EXPECT_LT(test::relative_error(logits.to_floats(), cpu_logits.to_floats()), tolerance);
    EXPECT_NEAR(got.mean.loss, want.mean.loss, tolerance * want.mean.loss);
    // All gradients (and all parameters) as one vector: in bf16 one small tensor can be off by
    // several percent on its own (the conv before a BatchNorm, whose gradient is a difference
    // of near-equal sums; a bias that starts at 0); the step as a whole follows the cpu's.
    std::vector<float> cpu_grads, dev_grads, cpu_values, dev_values;
    auto append = [](std::vector<float>& all, const Tensor& t) {
      const std::vector<float> v = t.to_floats();
      all.insert(all.end(), v.begin(), v.end());
    };
    for (const NamedParameter& p : cpu->parameters()) {
      append(cpu_grads, p.parameter->grad);
      append(cpu_values, p.parameter->value);
    }
    for (const NamedParameter& p : dev->parameters()) {
      append(dev_grads, p.parameter->grad);
      append(dev_values, p.parameter->value);
    }
    EXPECT_LT(test::relative_error(dev_grads, cpu_grads), tolerance) << "the gradients";
    EXPECT_LT(test::relative_error(dev_values, cpu_values), tolerance) << "the parameters";
  }
}

}  // namespace sombrero::layers::device_checks
