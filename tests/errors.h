#pragma once
// The message of the icl::Error that f throws; a test failure (and "") when it throws none.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/error.h"

namespace icl::test {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an icl::Error";
  return "";
}

}  // namespace icl::test
