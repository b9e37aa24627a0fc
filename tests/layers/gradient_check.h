// Checking a layer's f32 forward and backward against a double reference (reference_net.h):
//   forward:  |y - y_ref| <= 1e-5 (1 + |y_ref|) elementwise;
//   backward: for L = sum(y * R) with a fixed random R, every input and parameter gradient
//             the layer computes against central differences of the double reference
//             (h = 1e-6: truncation ~h^2 |L'''| ~ 1e-12, rounding ~1e-16 |L| / h ~ 1e-10), with
//             |g - g_fd| <= 1e-4 max(1, max |g_fd|). The f32 side accumulates at most a few
//             hundred products per gradient element, ~1e-5 relative at worst, so the bound
//             has a 10x margin and a wrong term (a missing factor, a sign, an off-by-one
//             window) is orders of magnitude above it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "layers/layer.h"
#include "tests/layers/reference_net.h"

namespace sombrero::test {

using RefForward = std::function<DTensor(const DTensor& x, const Params& params)>;

inline std::vector<double> to_doubles(const Tensor& t) {
  const std::vector<float> f = t.to_floats();
  return {f.begin(), f.end()};
}

inline DTensor to_dtensor(const Tensor& t) {
  DTensor d;
  for (int i = 0; i < t.rank(); ++i) d.shape.push_back(t.dim(i));
  d.v = to_doubles(t);
  return d;
}

// Fills every parameter with N(mean, stddev) (norm weights around 1) from `seed`.
inline void randomize_parameters(layers::Layer& layer, std::uint64_t seed) {
  runtime::Generator gen(seed);
  for (const layers::NamedParameter& p : layer.named_parameters()) {
    const bool norm_weight = p.parameter->role == layers::ParameterRole::norm_weight;
    p.parameter->value.fill_normal(gen, norm_weight ? 1.0f : 0.0f, norm_weight ? 0.3f : 0.5f);
  }
}

inline void check_gradients(layers::Layer& layer, const runtime::Shape& input_shape,
                            const RefForward& reference, std::uint64_t seed = 1) {
  randomize_parameters(layer, seed);
  for (const layers::NamedParameter& p : layer.named_parameters()) p.parameter->grad.fill(0.0f);
  runtime::Generator gen(seed + 100);
  Tensor x = Tensor::empty(input_shape);
  x.fill_normal(gen);
  layers::Context ctx;
  const Tensor y = layer.forward(ctx, x);

  DTensor xd = to_dtensor(x);
  Params params;
  for (const layers::NamedParameter& p : layer.named_parameters())
    params[p.name] = to_doubles(p.parameter->value);
  const DTensor y_ref = reference(xd, params);
  ASSERT_EQ(y.numel(), std::int64_t(y_ref.v.size()));
  const std::vector<float> yv = y.to_floats();
  for (std::size_t i = 0; i < yv.size(); ++i)
    ASSERT_NEAR(yv[i], y_ref.v[i], 1e-5 * (1 + std::abs(y_ref.v[i])))
        << layer.describe() << " y[" << i << "]";

  Tensor r = Tensor::empty(y.shape());
  r.fill_normal(gen);
  const std::vector<double> rv = to_doubles(r);
  const Tensor dx = layer.backward(ctx, r);

  auto loss = [&](const DTensor& xx, const Params& pp) {
    const DTensor yy = reference(xx, pp);
    double l = 0;
    for (std::size_t i = 0; i < yy.v.size(); ++i) l += yy.v[i] * rv[i];
    return l;
  };
  constexpr double h = 1e-6;
  auto compare = [&](const std::vector<double>& analytic, const std::vector<double>& numeric,
                     const std::string& what) {
    double scale = 1.0;
    for (const double g : numeric) scale = std::max(scale, std::abs(g));
    for (std::size_t i = 0; i < numeric.size(); ++i)
      ASSERT_NEAR(analytic[i], numeric[i], 1e-4 * scale)
          << layer.describe() << ": d/d " << what << "[" << i << "]";
  };
  {
    std::vector<double> numeric(xd.v.size());
    for (std::size_t i = 0; i < xd.v.size(); ++i) {
      DTensor plus = xd, minus = xd;
      plus.v[i] += h;
      minus.v[i] -= h;
      numeric[i] = (loss(plus, params) - loss(minus, params)) / (2 * h);
    }
    compare(to_doubles(dx), numeric, "input");
  }
  for (const layers::NamedParameter& p : layer.named_parameters()) {
    std::vector<double> numeric(params[p.name].size());
    for (std::size_t i = 0; i < numeric.size(); ++i) {
      Params plus = params, minus = params;
      plus[p.name][i] += h;
      minus[p.name][i] -= h;
      numeric[i] = (loss(xd, plus) - loss(xd, minus)) / (2 * h);
    }
    compare(to_doubles(p.parameter->grad), numeric, p.name);
  }
}

}  // namespace sombrero::test
