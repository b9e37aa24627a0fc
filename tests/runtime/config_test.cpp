#include "runtime/config/config.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>

#include "runtime/config/run_config_schema.h"
#include "runtime/error.h"

namespace sombrero::runtime {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test; files are written with write(name, text).
class ConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(testing::TempDir()) / str("sombrero_config_", info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  Config load(const std::string& name, const std::vector<std::string>& overrides = {}) {
    return load_config((dir_ / name).string(), overrides, run_config_schema());
  }

  // The message of the sombrero::Error that `body` throws; fails the test if none.
  static std::string error_of(const std::function<void()>& body) {
    try {
      body();
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected a sombrero::Error";
    return "";
  }

  fs::path dir_;
};

#define EXPECT_CONTAINS(text, part)                          \
  EXPECT_NE(std::string(text).find(part), std::string::npos) \
      << "'" << (part) << "' not in: " << (text)

constexpr const char* kMinimal =
    "model:\n"
    "  name: resnet20\n"
    "data:\n"
    "  dataset: cifar10\n";

TEST_F(ConfigTest, MinimalConfigResolvesWithDefaults) {
  write("run.yaml", kMinimal);
  const Config config = load("run.yaml");
  EXPECT_EQ(config.get<std::string>("model.name"), "resnet20");
  EXPECT_EQ(config.get<std::string>("u1.space"), "joint");
  EXPECT_DOUBLE_EQ(config.get<double>("u1.eps"), 1e-3);
  EXPECT_EQ(config.get<int>("data.batch_size"), 128);
  EXPECT_EQ(config.get<std::int64_t>("train.epochs"), 10);
  EXPECT_FALSE(config.get<bool>("model.sync_bn"));
  EXPECT_TRUE(config.get<std::vector<double>>("data.mean").empty());
  EXPECT_EQ(config.get<std::vector<double>>("data.augment.scale"),
            (std::vector<double>{0.08, 1.0}));
  EXPECT_EQ(config.origin("u1.space"), "default");
  EXPECT_EQ(config.origin("model.name"), (dir_ / "run.yaml").string() + ":2:9");
}

TEST_F(ConfigTest, ValuesAreTypedAndGettersRefuseUndeclaredKeysAndWrongTypes) {
  write("run.yaml", std::string(kMinimal) +
                        "  mean: [0.5, 1]\n"
                        "schedule:\n"
                        "  milestones: [30, 60]\n"
                        "optim:\n"
                        "  lr: 1\n");
  const Config config = load("run.yaml");
  EXPECT_EQ(config.get<std::vector<double>>("data.mean"), (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(config.get<std::vector<int>>("schedule.milestones"), (std::vector<int>{30, 60}));
  EXPECT_EQ(config.get<std::vector<double>>("schedule.milestones"), (std::vector<double>{30, 60}));
  EXPECT_DOUBLE_EQ(config.get<double>("optim.lr"), 1.0);  // an integer is a valid number
  EXPECT_CONTAINS(error_of([&] { config.get<double>("optim.lrr"); }), "did you mean 'optim.lr'?");
  EXPECT_CONTAINS(error_of([&] { config.get<int>("optim.lr"); }), "'optim.lr' holds a number");
  EXPECT_CONTAINS(error_of([&] { config.get<bool>("optim"); }), "is a section");
  const Config empty;
  EXPECT_CONTAINS(error_of([&] { empty.get<double>("optim.lr"); }), "never loaded");
}

TEST_F(ConfigTest, MistypedKeyNamesKeyLineColumnAndSuggestion) {
  const std::string path = write("run.yaml", std::string(kMinimal) +
                                                 "train:\n"
                                                 "  epochs: 3\n"
                                                 "  precison: bf16\n");
  const std::string message = error_of([&] { load("run.yaml"); });
  EXPECT_EQ(message, path +
                         ":7:3: unknown key 'precison' in section 'train', did you mean "
                         "'precision'?");
}

TEST_F(ConfigTest, MistypedSectionIsSuggestedAtTopLevel) {
  write("run.yaml", std::string(kMinimal) + "optimm:\n  lr: 0.1\n");
  const std::string message = error_of([&] { load("run.yaml"); });
  EXPECT_CONTAINS(message,
                  "run.yaml:5:1: unknown key 'optimm' at the top level, did you mean "
                  "'optim'?");
}

TEST_F(ConfigTest, WrongTypeNamesKeyAndPlace) {
  write("run.yaml", std::string(kMinimal) + "optim:\n  lr: fast\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }),
                  "run.yaml:6:7: 'optim.lr' must be a number, got 'fast'");
  write("run.yaml", std::string(kMinimal) + "train:\n  epochs: 2.5\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }),
                  "run.yaml:6:11: 'train.epochs' must be an integer, got '2.5'");
  write("run.yaml", std::string(kMinimal) + "model:\n  sync_bn: maybe\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }), "duplicate key 'model'");
  write("run.yaml", std::string(kMinimal) + "  shuffle: maybe\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }),
                  "run.yaml:5:12: 'data.shuffle' must be true or false, got 'maybe'");
  write("run.yaml", std::string(kMinimal) + "  mean: 0.5\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }),
                  "'data.mean' must be a list of numbers, got '0.5'");
  write("run.yaml", std::string(kMinimal) + "  mean: [0.5, x]\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }),
                  "run.yaml:5:15: 'data.mean[1]' must be a number, got 'x'");
  write("run.yaml", std::string(kMinimal) + "u1: 3\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }), "'u1' must be a section");
  write("run.yaml", std::string(kMinimal) + "train:\n  epochs:\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }),
                  "run.yaml:6:3: 'train.epochs' must be an integer, got nothing");
}

TEST_F(ConfigTest, OutOfRangeStatesTheRange) {
  write("run.yaml", std::string(kMinimal) + "optim:\n  lr: -1\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }),
                  "run.yaml:6:7: 'optim.lr' = -1 is out of range: must be > 0");
  write("run.yaml", std::string(kMinimal) + "loss:\n  label_smoothing: 1\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }),
                  "'loss.label_smoothing' = 1 is out of range: must be in [0, 1)");
  write("run.yaml", std::string(kMinimal) + "train:\n  epochs: 0\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }), "must be >= 1");
  write("run.yaml", std::string(kMinimal) + "  mean: [0.5, 0.5, 0.5, 0.5]\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }),
                  "'data.mean' must have 0 to 3 entries, got 4");
  write("run.yaml", std::string(kMinimal) + "train:\n  seed: 99999999999999999999\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }), "is too large for an integer");
}

TEST_F(ConfigTest, BadChoiceListsChoicesAndSuggests) {
  write("run.yaml", std::string(kMinimal) + "u1:\n  space: imag\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }),
                  "run.yaml:6:10: 'u1.space' must be one of image, feature, joint; got 'imag', "
                  "did you mean 'image'?");
}

TEST_F(ConfigTest, MissingRequiredKeyIsNamed) {
  write("run.yaml", "model:\n  name: lenet\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }), "missing required key 'data.dataset'");
}

TEST_F(ConfigTest, IncludesDeepMergeWithTheIncludingFileWinning) {
  write("base/base.yaml", std::string(kMinimal) +
                              "  batch_size: 64\n"
                              "optim:\n"
                              "  lr: 0.2\n"
                              "  momentum: 0.8\n");
  write("base/extra.yaml", "optim:\n  momentum: 0.5\n  nesterov: true\n");
  write("run.yaml",
        "include: [base/base.yaml, base/extra.yaml]\n"
        "optim:\n"
        "  lr: 0.05\n");
  const Config config = load("run.yaml");
  EXPECT_DOUBLE_EQ(config.get<double>("optim.lr"), 0.05);       // own key wins
  EXPECT_DOUBLE_EQ(config.get<double>("optim.momentum"), 0.5);  // later include wins
  EXPECT_TRUE(config.get<bool>("optim.nesterov"));
  EXPECT_EQ(config.get<int>("data.batch_size"), 64);  // sibling keys of a section survive
  EXPECT_EQ(config.get<std::string>("model.name"), "resnet20");
  EXPECT_CONTAINS(config.origin("data.batch_size"), "base.yaml:5:15");
}

TEST_F(ConfigTest, IncludedFileErrorsNameTheIncludedFile) {
  write("base.yaml", std::string(kMinimal) + "  batch_sise: 64\n");
  write("run.yaml", "include: base.yaml\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }),
                  "base.yaml:5:3: unknown key 'batch_sise' in section 'data', did you mean "
                  "'batch_size'?");
}

TEST_F(ConfigTest, IncludeCycleShowsTheChain) {
  write("a.yaml", "include: b.yaml\n");
  write("b.yaml", "include: sub/../a.yaml\n");
  const std::string message = error_of([&] { load("a.yaml"); });
  EXPECT_CONTAINS(message, "b.yaml:1:10: include cycle: ");
  EXPECT_CONTAINS(message, "a.yaml -> ");
  EXPECT_CONTAINS(message, "b.yaml -> ");
  write("self.yaml", "include: self.yaml\n");
  EXPECT_CONTAINS(error_of([&] { load("self.yaml"); }), "include cycle");
}

TEST_F(ConfigTest, MissingFilesAreNamed) {
  write("run.yaml", "include:\n  - nowhere.yaml\n");
  EXPECT_CONTAINS(
      error_of([&] { load("run.yaml"); }),
      "run.yaml:2:5: included config '" + (dir_ / "nowhere.yaml").string() + "' does not exist");
  EXPECT_CONTAINS(error_of([&] { load("absent.yaml"); }), "absent.yaml' does not exist");
}

TEST_F(ConfigTest, YamlSyntaxErrorHasLocation) {
  write("run.yaml", "model:\n  name: [resnet20\ndata:\n  dataset: cifar10\n");
  const std::string message = error_of([&] { load("run.yaml"); });
  EXPECT_CONTAINS(message, "run.yaml:");
  EXPECT_CONTAINS(message, ": YAML syntax error: ");
  write("run.yaml", "- just\n- a list\n");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml"); }), "a config must be a mapping");
}

TEST_F(ConfigTest, OverridesApplyAfterIncludesTypedAndValidated) {
  write("base.yaml", std::string(kMinimal) + "optim:\n  lr: 0.2\n");
  write("run.yaml", "include: base.yaml\noptim:\n  lr: 0.3\n");
  const Config config = load("run.yaml", {"optim.lr=0.05", "data.mean=[0.5,0.5,0.5]",
                                          "u1.space=image", "data.augment={hflip: false}"});
  EXPECT_DOUBLE_EQ(config.get<double>("optim.lr"), 0.05);
  EXPECT_EQ(config.get<std::vector<double>>("data.mean"), (std::vector<double>{0.5, 0.5, 0.5}));
  EXPECT_EQ(config.get<std::string>("u1.space"), "image");
  EXPECT_FALSE(config.get<bool>("data.augment.hflip"));
  EXPECT_EQ(config.origin("optim.lr"), "--set optim.lr=0.05");

  EXPECT_EQ(error_of([&] { load("run.yaml", {"optim.lr=fast"}); }),
            "--set optim.lr=fast: 'optim.lr' must be a number, got 'fast'");
  EXPECT_EQ(error_of([&] { load("run.yaml", {"optim.lr=0"}); }),
            "--set optim.lr=0: 'optim.lr' = 0 is out of range: must be > 0");
  EXPECT_EQ(error_of([&] { load("run.yaml", {"optim.lrr=0.1"}); }),
            "--set optim.lrr=0.1: unknown key 'lrr' in section 'optim', did you mean 'lr'?");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml", {"optim.lr"}); }), "expected KEY=VALUE");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml", {"optim..lr=1"}); }), "empty part");
  EXPECT_CONTAINS(error_of([&] { load("run.yaml", {"data.mean=[0.5,"}); }), "not valid YAML");
}

TEST_F(ConfigTest, ResolvedYamlIsInSchemaOrderAndReloadsToTheSameConfig) {
  write("run.yaml", "data:\n  dataset: mnist\n  mean: [0.1307]\nmodel:\n  name: lenet\n");
  const Config config = load("run.yaml", {"optim.lr=0.025"});
  const std::string yaml = config.to_yaml();
  EXPECT_LT(yaml.find("model:"), yaml.find("data:"));  // schema order, not file order
  EXPECT_LT(yaml.find("data:"), yaml.find("u1:"));
  EXPECT_CONTAINS(yaml, "lr: 0.025");
  EXPECT_CONTAINS(yaml, "mean: [0.1307]");
  EXPECT_CONTAINS(yaml, "space: joint");
  EXPECT_CONTAINS(yaml, "eps: 0.001");

  const Config again = parse_config(yaml, "resolved", {}, run_config_schema());
  EXPECT_EQ(again.to_yaml(), yaml);
  EXPECT_DOUBLE_EQ(again.get<double>("optim.lr"), 0.025);
  EXPECT_EQ(again.get<std::vector<double>>("data.augment.ratio"),
            (std::vector<double>{0.75, 4.0 / 3.0}));  // doubles print exactly
}

TEST(ConfigSchema, DeclaresKeysWithRangesDocsAndCheckedDefaults) {
  ObjectSchema schema;
  ObjectSchema& optim = schema.object("optim", "the optimizer");
  optim.number("lr", 0.1, "learning rate").greater_than(0);
  optim.integers("milestones", {}, "decay epochs").min(1);
  EXPECT_THROW(optim.number("lr", 0.2, "again"), Error);
  EXPECT_NO_THROW(schema.check_defaults());
  optim.number("momentum", 1.0, "momentum").min(0).less_than(1);
  EXPECT_THROW(schema.check_defaults(), Error);

  const std::string reference = explain_schema(run_config_schema());
  EXPECT_CONTAINS(reference, "optim.lr  a number, must be > 0  (default 0.1)  peak learning rate");
  EXPECT_CONTAINS(reference, "u1.space  one of image, feature, joint  (default joint)");
  EXPECT_CONTAINS(reference, "model.name  one of fashion_cnn");
  EXPECT_CONTAINS(reference, "(required)");
}

TEST(ConfigFiles, EveryShippedConfigValidates) {
  const fs::path configs = fs::path(SOMBRERO_SOURCE_DIR) / "configs";
  std::size_t count = 0;
  for (const auto& entry : fs::directory_iterator(configs)) {
    if (entry.path().extension() != ".yaml") continue;
    ++count;
    SCOPED_TRACE(entry.path().string());
    try {
      const Config config = load_config(entry.path().string(), {}, run_config_schema());
      EXPECT_FALSE(config.to_yaml().empty());
    } catch (const Error& e) {
      ADD_FAILURE() << e.what();
    }
  }
  EXPECT_GE(count, 3u);
  const Config onehot =
      load_config((configs / "fashion_mnist_onehot.yaml").string(), {}, run_config_schema());
  EXPECT_DOUBLE_EQ(onehot.get<double>("u1.weight"), 0.0);
  EXPECT_EQ(onehot.get<std::string>("data.dataset"), "fashion_mnist");
}

}  // namespace
}  // namespace sombrero::runtime
