// `sombrero analyze --checkpoint FILE`: the science of a trained network over its evaluation
// set: the mean energy map E(x,y) of every spatial layer (heat maps, radial "sombrero"
// profiles) and per class the distribution of the U(1) phase angle(z) (circular mean, mean
// resultant length, Rayleigh test, polar roses), tied together in report.md
// (trainer/science/analysis.h; docs/science.md).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numbers>

#include "runtime/error.h"
#include "trainer/cli/command.h"
#include "trainer/cli/science_options.h"
#include "trainer/science/analysis.h"

namespace sombrero::cli {

namespace {

int run_analyze(const std::vector<std::string>& args) {
  ArgParser parser(
      "sombrero analyze",
      "Over the evaluation set of a checkpoint: the mean energy map E(x,y) = sum_n A^2 of every\n"
      "spatial layer (a heat map PNG and a radial-profile CSV each), and per class the\n"
      "distribution of the U(1) phase angle(z) at the bottleneck (circular mean, mean\n"
      "resultant length R, Rayleigh p-value, a polar rose PNG), with report.md tying them\n"
      "together. docs/science.md explains every number.");
  add_checkpoint_options(parser);
  parser.option("--out", "DIR", "output folder (default: analysis/ beside the checkpoint)")
      .option("--limit", "N", "analyse at most N evaluation images (0 = all)", "0");
  if (!parser.parse(args)) return 0;
  const trainer::InferenceRequest request = inference_request(parser, "analyze");
  trainer::AnalysisOptions options;
  options.limit = static_cast<std::size_t>(integer_option(parser, "--limit", 0));
  const std::string out =
      parser.has("--out")
          ? parser.get("--out")
          : (std::filesystem::path(request.checkpoint).parent_path() / "analysis").string();

  trainer::InferenceSetup setup = trainer::prepare_inference(request);  // checks the inputs
  trainer::prepare_output_folder(out);  // a folder that cannot be written fails before any work
  std::printf(
      "analyzing %s (%s) on %zu evaluation images...\n", request.checkpoint.c_str(),
      setup.model->architecture().c_str(),
      options.limit > 0 ? std::min(options.limit, setup.test_set->size()) : setup.test_set->size());
  std::fflush(stdout);
  auto loader = trainer::make_eval_loader(setup, datasets::Split::test);
  const trainer::Analysis analysis =
      trainer::analyze_model(*setup.model, *loader, setup.norm, *setup.loss, options, setup.ctx);
  loader.reset();

  trainer::ReportContext context;
  context.checkpoint = request.checkpoint;
  context.architecture = setup.model->architecture();
  context.dataset = setup.config.get<std::string>("data.dataset");
  context.space = setup.config.get<std::string>("u1.space");
  context.targets = setup.config.get<std::string>("u1.targets");
  const std::vector<std::string> written =
      trainer::write_analysis(analysis, *setup.test_set, context, out);

  std::printf("%lld images in %.1f s (%.0f images/s); bottleneck tap '%s'\n",
              static_cast<long long>(analysis.images), analysis.seconds,
              analysis.seconds > 0 ? double(analysis.images) / analysis.seconds : 0.0,
              analysis.tap.c_str());
  for (const trainer::LayerEnergy& layer : analysis.layers) {
    std::printf("energy %-12s %3dx%-3d radial profile (mean E per ring / map mean):",
                layer.name.c_str(), layer.height, layer.width);
    double mean = 0;
    for (double v : layer.mean_map) mean += v;
    mean /= double(layer.mean_map.size());
    for (const trainer::RadialBin& bin : layer.profile)
      if (bin.sites > 0) std::printf(" %.2f", mean > 0 ? bin.mean_energy / mean : 0.0);
    std::printf("\n");
  }
  for (const trainer::ClassPhase& p : analysis.classes)
    std::printf("class %-3d n %-6lld mean angle %7.1f deg (theta %6.1f)  R %.3f  Rayleigh p %.3g\n",
                p.label, static_cast<long long>(p.stats.n),
                trainer::wrap_angle(p.stats.mean_angle) * 180 / std::numbers::pi,
                p.class_angle * 180 / std::numbers::pi, p.stats.resultant_length,
                p.stats.rayleigh_p);
  std::printf("all classes n %-6lld mean angle %7.1f deg  R %.3f  Rayleigh p %.3g\n",
              static_cast<long long>(analysis.all_classes.n),
              trainer::wrap_angle(analysis.all_classes.mean_angle) * 180 / std::numbers::pi,
              analysis.all_classes.resultant_length, analysis.all_classes.rayleigh_p);
  std::printf("wrote %zu files to %s (report: %s)\n", written.size(), out.c_str(),
              (std::filesystem::path(out) / "report.md").string().c_str());
  return 0;
}

}  // namespace

Command analyze_command() {
  return {"analyze",
          "energy maps and radial profiles per layer, per-class phase statistics, report.md",
          run_analyze};
}

}  // namespace sombrero::cli
