#include "datasets/imagenet_dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "runtime/text.h"

namespace sombrero::datasets {

namespace {

namespace fs = std::filesystem;

// The first of `name` in the places ground-truth files are kept.
std::optional<std::string> find_metadata(const std::string& root, const std::string& name) {
  for (const fs::path& folder : {fs::path(root), fs::path(root) / "val",
                                 fs::path(root) / "ILSVRC2012_devkit_t12" / "data"}) {
    if (fs::is_regular_file(folder / name)) return (folder / name).string();
  }
  return std::nullopt;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  SOMBRERO_CHECK(in, path, ": cannot open");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

std::string stem_of(const std::string& path) {
  return fs::path(path).stem().string();
}

// Image id -> wnid from Kaggle's LOC_val_solution.csv.
std::map<std::string, std::string> read_loc_solution(const std::string& path) {
  const std::vector<std::string> lines = read_lines(path);
  SOMBRERO_CHECK(!lines.empty() && lines[0].rfind("ImageId,PredictionString", 0) == 0, path,
                 ": expected the header 'ImageId,PredictionString'");
  std::map<std::string, std::string> wnids;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const std::size_t comma = lines[i].find(',');
    std::istringstream prediction(comma == std::string::npos ? "" : lines[i].substr(comma + 1));
    std::string wnid;
    SOMBRERO_CHECK(comma != std::string::npos && (prediction >> wnid), path, ":", i + 1,
                   ": expected 'ImageId,wnid x y x y ...'");
    wnids[lines[i].substr(0, comma)] = wnid;
  }
  return wnids;
}

// Image id -> wnid from the devkit's ground truth (IDs by image number) and synset order.
std::map<std::string, std::string> read_devkit_truth(const std::string& truth_path,
                                                     const std::string& synsets_path,
                                                     const std::vector<std::string>& files) {
  const std::vector<std::string> truth = read_lines(truth_path);
  std::vector<std::string> synsets = read_lines(synsets_path);
  while (!synsets.empty() && synsets.back().empty()) synsets.pop_back();
  std::map<std::string, std::string> wnids;
  for (const std::string& file : files) {
    const std::string stem = stem_of(file);
    const std::size_t digits = stem.find_last_not_of("0123456789") + 1;
    SOMBRERO_CHECK(digits < stem.size(), file, ": expected a numbered name like ",
                   "ILSVRC2012_val_00000001.JPEG to look it up in ", truth_path);
    const std::size_t number = std::stoul(stem.substr(digits));
    SOMBRERO_CHECK(number >= 1 && number <= truth.size(), truth_path, " has ", truth.size(),
                   " lines, none for image ", number, " (", file, ")");
    const int id = std::atoi(truth[number - 1].c_str());
    SOMBRERO_CHECK(id >= 1 && static_cast<std::size_t>(id) <= synsets.size(), truth_path, ":",
                   number, ": ILSVRC2012_ID '", truth[number - 1], "' is not in 1..",
                   synsets.size(), " of ", synsets_path);
    wnids[stem] = synsets[id - 1];
  }
  return wnids;
}

std::vector<std::string> read_class_names(const std::string& root,
                                          const std::vector<std::string>& wnids) {
  const fs::path path = fs::path(root) / "synset_words.txt";
  if (!fs::is_regular_file(path)) return {};
  std::map<std::string, std::string> words;
  for (const std::string& line : read_lines(path.string())) {
    const std::size_t space = line.find(' ');
    if (space != std::string::npos) words[line.substr(0, space)] = line.substr(space + 1);
  }
  std::vector<std::string> names;
  for (const std::string& wnid : wnids) names.push_back(words.count(wnid) ? words[wnid] : "");
  return names;
}

std::unique_ptr<FolderDataset> load_flat_val(const std::string& root, const std::string& val,
                                             std::vector<std::string> classes) {
  const std::vector<std::string> files = image_files(val);
  SOMBRERO_CHECK(!files.empty(), "ImageNet val folder ", val,
                 " holds neither class folders nor images");
  std::map<std::string, std::string> wnids;
  std::string source;
  if (const auto loc = find_metadata(root, "LOC_val_solution.csv")) {
    wnids = read_loc_solution(*loc);
    source = *loc;
  } else if (const auto truth = find_metadata(root, "ILSVRC2012_validation_ground_truth.txt")) {
    const auto synsets = find_metadata(root, "ILSVRC2012_devkit_synsets.txt");
    SOMBRERO_CHECK(synsets.has_value(), *truth,
                   " needs the devkit's synset order: "
                   "ILSVRC2012_devkit_synsets.txt (one wnid per line, line i = ILSVRC2012_ID i) "
                   "beside it; docs/datasets.md shows how to write it from meta.mat");
    wnids = read_devkit_truth(*truth, *synsets, files);
    source = *truth;
  } else {
    SOMBRERO_FAIL("ImageNet val folder ", val,
                  " is flat but no ground truth was found: put "
                  "LOC_val_solution.csv, or ILSVRC2012_validation_ground_truth.txt with "
                  "ILSVRC2012_devkit_synsets.txt, in ",
                  root, ", or sort val/ into class folders");
  }
  if (classes.empty()) {  // no train/: the classes named by the ground truth
    for (const auto& [id, wnid] : wnids) classes.push_back(wnid);
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  }
  std::map<std::string, int> index;
  for (std::size_t c = 0; c < classes.size(); ++c) index[classes[c]] = static_cast<int>(c);
  std::vector<LabelledFile> labelled;
  for (const std::string& file : files) {
    const auto wnid = wnids.find(stem_of(file));
    SOMBRERO_CHECK(wnid != wnids.end(), source, " has no entry for ", file);
    const auto label = index.find(wnid->second);
    SOMBRERO_CHECK(label != index.end(), source, ": ", file, " is labelled '", wnid->second,
                   "', which is not one of the ", classes.size(), " classes",
                   did_you_mean(wnid->second, classes));
    labelled.push_back(LabelledFile{file, label->second});
  }
  std::vector<std::string> names = read_class_names(root, classes);
  return std::make_unique<FolderDataset>(std::move(labelled), std::move(classes), std::move(names));
}

}  // namespace

std::unique_ptr<FolderDataset> load_imagenet(const std::string& root, Split split) {
  SOMBRERO_CHECK(fs::is_directory(root), "ImageNet folder ", root, " does not exist");
  const std::string train = (fs::path(root) / "train").string();
  const std::string val = (fs::path(root) / "val").string();
  std::vector<std::string> classes;
  if (fs::is_directory(train)) {
    classes = class_folders(train);
    SOMBRERO_CHECK(!classes.empty(), "ImageNet train folder ", train, " has no class folders");
  }
  std::unique_ptr<FolderDataset> data;
  if (split == Split::train) {
    SOMBRERO_CHECK(!classes.empty(), "ImageNet folder ", root, " has no train/ folder");
    data = load_image_folder(train, classes);
  } else {
    SOMBRERO_CHECK(fs::is_directory(val), "ImageNet folder ", root, " has no val/ folder");
    const std::vector<std::string> val_classes = class_folders(val);
    if (val_classes.empty()) return load_flat_val(root, val, std::move(classes));
    data = load_image_folder(val, classes.empty() ? val_classes : classes);
  }
  std::vector<std::string> names = read_class_names(root, data->class_ids());
  if (names.empty()) return data;
  std::vector<LabelledFile> files = data->files();
  return std::make_unique<FolderDataset>(std::move(files), data->class_ids(), std::move(names));
}

}  // namespace sombrero::datasets
