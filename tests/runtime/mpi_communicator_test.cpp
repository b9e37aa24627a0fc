// The MPI backend under `mpirun -np 2`: sums, broadcast and metrics reductions agree on
// every rank. Run by ctest through mpiexec (tests/CMakeLists.txt).
#include <gtest/gtest.h>

#include "runtime/communicator.h"
#include "runtime/error.h"

namespace sombrero::runtime {
namespace {

TEST(MpiCommunicator, AllReduceBroadcastAndMetricsAcrossRanks) {
  auto comm = make_mpi_communicator();
  ASSERT_EQ(comm->size(), 2) << "run under mpirun -np 2";
  const float r = static_cast<float>(comm->rank());
  Tensor t = Tensor::from_floats(Shape{4}, {r, 1.0f, 10.0f * r, 0.5f});
  comm->all_reduce_sum(t);
  EXPECT_EQ(t.to_floats(), (std::vector<float>{1.0f, 2.0f, 10.0f, 1.0f}));
  Tensor b = Tensor::from_floats(Shape{2}, {r + 5.0f, r + 6.0f});
  comm->broadcast(b, 1);
  EXPECT_EQ(b.to_floats(), (std::vector<float>{6.0f, 7.0f}));
  std::vector<double> metrics{comm->rank() + 0.25, 1.0};
  comm->all_reduce_sum(metrics);
  EXPECT_EQ(metrics, (std::vector<double>{1.5, 2.0}));
  comm->barrier();
  Tensor wrong = Tensor::from_floats(Shape{1}, {1.0f}, DType::bf16);
  EXPECT_THROW(comm->all_reduce_sum(wrong), Error);
}

}  // namespace
}  // namespace sombrero::runtime
