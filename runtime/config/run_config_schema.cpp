#include "runtime/config/run_config_schema.h"

#include <memory>

namespace sombrero::runtime {

namespace {

void declare_model(ObjectSchema& model) {
  model
      .choice("name",
              {"fashion_cnn", "lenet", "resnet20", "resnet56", "resnet18", "resnet34", "resnet50",
               "custom"},
              "",
              "zoo architecture: fashion_cnn, lenet (28x28), resnet20/56 (32x32), "
              "resnet18/34/50 (torchvision layout); custom builds model.layers")
      .required();
  model.strings("layers", {},
                "name: custom: the layers in order, e.g. [conv 3x3 32, bn, relu, maxpool 2, "
                "basic 64 stride 2, gap, linear]; see layers/zoo.h");
  model.integer("num_classes", 0, "classifier outputs; 0 takes the dataset's class count").min(0);
  model.integer("width", 0, "base channel count; 0 uses the architecture's standard width").min(0);
  model.boolean("zero_init_residual", false,
                "zero-initialise the last BatchNorm scale of each residual block");
  model.choice("shortcut", {"A", "B"}, "A",
               "resnet20/56 shortcuts that change shape: A zero-pads channels (no parameters), "
               "B is a 1x1 convolution + BatchNorm");
  model.boolean("sync_bn", false, "all-reduce BatchNorm batch statistics across ranks");
  model.number("bn_momentum", 0.1, "BatchNorm running-statistics momentum (PyTorch convention)")
      .min(0)
      .max(1);
  model.number("bn_eps", 1e-5, "BatchNorm variance epsilon").greater_than(0);
  model.string("bottleneck", "",
               "name of the activation the U(1) loss reads; '' is the last spatial map "
               "before global pooling, after its ReLU");
}

void declare_data(ObjectSchema& data) {
  data.choice("dataset",
              {"fashion_mnist", "mnist", "cifar10", "cifar100", "imagenet", "folder", "synthetic"},
              "", "dataset reader")
      .required();
  data.string("path", "", "dataset root folder (not used by synthetic)");
  data.integer("batch_size", 128, "global batch size, split evenly across ranks").min(1);
  data.integer("eval_batch_size", 0, "evaluation batch size; 0 uses batch_size").min(0);
  data.integer("workers", -1, "decoding threads per process; -1 uses cores - 1").min(-1);
  data.integer("prefetch", 4, "batches decoded ahead of the training step").min(1);
  data.integer("image_size", 0, "training crop size in pixels; 0 keeps the native size").min(0);
  data.integer("eval_resize", 0,
               "evaluation: resize the shorter side to this; 0 skips it (images of varying "
               "size: 0 uses eval_crop * 256 / 224)")
      .min(0);
  data.integer("eval_crop", 0, "evaluation: center crop size; 0 uses image_size").min(0);
  data.numbers("mean", {}, "per-channel normalisation mean in [0,1]; [] uses the dataset's")
      .min(0)
      .max(1)
      .size(0, 3);
  data.numbers("std", {}, "per-channel normalisation std; [] uses the dataset's")
      .greater_than(0)
      .size(0, 3);
  data.boolean("shuffle", true, "reshuffle the training set every epoch (from seed and epoch)");
  data.boolean("drop_last", true, "drop the last incomplete training batch (per rank)");
  data.choice("shard_remainder", {"pad", "drop"}, "pad",
              "when the dataset does not split evenly across ranks: repeat the first samples "
              "(pad, as DistributedSampler) or drop the last ones");
  data.boolean("antialias", true,
               "widen the bilinear filter when shrinking (as Pillow and torchvision "
               "antialias=True); false: plain two-tap bilinear");
  data.number("max_bad_fraction", 0.001,
              "share of unreadable images tolerated (skipped with a warning) before the run stops")
      .min(0)
      .max(1);
  data.integer("synthetic_samples", 1024, "dataset size for dataset: synthetic").min(1);

  ObjectSchema& augment = data.object("augment", "training-time augmentation");
  augment.boolean("random_resized_crop", false,
                  "RandomResizedCrop to image_size (ImageNet-style); else resize/pad-crop");
  augment.numbers("scale", {0.08, 1.0}, "RandomResizedCrop area range (fraction of the image)")
      .greater_than(0)
      .max(1)
      .size(2, 2);
  augment.numbers("ratio", {0.75, 4.0 / 3.0}, "RandomResizedCrop aspect-ratio range")
      .greater_than(0)
      .size(2, 2);
  augment.boolean("hflip", true, "random horizontal flip");
  augment.integer("crop_padding", 0, "random crop after zero padding by this many pixels").min(0);
}

void declare_loss(ObjectSchema& loss) {
  loss.number("label_smoothing", 0.0, "label smoothing of the one-hot cross-entropy target")
      .min(0)
      .less_than(1);
}

void declare_u1(ObjectSchema& u1) {
  u1.number("weight", 0.1, "lambda: weight of the U(1) loss; 0 is the plain one-hot baseline")
      .min(0);
  u1.number("eps", 1e-3, "per-element activation floor; bounds the U(1) gradient").greater_than(0);
  u1.choice("space", {"image", "feature", "joint"}, "joint",
            "where the U(1) moment z is taken: image plane, feature space, or their mean");
  u1.choice("targets", {"uniform", "random"}, "uniform",
            "class angles: uniform 2 pi c / C, or random on the circle from u1.seed");
  u1.integer("seed", 0, "seed of the random class angles").min(0);
}

void declare_optim(ObjectSchema& optim) {
  optim.choice("name", {"sgd"}, "sgd", "optimizer");
  optim.number("lr", 0.1, "peak learning rate (after warmup)").greater_than(0);
  optim
      .integer("lr_reference_batch", 0,
               "if > 0, lr is for this batch size and scales linearly to data.batch_size")
      .min(0);
  optim.number("momentum", 0.9, "SGD momentum").min(0).less_than(1);
  optim.boolean("nesterov", false, "Nesterov momentum");
  optim.number("weight_decay", 1e-4, "L2 weight decay").min(0);
  optim.boolean("no_decay_bn_bias", false, "exclude BatchNorm and bias parameters from decay");
  optim.number("grad_clip", 0.0, "clip gradients to this global L2 norm; 0 disables").min(0);
}

void declare_schedule(ObjectSchema& schedule) {
  schedule.choice("kind", {"cosine", "step", "multistep", "constant"}, "cosine",
                  "learning-rate decay after warmup");
  schedule.number("warmup_epochs", 0.0, "linear warmup from ~0 to lr over this many epochs").min(0);
  schedule.integer("step_epochs", 30, "kind step: multiply lr by gamma every this many epochs")
      .min(1);
  schedule.integers("milestones", {}, "kind multistep: epochs at which lr is multiplied by gamma")
      .min(1);
  schedule.number("gamma", 0.1, "decay factor of step and multistep").greater_than(0).max(1);
  schedule.number("min_lr", 0.0, "kind cosine: final learning rate").min(0);
}

void declare_train(ObjectSchema& train) {
  train.integer("epochs", 10, "passes over the training set").min(1);
  train.integer("seed", 0, "seed of initialisation, shuffling and augmentation").min(0);
  train.integer("eval_every", 1, "evaluate every this many epochs; 0 only at the end").min(0);
  train.integer("log_every", 50, "log a metrics record every this many steps").min(1);
  train.choice("precision", {"f32", "bf16"}, "f32",
               "activation precision; bf16 keeps f32 master weights and BN statistics");
  train.choice("device", {"auto", "cpu", "cuda", "simt"}, "auto",
               "auto uses CUDA when a device is present, else the CPU backend; simt runs the "
               "CUDA kernels' sources on the CPU (slow: for testing the GPU code path)");
}

void declare_conv(ObjectSchema& conv) {
  conv.choice("algo", {"auto", "hand", "wgmma", "cudnn"}, "auto",
              "convolution implementation on the GPU: the hand-written kernels (hand), the same "
              "on Hopper's wgmma for bf16 (wgmma: H100/H200), or cuDNN; auto is wgmma where it "
              "can run, else hand");
}

void declare_checkpoint(ObjectSchema& checkpoint) {
  checkpoint.integer("every_steps", 0, "write a checkpoint every this many steps; 0 never").min(0);
  checkpoint.integer("every_epochs", 1, "write a checkpoint every this many epochs; 0 never")
      .min(0);
  checkpoint.integer("keep_last", 2, "keep this many most recent checkpoints; 0 keeps all").min(0);
  checkpoint.boolean("keep_best", true, "also keep the checkpoint with the best val top-1");
}

void declare_dist(ObjectSchema& dist) {
  dist.choice("init", {"mpi", "env-file", "env-tcp"}, "mpi",
              "how ranks find each other: MPI, or RANK/WORLD_SIZE with a shared file or a TCP "
              "rendezvous on rank 0; ignored by a single process");
  dist.string("rendezvous", "", "env-file: path of the shared file; env-tcp: host:port of rank 0");
  dist.number("bucket_mb", 25.0, "gradient all-reduce bucket size in MB").greater_than(0);
  dist.number("timeout_s", 600.0, "seconds before a hung collective fails the run").greater_than(0);
}

std::unique_ptr<ObjectSchema> build_run_config_schema() {
  auto root = std::make_unique<ObjectSchema>("a sombrero run config");
  declare_model(root->object("model", "the network"));
  declare_data(root->object("data", "dataset, loader and transforms"));
  declare_loss(root->object("loss", "the one-hot cross-entropy"));
  declare_u1(root->object("u1", "the U(1) loss on the bottleneck energy (docs/u1.md)"));
  declare_optim(root->object("optim", "the optimizer"));
  declare_schedule(root->object("schedule", "the learning-rate schedule"));
  declare_train(root->object("train", "the training loop"));
  declare_conv(root->object("conv", "convolution algorithms"));
  declare_checkpoint(root->object("checkpoint", "checkpoint policy"));
  declare_dist(root->object("dist", "data-parallel training across processes"));
  root->check_defaults();
  return root;
}

}  // namespace

const ObjectSchema& run_config_schema() {
  static const std::unique_ptr<ObjectSchema> schema = build_run_config_schema();
  return *schema;
}

}  // namespace sombrero::runtime
