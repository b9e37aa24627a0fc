#include "datasets/loader_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>

#include "datasets/jpeg_codec.h"
#include "datasets/sample_random.h"

namespace sombrero::datasets {

namespace {

double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// Benchmark image i: a few soft coloured blobs over a gradient, plus per-pixel noise; a
// function of (seed, i) only.
Image benchmark_image(std::uint64_t seed, int i) {
  SampleRandom random(SampleKey{seed, 0, static_cast<std::uint64_t>(i)}, RandomPurpose::synthetic);
  const bool portrait = random.below(4) == 0;
  Image image;
  image.shape = ImageShape{portrait ? 500 : 375, portrait ? 375 : 500, 3};
  image.pixels.resize(image.shape.pixels());
  struct Blob {
    double x, y, radius, color[3];
  };
  constexpr int kBlobs = 6;
  Blob blobs[kBlobs];
  for (Blob& blob : blobs) {
    blob = Blob{random.uniform(0, image.shape.width),
                random.uniform(0, image.shape.height),
                random.uniform(30, 160),
                {random.uniform(-120, 120), random.uniform(-120, 120), random.uniform(-120, 120)}};
  }
  const double base[3] = {random.uniform(60, 190), random.uniform(60, 190),
                          random.uniform(60, 190)};
  for (int y = 0; y < image.shape.height; ++y) {
    for (int x = 0; x < image.shape.width; ++x) {
      const std::uint32_t noise = random.next_u32();
      double weight[kBlobs];  // the blobs' falloff at (x, y), the same for every channel
      for (int k = 0; k < kBlobs; ++k) {
        const Blob& blob = blobs[k];
        const double d2 = (x - blob.x) * (x - blob.x) + (y - blob.y) * (y - blob.y);
        weight[k] = std::exp(-d2 / (blob.radius * blob.radius));
      }
      for (int c = 0; c < 3; ++c) {
        double v = base[c] + 40.0 * std::sin(0.02 * x + 0.03 * y + c);
        for (int k = 0; k < kBlobs; ++k) v += blobs[k].color[c] * weight[k];
        v += static_cast<double>((noise >> (8 * c)) & 0x3F) - 32.0;
        image.pixels[(static_cast<std::size_t>(y) * image.shape.width + x) * 3 + c] =
            static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
      }
    }
  }
  return image;
}

}  // namespace

LoaderBenchResult bench_loader(std::shared_ptr<const Dataset> dataset, const Transform& transform,
                               const LoaderOptions& options, std::int64_t batches,
                               std::int64_t warmup) {
  Loader loader(std::move(dataset), transform, options);
  std::int64_t epoch = 0;
  loader.start(LoaderPosition{epoch, 0});
  const auto next = [&]() -> const Batch* {
    const Batch* batch = loader.next();
    if (batch == nullptr) {
      loader.start(LoaderPosition{++epoch, 0});
      batch = loader.next();
      SOMBRERO_CHECK(batch != nullptr, "the benchmark dataset yields no batch");
    }
    return batch;
  };
  for (std::int64_t b = 0; b < warmup; ++b) next();
  LoaderBenchResult result;
  result.workers = loader.workers();
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = process_cpu_seconds();
  for (std::int64_t b = 0; b < batches; ++b) result.images += next()->size;
  result.cpu_seconds = process_cpu_seconds() - cpu_start;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

void generate_benchmark_images(const std::string& root, int count, int classes,
                               std::uint64_t seed) {
  namespace fs = std::filesystem;
  SOMBRERO_CHECK(count > 0 && classes > 0, "generate: need images and classes");
  const auto folder = [&](int i) {
    char name[32];
    std::snprintf(name, sizeof name, "class_%03d", i % classes);
    return fs::path(root) / name;
  };
  for (int i = 0; i < std::min(count, classes); ++i) fs::create_directories(folder(i));
  // Images are independent: generated and encoded on every core (a 2048-image set took
  // most of a minute on one). The first error is rethrown after the loop.
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic)
  for (int i = 0; i < count; ++i) {
    try {
      const std::vector<std::uint8_t> bytes = encode_jpeg(benchmark_image(seed, i), 90);
      const fs::path path = folder(i) / ("image_" + std::to_string(i) + ".JPEG");
      std::ofstream out(path, std::ios::binary);
      out.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
      SOMBRERO_CHECK(out, path.string(), ": cannot write");
    } catch (...) {
#pragma omp critical(sombrero_generate_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace sombrero::datasets
