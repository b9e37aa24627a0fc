#include "trainer/execution_context.h"

#include "runtime/device_info.h"
#include "runtime/error.h"

namespace sombrero::trainer {

layers::Context execution_context(const runtime::Config& config, int local_rank, std::string* note,
                                  bool cuda_or_cpu) {
  layers::Context ctx;
  std::string device = config.get<std::string>("train.device");
  const int visible = static_cast<int>(runtime::cuda_devices().size());
  if (cuda_or_cpu && device == "cuda" && visible == 0) {
    device = "auto";
    if (note != nullptr)
      *note = str("the config says train.device cuda, but there is no CUDA device (",
                  runtime::cuda_unavailable_reason(), "): running on the CPU backend");
  }
  if (device == "cuda" || (device == "auto" && visible > 0)) {
    SOMBRERO_CHECK(visible > 0, "train.device: cuda, but there is no usable CUDA device: ",
                   runtime::cuda_unavailable_reason(),
                   " (use train.device: cpu, or auto to pick what is present)");
    SOMBRERO_CHECK(local_rank < visible, "train.device: cuda: local rank ", local_rank,
                   " needs cuda:", local_rank, " but only ", visible,
                   " CUDA device(s) are visible; launch at most ", visible, " ranks per node");
    ctx.device = runtime::Device::cuda(local_rank);
  } else if (device == "simt") {
    ctx.device = runtime::Device::simt();
  }
  ctx.precision = layers::parse_precision(config.get<std::string>("train.precision"));
  if (device == "auto" && ctx.device.is_cpu() && ctx.precision == layers::Precision::bf16) {
    ctx.precision = layers::Precision::f32;
    if (note != nullptr)
      *note += str(note->empty() ? "" : "; ",
                   "train.precision bf16 asks for a CUDA device and none is present: computing "
                   "in f32 on the CPU backend");
  }
  ctx.conv_algo = kernels::choose_conv_algo(config.get<std::string>("conv.algo"), ctx.device,
                                            ctx.precision == layers::Precision::bf16);
  SOMBRERO_CHECK(!(ctx.device.is_cpu() && ctx.precision == layers::Precision::bf16),
                 "train.precision: bf16 needs a CUDA device (train.device: cuda), or simt to run "
                 "the CUDA kernels on the CPU; the CPU backend computes in f32 (set "
                 "train.precision: f32)");
  SOMBRERO_CHECK(!(ctx.device.is_simt() && ctx.conv_algo == kernels::ConvAlgo::cudnn),
                 "conv.algo: cudnn has no simt execution (cuDNN runs on a GPU only); use "
                 "conv.algo: hand with train.device: simt");
  return ctx;
}

std::string describe_execution(const layers::Context& ctx) {
  std::string text = str(runtime::to_string(ctx.device), " (",
                         ctx.precision == layers::Precision::bf16 ? "bf16" : "f32");
  if (ctx.device.is_cuda()) {
    if (ctx.conv_algo == kernels::ConvAlgo::cudnn)
      text += ", cuDNN convolutions";
    else if (ctx.conv_algo == kernels::ConvAlgo::wgmma)
      text += ", hand-written convolutions on wgmma";
    else
      text += ", hand-written convolutions";
  }
  if (ctx.device.is_simt()) text += ", CUDA kernels executed on the CPU";
  return text + ")";
}

}  // namespace sombrero::trainer
