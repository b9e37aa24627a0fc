#include "datasets/folder_dataset.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <utility>

#include "datasets/image_decode.h"
#include "runtime/text.h"

namespace sombrero::datasets {

namespace fs = std::filesystem;

FolderDataset::FolderDataset(std::vector<LabelledFile> files, std::vector<std::string> class_ids,
                             std::vector<std::string> class_names)
    : files_(std::move(files)),
      class_ids_(std::move(class_ids)),
      class_names_(std::move(class_names)) {
  SOMBRERO_CHECK(!files_.empty(), "a folder dataset without images");
  for (const LabelledFile& file : files_) {
    SOMBRERO_CHECK(file.label >= 0 && file.label < num_classes(), file.path, ": label ", file.label,
                   " outside the ", num_classes(), " classes");
  }
}

int FolderDataset::label(std::size_t index) const {
  SOMBRERO_CHECK(index < files_.size(), "sample ", index, " out of range (", files_.size(),
                 " images)");
  return files_[index].label;
}

Image FolderDataset::decode(std::size_t index, const DecodeRequest& request) const {
  SOMBRERO_CHECK(index < files_.size(), "sample ", index, " out of range (", files_.size(),
                 " images)");
  return decode_image_file(files_[index].path, request);
}

std::string FolderDataset::describe(std::size_t index) const {
  return index < files_.size() ? files_[index].path : str("sample ", index);
}

std::string FolderDataset::class_name(int label) const {
  if (label < 0 || label >= num_classes()) return std::to_string(label);
  if (static_cast<std::size_t>(label) < class_names_.size() && !class_names_[label].empty()) {
    return class_names_[label];
  }
  return class_ids_[label];
}

bool is_image_file_name(const std::string& name) {
  std::string extension = fs::path(name).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png";
}

std::vector<std::string> class_folders(const std::string& root) {
  SOMBRERO_CHECK(fs::is_directory(root), "dataset folder ", root, " does not exist");
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> image_files(const std::string& folder) {
  std::vector<std::string> paths;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file() && is_image_file_name(entry.path().filename().string())) {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::unique_ptr<FolderDataset> load_image_folder(const std::string& root,
                                                 const std::vector<std::string>& classes) {
  const std::vector<std::string> folders = class_folders(root);
  SOMBRERO_CHECK(!folders.empty(), "dataset folder ", root,
                 " has no class folders (expected one subfolder of images per class)");
  const std::vector<std::string> class_ids = classes.empty() ? folders : classes;
  std::map<std::string, int> index;
  for (std::size_t c = 0; c < class_ids.size(); ++c) index[class_ids[c]] = static_cast<int>(c);
  std::vector<LabelledFile> files;
  for (const std::string& folder : folders) {
    const auto found = index.find(folder);
    SOMBRERO_CHECK(found != index.end(), "class folder ", (fs::path(root) / folder).string(),
                   " is not one of the ", class_ids.size(), " classes",
                   did_you_mean(folder, class_ids));
    const std::vector<std::string> paths = image_files((fs::path(root) / folder).string());
    SOMBRERO_CHECK(!paths.empty(), "class folder ", (fs::path(root) / folder).string(),
                   " holds no images (.jpg, .jpeg or .png)");
    for (const std::string& path : paths) files.push_back(LabelledFile{path, found->second});
  }
  return std::make_unique<FolderDataset>(std::move(files), class_ids);
}

}  // namespace sombrero::datasets
