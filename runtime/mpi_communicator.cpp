// The MPI backend: CPU f32 tensors and host doubles through MPI_COMM_WORLD. MPI errors are
// fatal (MPI_ERRORS_ARE_FATAL, the default): a rank that dies takes the job down with
// mpirun's report naming it, rather than leaving the others waiting.
#include "runtime/communicator.h"
#include "runtime/error.h"

#if defined(SOMBRERO_HAVE_MPI)
#include <mpi.h>

#include <cstdint>
#include <cstdlib>

namespace sombrero::runtime {

namespace {

void finalize_mpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void ensure_mpi_initialized() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  int provided = 0;
  SOMBRERO_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) == MPI_SUCCESS,
                 "MPI_Init_thread failed");
  std::atexit(finalize_mpi);
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    ensure_mpi_initialized();
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void all_reduce_sum(Tensor& tensor) override {
    check_host_f32(tensor, "all_reduce_sum");
    MPI_Allreduce(MPI_IN_PLACE, tensor.data<float>(), static_cast<int>(tensor.numel()), MPI_FLOAT,
                  MPI_SUM, MPI_COMM_WORLD);
  }
  void broadcast(Tensor& tensor, int root) override {
    check_host_f32(tensor, "broadcast");
    SOMBRERO_CHECK(root >= 0 && root < size_, "broadcast: root ", root,
                   " is outside a world of size ", size_);
    MPI_Bcast(tensor.data<float>(), static_cast<int>(tensor.numel()), MPI_FLOAT, root,
              MPI_COMM_WORLD);
  }
  void all_reduce_sum(std::vector<double>& values) override {
    MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM,
                  MPI_COMM_WORLD);
  }
  void barrier() override { MPI_Barrier(MPI_COMM_WORLD); }

 private:
  static void check_host_f32(const Tensor& tensor, const char* what) {
    SOMBRERO_CHECK(tensor.defined() && tensor.is_host() && tensor.dtype() == DType::f32, "mpi ",
                   what, ": needs an f32 CPU tensor, got ",
                   tensor.defined() ? tensor.to_string(0) : std::string("an undefined tensor"),
                   " (CUDA tensors go through the NCCL backend)");
    SOMBRERO_CHECK(tensor.numel() < (std::int64_t{1} << 31), "mpi ", what, ": ", tensor.numel(),
                   " elements exceed MPI's int count; split the buffer");
  }

  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() {
  return std::make_unique<MpiCommunicator>();
}

}  // namespace sombrero::runtime

#else

namespace sombrero::runtime {
std::unique_ptr<Communicator> make_mpi_communicator() {
  SOMBRERO_FAIL(
      "this build has no MPI support (configure with Open MPI installed, "
      "libopenmpi-dev); launch without mpirun, or use dist.init: env-file | env-tcp");
}
}  // namespace sombrero::runtime

#endif
