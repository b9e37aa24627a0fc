// ImageNet (ILSVRC2012) in its folder layout, `dataset: imagenet`, `path` = the folder that
// holds train/ and val/:
//
//   train/<wnid>/*.JPEG                      1000 class folders (any folder-per-class tree)
//   val/<wnid>/*.JPEG                        val in class folders, or
//   val/ILSVRC2012_val_00000001.JPEG ...     flat, labelled by one of (looked up in the root,
//                                            val/ and ILSVRC2012_devkit_t12/data/):
//     LOC_val_solution.csv                   Kaggle: "ImageId,PredictionString", the first
//                                            word of PredictionString is the wnid
//     ILSVRC2012_validation_ground_truth.txt devkit: line k = ILSVRC2012_ID of val image k,
//       + ILSVRC2012_devkit_synsets.txt      with the devkit's synset order: line i = wnid of
//                                            ILSVRC2012_ID i (see docs/datasets.md to write
//                                            it from the devkit's meta.mat)
//   synset_words.txt (optional, in the root) "n01440764 tench, Tinca tinca": class names
//
// Class index = position of the wnid in sorted order (torchvision ImageFolder's), taken from
// train/ when present, so train and val agree. Missing folders or files, unknown wnids and
// images without a ground-truth entry are errors naming the file.
#pragma once

#include <memory>
#include <string>

#include "datasets/folder_dataset.h"

namespace sombrero::datasets {

std::unique_ptr<FolderDataset> load_imagenet(const std::string& root, Split split);

}  // namespace sombrero::datasets
