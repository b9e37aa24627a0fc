// A two-rank Communicator for single-process tests: the other rank holds exactly this
// rank's data, so every sum doubles. It records the sizes of the reduced tensors and counts
// the host reductions, so a test can see which collectives ran.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/communicator.h"

namespace sombrero::test {

class MirrorCommunicator : public runtime::Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string backend() const override { return "mirror"; }
  void all_reduce_sum(runtime::Tensor& t) override {
    t.scale(2.0f);
    reduced.push_back(t.numel());
  }
  void broadcast(runtime::Tensor&, int) override {}
  void all_reduce_sum(std::vector<double>& v) override {
    for (double& x : v) x *= 2;
    ++host_reductions;
  }
  void barrier() override {}

  std::vector<std::int64_t> reduced;  // numel of each tensor all-reduced, in order
  int host_reductions = 0;
};

}  // namespace sombrero::test
