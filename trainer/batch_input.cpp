#include "trainer/batch_input.h"

#include <cstdint>

#include "datasets/normalize.h"
#include "kernels/input/normalize.h"
#include "layers/ops/dispatch.h"
#include "runtime/device_array.h"

namespace sombrero::trainer {

runtime::Tensor normalized_images(const std::uint8_t* bytes, const runtime::Shape& shape,
                                  const datasets::Normalization& norm, const layers::Context& ctx) {
  const auto channels = static_cast<int>(shape[3]);
  const auto elements = static_cast<std::size_t>(shape.numel());
  if (ctx.device.is_cpu()) {
    runtime::Tensor images = runtime::Tensor::empty(shape);
    datasets::normalize_to_f32(bytes, elements, channels, norm.mean, norm.std,
                               images.data<float>());
    return images;
  }
  const kernels::NormalizeParams params =
      kernels::make_normalize_params(channels, norm.mean, norm.std);
  const runtime::DType dtype =
      ctx.precision == layers::Precision::bf16 ? runtime::DType::bf16 : runtime::DType::f32;
  runtime::Tensor images = runtime::Tensor::empty(shape, dtype, ctx.device);
  layers::ops::with_element_type(dtype, [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(ctx.device, normalize_u8, static_cast<std::int64_t>(elements), params,
                           bytes, images.data<T>(), images.stream());
  });
  return images;
}

runtime::Tensor batch_images(const datasets::Batch& batch, const datasets::Normalization& norm,
                             const layers::Context& ctx) {
  const auto& s = batch.shape;
  const runtime::Shape shape{batch.size, s.height, s.width, s.channels};
  if (ctx.device.is_cpu()) return normalized_images(batch.images, shape, norm, ctx);
  const runtime::DeviceArray<std::uint8_t> bytes(
      batch.images, static_cast<std::size_t>(shape.numel()), ctx.device);
  return normalized_images(bytes.data(), shape, norm, ctx);  // `bytes` is freed stream-ordered
}

std::vector<std::int32_t> batch_labels(const datasets::Batch& batch) {
  return std::vector<std::int32_t>(batch.labels, batch.labels + batch.size);
}

}  // namespace sombrero::trainer
