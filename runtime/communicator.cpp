#include "runtime/communicator.h"

#include "runtime/error.h"
#include "runtime/text.h"

namespace sombrero::runtime {

namespace {

class SingleProcessCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  void all_reduce_sum(Tensor& tensor) override {
    SOMBRERO_CHECK(tensor.defined(), "all_reduce_sum: the tensor is undefined");
  }
  void broadcast(Tensor& tensor, int root) override {
    SOMBRERO_CHECK(tensor.defined(), "broadcast: the tensor is undefined");
    SOMBRERO_CHECK(root == 0, "broadcast: root ", root, " is outside a world of size 1");
  }
  void all_reduce_sum(std::vector<double>&) override {}
  void barrier() override {}
};

}  // namespace

std::unique_ptr<Communicator> make_single_process_communicator() {
  return std::make_unique<SingleProcessCommunicator>();
}

Bootstrap parse_bootstrap(const std::string& name) {
  if (name == "mpi") return Bootstrap::mpi;
  if (name == "env-file") return Bootstrap::env_file;
  if (name == "env-tcp") return Bootstrap::env_tcp;
  SOMBRERO_FAIL("dist.init must be one of mpi, env-file, env-tcp; got '", name, "'",
                did_you_mean(name, {"mpi", "env-file", "env-tcp"}));
}

}  // namespace sombrero::runtime
