// Small text utilities for user-facing messages: "did you mean" suggestions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sombrero {

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a plausible typo
// (distance <= max(1, |word|/3)), else "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// ", did you mean 'x'?" for closest_match, or "" when nothing is close; for error messages.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace sombrero
