// `sombrero analyze` over a model and an evaluation set (docs/science.md): the mean energy map
// E(x,y) of every spatial layer with its radial profile, and per class the distribution of
// the U(1) phase angle(z) at the bottleneck tap.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/loader.h"
#include "datasets/make_dataset.h"
#include "layers/model.h"
#include "losses/combined_loss.h"
#include "trainer/science/circular_stats.h"
#include "trainer/science/energy_map.h"

namespace sombrero::trainer {

struct LayerEnergy {
  std::string name;  // trunk layer name
  int height = 0, width = 0, channels = 0;
  std::vector<double> mean_map;  // [height * width], E averaged over the images
  std::vector<RadialBin> profile;
};

struct ClassPhase {
  int label = 0;
  double class_angle = 0;               // theta_c of the loss
  CircularSummary stats;                // of angle(z) over the class's images
  double mean_concentration = 0;        // mean |z|
  std::vector<std::int64_t> histogram;  // sectors of [0, 2 pi)
  std::int64_t readout_correct = 0;     // images whose nearest theta is theta_c
};

struct Analysis {
  std::string tap;  // the bottleneck layer z is read from
  std::vector<LayerEnergy> layers;
  std::vector<ClassPhase> classes;
  CircularSummary all_classes;  // angle(z) over every image: a phase shared by all classes
  std::int64_t images = 0, softmax_correct = 0, readout_correct = 0;
  double seconds = 0;
};

struct AnalysisOptions {
  std::size_t limit = 0;  // at most this many images (0 = all)
  int radial_bins = 16;
  int histogram_bins = 24;
};

// Runs the trunk layer by layer in eval mode (Sequential::at(i).forward), so every top-level
// layer's output is seen once; rank-4 outputs feed the energy maps, the tap feeds z.
// ctx: the model's device and precision (training is switched off).
Analysis analyze_model(layers::Model& model, datasets::Loader& loader,
                       const datasets::Normalization& norm, const losses::CombinedLoss& loss,
                       const AnalysisOptions& options, layers::Context ctx = {});

// What the report says about where the numbers come from.
struct ReportContext {
  std::string checkpoint, architecture, dataset, space, targets;
};

// Creates `out_dir` if needed and checks that a file can be written there; a clear error
// naming the folder otherwise.
void prepare_output_folder(const std::string& out_dir);

// Writes into `out_dir` (created if needed): energy_<layer>.png and radial_<layer>.csv per
// spatial layer, angles_class_<c>.png per class, class_angles.csv and report.md.
// Returns the paths written.
std::vector<std::string> write_analysis(const Analysis& analysis, const datasets::Dataset& dataset,
                                        const ReportContext& context, const std::string& out_dir);

}  // namespace sombrero::trainer
