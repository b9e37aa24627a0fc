#include "runtime/text.h"

#include <gtest/gtest.h>

namespace sombrero {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndTranspositions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("optimizer", "optimzier"), 1u);  // one adjacent transposition
  EXPECT_EQ(edit_distance("weight", "wieght"), 1u);
}

TEST(ClosestMatch, SuggestsOnlyPlausibleTypos) {
  const std::vector<std::string> keys = {"optimizer", "schedule", "model", "data"};
  EXPECT_EQ(closest_match("optimzer", keys), "optimizer");
  EXPECT_EQ(closest_match("modle", keys), "model");
  EXPECT_EQ(closest_match("completely_different", keys), "");
  EXPECT_EQ(did_you_mean("dat", keys), ", did you mean 'data'?");
  EXPECT_EQ(did_you_mean("xyz", keys), "");
}

}  // namespace
}  // namespace sombrero
