#include "trainer/batch_input.h"

#include "datasets/normalize.h"

namespace sombrero::trainer {

runtime::Tensor batch_images(const datasets::Batch& batch, const datasets::Normalization& norm) {
  const auto& s = batch.shape;
  runtime::Tensor images =
      runtime::Tensor::empty(runtime::Shape{batch.size, s.height, s.width, s.channels});
  datasets::normalize_to_f32(batch.images, static_cast<std::size_t>(images.numel()), s.channels,
                             norm.mean, norm.std, images.data<float>());
  return images;
}

std::vector<std::int32_t> batch_labels(const datasets::Batch& batch) {
  return std::vector<std::int32_t>(batch.labels, batch.labels + batch.size);
}

}  // namespace sombrero::trainer
