// Dataset: random access to labelled images, the interface every reader implements.
//
//   const auto data = make_dataset(config, Split::train);   // datasets/make_dataset.h
//   Image image = data->decode(i);                           // HWC uint8
//   int label = data->label(i);                              // in [0, num_classes())
//
// decode() is const and safe to call from several threads at once. Readers of fixed-size
// images (idx, CIFAR, synthetic) report their shape; readers of files of any size (folder,
// ImageNet) return std::nullopt and always produce `channels()` channels (3, RGB).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "datasets/image.h"
#include "runtime/error.h"

namespace sombrero::datasets {

enum class Split { train, test };

// Thrown by decode() for one sample that cannot be read (corrupt, truncated, unreadable);
// the loader skips such samples (datasets/loader.h). Any other Error is fatal.
class UnreadableImage : public Error {
 public:
  UnreadableImage(const std::string& path, const std::string& reason)
      : Error(path + ": " + reason), path_(path), reason_(reason) {}
  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string path_;
  std::string reason_;
};

// What a caller needs of a stored image, asked by a decoder once it knows the image's full
// size (height, width). Decoders of small raw images ignore it.
struct DecodeNeeds {
  // The smallest fraction of the full resolution the caller needs (1 = full size): a JPEG
  // decoder picks its DCT scale from it.
  double scale = 1.0;
  // The pixels the caller reads, in full-size coordinates; empty: all of them. A JPEG
  // decoder then decodes only around it and returns a window of the picture (Image::window_*)
  // that covers the region, scaled to the decoded resolution, with a pixel to spare.
  PixelBox region;
};
using DecodeRequest = std::function<DecodeNeeds(int height, int width)>;

class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual std::size_t size() const = 0;
  virtual int num_classes() const = 0;
  virtual int label(std::size_t index) const = 0;
  virtual int channels() const = 0;
  // The shape of every image, for readers of fixed-size images; std::nullopt otherwise.
  virtual std::optional<ImageShape> fixed_shape() const = 0;
  // Decodes sample `index`. Throws UnreadableImage for a bad file.
  virtual Image decode(std::size_t index, const DecodeRequest& request = {}) const = 0;
  // Where sample `index` comes from, for messages: a path, or "file.bin record 17".
  virtual std::string describe(std::size_t index) const = 0;
  // A class's name (a WordNet id, "T-shirt/top", ...); the index as text when unknown.
  virtual std::string class_name(int label) const { return std::to_string(label); }
};

}  // namespace sombrero::datasets
