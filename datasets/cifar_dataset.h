// CIFAR-10 and CIFAR-100 in their binary versions (cifar-10-batches-bin, cifar-100-binary).
//
// CIFAR-10: data_batch_1.bin .. data_batch_5.bin (train) and test_batch.bin, records of
// 1 label byte + 3072 pixel bytes. CIFAR-100: train.bin and test.bin, records of a coarse
// and a fine label byte + 3072 pixel bytes; sombrero uses the 100 fine labels. Pixels are
// stored as planes (1024 red, 1024 green, 1024 blue, each 32x32 row-major) and are
// converted to HWC. A file whose size is not a whole number of records, or a label out of
// range, is an error naming the file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/in_memory_dataset.h"

namespace sombrero::datasets {

enum class CifarKind { cifar10, cifar100 };

// Reads the given batch files (in order) into one dataset.
std::unique_ptr<InMemoryDataset> load_cifar_files(const std::vector<std::string>& paths,
                                                  CifarKind kind);

// The train (50000) or test (10000) split from the folder holding the batch files.
std::unique_ptr<InMemoryDataset> load_cifar(const std::string& root, Split split, CifarKind kind);

}  // namespace sombrero::datasets
