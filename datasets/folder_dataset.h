// FolderDataset: image files with labels, decoded on demand (JPEG or PNG, to RGB).
//
// `dataset: folder` reads any folder-per-class tree, as torchvision's ImageFolder:
//   root/<class>/<file>.{jpg,jpeg,png} (any case); classes are the sorted subfolder names,
//   class index = position in that order; files within a class are sorted by name.
// A missing root, a root without class folders, or a class folder without images is an error
// naming the folder. ImageNet's layouts are built on it in datasets/imagenet_dataset.h.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace sombrero::datasets {

struct LabelledFile {
  std::string path;
  int label = 0;
};

class FolderDataset : public Dataset {
 public:
  // `class_ids` are the folder names (e.g. WordNet ids); `class_names` optional readable
  // names, same order.
  FolderDataset(std::vector<LabelledFile> files, std::vector<std::string> class_ids,
                std::vector<std::string> class_names = {});

  std::size_t size() const override { return files_.size(); }
  int num_classes() const override { return static_cast<int>(class_ids_.size()); }
  int label(std::size_t index) const override;
  int channels() const override { return 3; }
  std::optional<ImageShape> fixed_shape() const override { return std::nullopt; }
  Image decode(std::size_t index, const DecodeRequest& request = {}) const override;
  std::string describe(std::size_t index) const override;
  std::string class_name(int label) const override;

  const std::vector<std::string>& class_ids() const { return class_ids_; }
  const std::vector<LabelledFile>& files() const { return files_; }

 private:
  std::vector<LabelledFile> files_;
  std::vector<std::string> class_ids_;
  std::vector<std::string> class_names_;
};

// True for the file names the folder readers take: .jpg, .jpeg, .png in any case.
bool is_image_file_name(const std::string& name);

// The sorted names of the subfolders of `root` (error naming root if it does not exist).
std::vector<std::string> class_folders(const std::string& root);

// The sorted image files directly in `folder`.
std::vector<std::string> image_files(const std::string& folder);

// A folder-per-class tree. With `classes` given, they fix the class order (every subfolder
// must be one of them); otherwise the sorted subfolders are the classes.
std::unique_ptr<FolderDataset> load_image_folder(const std::string& root,
                                                 const std::vector<std::string>& classes = {});

}  // namespace sombrero::datasets
