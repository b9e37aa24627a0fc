// error_of(action): runs `action`, expects a sombrero::Error and returns its message (an
// empty string and a test failure otherwise). Use with gmock: EXPECT_THAT(error_of(...),
// HasSubstr("...")) checks the message a user would read.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "runtime/error.h"

namespace sombrero::test_support {

template <typename Action>
std::string error_of(Action&& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a sombrero::Error";
  return "";
}

}  // namespace sombrero::test_support
