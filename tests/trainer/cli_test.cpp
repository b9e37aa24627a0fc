#include <gtest/gtest.h>

#include "runtime/error.h"
#include "trainer/cli/args.h"
#include "trainer/cli/command.h"

namespace sombrero::cli {
namespace {

ArgParser make_parser() {
  ArgParser parser("sombrero demo", "A demo command.");
  parser.positional("CONFIG", "config file")
      .flag("--json", "print JSON")
      .option("--out", "DIR", "output folder", "runs/demo")
      .repeated("--set", "KEY=VALUE", "override a config value");
  return parser;
}

TEST(ArgParser, ParsesPositionalsFlagsOptionsAndRepeats) {
  ArgParser parser = make_parser();
  ASSERT_TRUE(parser.parse({"a.yaml", "--json", "--out=o", "--set", "x=1", "--set=y.z=2"}));
  EXPECT_EQ(parser.get("CONFIG"), "a.yaml");
  EXPECT_TRUE(parser.has("--json"));
  EXPECT_EQ(parser.get("--out"), "o");
  EXPECT_EQ(parser.get_all("--set"), (std::vector<std::string>{"x=1", "y.z=2"}));
}

TEST(ArgParser, FallsBackToDefaults) {
  ArgParser parser = make_parser();
  ASSERT_TRUE(parser.parse({"a.yaml"}));
  EXPECT_FALSE(parser.has("--json"));
  EXPECT_EQ(parser.get("--out"), "runs/demo");
  EXPECT_TRUE(parser.get_all("--set").empty());
}

TEST(ArgParser, RejectsUnknownOptionWithSuggestion) {
  ArgParser parser = make_parser();
  try {
    parser.parse({"a.yaml", "--jsno"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown option '--jsno'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("did you mean '--json'?"), std::string::npos) << e.what();
  }
}

TEST(ArgParser, RejectsMissingPositionalMissingValueAndExtraArguments) {
  EXPECT_THROW(make_parser().parse({}), Error);
  EXPECT_THROW(make_parser().parse({"a.yaml", "--out"}), Error);
  EXPECT_THROW(make_parser().parse({"a.yaml", "b.yaml"}), Error);
  EXPECT_THROW(make_parser().parse({"a.yaml", "--json=1"}), Error);
}

TEST(ArgParser, HelpStopsParsingAndListsEveryOption) {
  ArgParser parser = make_parser();
  testing::internal::CaptureStdout();
  EXPECT_FALSE(parser.parse({"--help"}));
  const std::string out = testing::internal::GetCapturedStdout();
  for (const char* word : {"usage: sombrero demo CONFIG", "--json", "--out DIR", "--set KEY=VALUE"})
    EXPECT_NE(out.find(word), std::string::npos) << word << " missing from:\n" << out;
}

TEST(Commands, EveryCommandHasNameSummaryAndHelp) {
  for (const Command& command : all_commands()) {
    EXPECT_FALSE(command.name.empty());
    EXPECT_FALSE(command.summary.empty()) << command.name;
    testing::internal::CaptureStdout();
    EXPECT_EQ(command.run({"--help"}), 0) << command.name;
    EXPECT_NE(testing::internal::GetCapturedStdout().find("usage: sombrero " + command.name),
              std::string::npos)
        << command.name;
  }
}

}  // namespace
}  // namespace sombrero::cli
