// The files of `sombrero analyze`: heat maps and radial-profile CSVs per spatial layer, a
// polar rose per class, the per-class phase statistics as CSV, and report.md tying them up.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>

#include "runtime/error.h"
#include "trainer/science/analysis.h"
#include "trainer/science/plots.h"

namespace sombrero::trainer {

namespace {

double degrees(double radians) {
  return radians * 180.0 / std::numbers::pi;
}

// A layer name as a file name: letters, digits, '.', '-', '_' kept, the rest '_'.
std::string file_stem(const std::string& name) {
  std::string stem = name;
  for (char& c : stem)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  return stem;
}

// A class name as a markdown table cell or CSV field.
std::string cell(const std::string& text, char separator) {
  std::string out;
  for (char c : text) {
    if (c == separator || c == '"' || c == '\n')
      out += separator == '|' ? '/' : ' ';
    else
      out += c;
  }
  return out;
}

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

std::ofstream open_for_writing(const std::filesystem::path& path) {
  std::ofstream out(path);
  SOMBRERO_CHECK(out.good(), "analyze: cannot write '", path.string(), "'");
  return out;
}

double map_mean(const LayerEnergy& layer) {
  double sum = 0;
  for (double v : layer.mean_map) sum += v;
  return sum / double(layer.mean_map.size());
}

}  // namespace

void prepare_output_folder(const std::string& out_dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::create_directories(out_dir, error);
  SOMBRERO_CHECK(!error && fs::is_directory(out_dir), "analyze: cannot create the output folder '",
                 out_dir, "'", error ? " (" + error.message() + ")" : std::string());
  const fs::path probe = fs::path(out_dir) / ".sombrero-write-probe";
  const bool writable = std::ofstream(probe).good();
  fs::remove(probe, error);
  SOMBRERO_CHECK(writable, "analyze: cannot write into the output folder '", out_dir, "'");
}

std::vector<std::string> write_analysis(const Analysis& a, const datasets::Dataset& dataset,
                                        const ReportContext& context, const std::string& out_dir) {
  namespace fs = std::filesystem;
  prepare_output_folder(out_dir);
  const fs::path dir(out_dir);
  std::vector<std::string> written;

  for (const LayerEnergy& layer : a.layers) {
    const std::string stem = file_stem(layer.name);
    write_png((dir / ("energy_" + stem + ".png")).string(),
              heat_map(layer.mean_map, layer.height, layer.width));
    written.push_back((dir / ("energy_" + stem + ".png")).string());
    std::ofstream csv = open_for_writing(dir / ("radial_" + stem + ".csv"));
    csv << "bin,r_low,r_high,sites,mean_energy,relative_to_map_mean\n";
    const double mean = map_mean(layer);
    for (std::size_t b = 0; b < layer.profile.size(); ++b) {
      const RadialBin& bin = layer.profile[b];
      csv << b << "," << bin.r_low << "," << bin.r_high << "," << bin.sites << ",";
      if (bin.sites > 0)
        csv << bin.mean_energy << "," << (mean > 0 ? bin.mean_energy / mean : 0.0);
      else
        csv << ",";
      csv << "\n";
    }
    written.push_back((dir / ("radial_" + stem + ".csv")).string());
  }

  std::ofstream stats = open_for_writing(dir / "class_angles.csv");
  stats << "class,name,n,theta_deg,mean_angle_deg,distance_to_theta_deg,resultant_length,"
           "mean_abs_z,rayleigh_z,rayleigh_p,readout_accuracy\n";
  for (const ClassPhase& p : a.classes) {
    const std::string rose = "angles_class_" + std::to_string(p.label) + ".png";
    write_png((dir / rose).string(),
              polar_rose(p.histogram, p.class_angle, p.stats.mean_angle, p.stats.resultant_length));
    written.push_back((dir / rose).string());
    stats << p.label << "," << cell(dataset.class_name(p.label), ',') << "," << p.stats.n << ","
          << degrees(p.class_angle) << "," << degrees(wrap_angle(p.stats.mean_angle)) << ","
          << degrees(circular_distance(p.stats.mean_angle, p.class_angle)) << ","
          << p.stats.resultant_length << "," << p.mean_concentration << "," << p.stats.rayleigh_z
          << "," << p.stats.rayleigh_p << ","
          << (p.stats.n > 0 ? double(p.readout_correct) / double(p.stats.n) : 0.0) << "\n";
  }
  written.push_back((dir / "class_angles.csv").string());

  std::ofstream md = open_for_writing(dir / "report.md");
  md << "# sombrero analyze\n\n"
     << "Checkpoint `" << context.checkpoint << "` (" << context.architecture << "), " << a.images
     << " images of the " << context.dataset << " evaluation set. U(1) element z read at the "
     << "bottleneck tap `" << a.tap << "` (u1.space " << context.space << ", class angles "
     << context.targets << "). Definitions: docs/u1.md; how to read this page: docs/science.md.\n\n"
     << "Softmax top-1 " << format("%.2f", 100.0 * double(a.softmax_correct) / double(a.images))
     << "%, angle-readout top-1 "
     << format("%.2f", 100.0 * double(a.readout_correct) / double(a.images)) << "%.\n\n";

  md << "## Mean energy maps E(x,y) = sum_n A(h,w,n)^2\n\n"
     << "One heat map per spatial layer (viridis: dark = the map's minimum, yellow = its "
        "maximum).\n\n"
     << "| layer | map h x w x c | mean E | min E | max E | centre ring / mean | heat map | "
        "profile |\n|---|---|---|---|---|---|---|---|\n";
  for (const LayerEnergy& layer : a.layers) {
    const std::string stem = file_stem(layer.name);
    const auto [lo, hi] = std::minmax_element(layer.mean_map.begin(), layer.mean_map.end());
    const double mean = map_mean(layer);
    double centre = 0;
    for (const RadialBin& bin : layer.profile)
      if (bin.sites > 0) {
        centre = bin.mean_energy;
        break;
      }
    md << "| " << layer.name << " | " << layer.height << " x " << layer.width << " x "
       << layer.channels << " | " << format("%.4g", mean) << " | " << format("%.4g", *lo) << " | "
       << format("%.4g", *hi) << " | " << format("%.3f", mean > 0 ? centre / mean : 0.0) << " | !["
       << layer.name << "](energy_" << stem << ".png) | [csv](radial_" << stem << ".csv) |\n";
  }
  md << "\n### Radial profiles (the \"sombrero\" profile)\n\n"
     << "Mean E over rings of radius r about the centre, r = sqrt(x^2 + y^2) in the centred "
        "[-1, 1] coordinates of docs/u1.md, divided by the layer's mean E (1 = average; a "
        "sombrero has a low centre and a raised ring). Empty rings (no grid point at that "
        "radius) are left blank.\n\n| r |";
  for (const LayerEnergy& layer : a.layers) md << " " << layer.name << " |";
  md << "\n|---|";
  for (std::size_t i = 0; i < a.layers.size(); ++i) md << "---|";
  md << "\n";
  const std::size_t bins = a.layers.empty() ? 0 : a.layers.front().profile.size();
  for (std::size_t b = 0; b < bins; ++b) {
    const RadialBin& first = a.layers.front().profile[b];
    md << "| " << format("%.2f", first.r_low) << "-" << format("%.2f", first.r_high) << " |";
    for (const LayerEnergy& layer : a.layers) {
      const double mean = map_mean(layer);
      const RadialBin& bin = layer.profile[b];
      md << " " << (bin.sites > 0 && mean > 0 ? format("%.3f", bin.mean_energy / mean) : "")
         << " |";
    }
    md << "\n";
  }

  md << "\n## The phase angle(z) per class\n\n"
     << "theta_c is the class's target angle in the U(1) loss; the mean angle and R (the mean "
        "resultant length, 1 = all images at one angle, 0 = no preferred direction) describe "
        "angle(z) over the class's images; |z| is the concentration. The Rayleigh test asks "
        "whether the angles could be uniform on the circle (small p: they are not; Zar's "
        "finite-sample approximation). Rose: sector areas proportional to counts, red spoke "
        "theta_c, black spoke the mean angle with length R.\n\n"
     << "| class | name | n | theta_c | mean angle | distance | R | mean abs z | Rayleigh Z | "
        "p | readout acc. | rose |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const ClassPhase& p : a.classes) {
    md << "| " << p.label << " | " << cell(dataset.class_name(p.label), '|') << " | " << p.stats.n
       << " | " << format("%.1f", degrees(p.class_angle)) << " | "
       << (p.stats.n > 0 ? format("%.1f", degrees(wrap_angle(p.stats.mean_angle))) : "") << " | "
       << (p.stats.n > 0
               ? format("%.1f", degrees(circular_distance(p.stats.mean_angle, p.class_angle)))
               : "")
       << " | " << format("%.3f", p.stats.resultant_length) << " | "
       << format("%.3f", p.mean_concentration) << " | " << format("%.3g", p.stats.rayleigh_z)
       << " | " << format("%.3g", p.stats.rayleigh_p) << " | "
       << (p.stats.n > 0 ? format("%.3f", double(p.readout_correct) / double(p.stats.n)) : "")
       << " | ![class " << p.label << "](angles_class_" << p.label << ".png) |\n";
  }
  const CircularSummary& all = a.all_classes;
  md << "| all | every class | " << all.n << " | | "
     << format("%.1f", degrees(wrap_angle(all.mean_angle))) << " | | "
     << format("%.3f", all.resultant_length) << " | | " << format("%.3g", all.rayleigh_z) << " | "
     << format("%.3g", all.rayleigh_p) << " | "
     << format("%.3f", double(a.readout_correct) / double(a.images)) << " | |\n";
  md << "\nThe last row pools every image: when it is as concentrated as the class rows, the "
        "phase is one shared by all classes (as in an untrained network), not a symmetry broken "
        "by the class; the class rows matter where their mean angles differ and sit near their "
        "theta_c.\n";
  md << "\nAngles in degrees, in [0, 360). Per-class numbers also in "
        "[class_angles.csv](class_angles.csv).\n";
  written.push_back((dir / "report.md").string());
  return written;
}

}  // namespace sombrero::trainer
