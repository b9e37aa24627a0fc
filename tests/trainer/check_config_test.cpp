// `sombrero check-config` as a user runs it: the built binary (SOMBRERO_BINARY), its exit
// code, the resolved YAML on stdout and the one-line messages on stderr.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `sombrero <args>` with stdout and stderr captured to files in a temp folder.
Outcome sombrero(const std::string& args) {
  // One folder per test: ctest may run the tests of this file in parallel.
  const fs::path dir = fs::path(testing::TempDir()) /
                       ("sombrero_check_config_" +
                        std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
  fs::create_directories(dir);
  const fs::path out = dir / "stdout", err = dir / "stderr";
  const std::string command =
      std::string(SOMBRERO_BINARY) + " " + args + " >" + out.string() + " 2>" + err.string();
  const int status = std::system(command.c_str());
  Outcome run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = slurp(out);
  run.err = slurp(err);
  return run;
}

std::string config(const std::string& name) {
  return (fs::path(SOMBRERO_SOURCE_DIR) / "configs" / name).string();
}

TEST(CheckConfig, AcceptsTheDefaultConfigAndPrintsItResolved) {
  const Outcome run = sombrero("check-config " + config("fashion_mnist.yaml"));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("fashion_mnist.yaml: ok"), std::string::npos) << run.err;
  EXPECT_NE(run.out.find("name: fashion_cnn"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("bucket_mb: 25.0"), std::string::npos) << run.out;  // a default
}

TEST(CheckConfig, AppliesOverrides) {
  const Outcome run = sombrero("check-config " + config("fashion_mnist_onehot.yaml") +
                               " --set optim.lr=0.025 --set train.epochs=3");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("lr: 0.025"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("epochs: 3"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("weight: 0.0"), std::string::npos) << run.out;  // from the include
}

TEST(CheckConfig, RefusesAMistypedKeyNamingItsLineAndTheSuggestion) {
  const fs::path file = fs::path(testing::TempDir()) / "sombrero_check_config_typo.yaml";
  std::ofstream(file) << "model:\n  name: lenet\ndata:\n  dataset: mnist\n  batch_szie: 64\n";
  const Outcome run = sombrero("check-config " + file.string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(run.out.empty()) << run.out;
  EXPECT_EQ(run.err, "sombrero check-config: error: " + file.string() +
                         ":5:3: unknown key 'batch_szie' in section 'data', did you mean "
                         "'batch_size'?\n");
}

TEST(CheckConfig, RefusesAnUnknownOverrideNamingSet) {
  const Outcome run =
      sombrero("check-config " + config("fashion_mnist.yaml") + " --set u1.wieght=1");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("--set u1.wieght=1: unknown key 'wieght' in section 'u1', did you mean "
                         "'weight'?"),
            std::string::npos)
      << run.err;
}

TEST(CheckConfig, HelpAndExplain) {
  Outcome run = sombrero("check-config --help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("--set KEY=VALUE"), std::string::npos) << run.out;
  run = sombrero("check-config --explain");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("u1.eps  a number, must be > 0  (default 0.001)"), std::string::npos)
      << run.out;
  run = sombrero("check-config");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("missing FILE"), std::string::npos) << run.err;
}

}  // namespace
