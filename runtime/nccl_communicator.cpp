// The NCCL backend: CUDA tensors summed or broadcast across ranks on the tensor's stream.
// Bootstrap: rank 0 creates the NCCL unique id and hands it to the others (MPI broadcast,
// shared file or TCP, runtime/rendezvous.h); then ncclCommInitRank on device local_rank.
// A collective that does not finish within the timeout (a rank died or hangs) aborts the
// communicator and fails this rank with a message, instead of waiting forever: the host
// polls the stream and ncclCommGetAsyncError while it waits.
#include "runtime/communicator.h"
#include "runtime/error.h"

#if defined(SOMBRERO_HAVE_NCCL) && defined(SOMBRERO_HAVE_CUDA)
#include <chrono>
#include <cstring>
#include <thread>

#include "runtime/cuda_check.h"
#include "runtime/cuda_context.h"
#include "runtime/rendezvous.h"
#if defined(SOMBRERO_HAVE_MPI)
#include <mpi.h>
#endif

namespace sombrero::runtime {

namespace {

ncclUniqueId exchange_unique_id(const DistributedEnv& env, const NcclOptions& options) {
  ncclUniqueId id{};
  if (env.rank == 0) SOMBRERO_CHECK_NCCL(ncclGetUniqueId(&id));
  const std::string mine(reinterpret_cast<const char*>(&id), sizeof id);
  std::string shared;
  switch (options.bootstrap) {
    case Bootstrap::mpi: {
#if defined(SOMBRERO_HAVE_MPI)
      make_mpi_communicator();  // initialises MPI
      shared = mine;
      MPI_Bcast(shared.data(), static_cast<int>(shared.size()), MPI_BYTE, 0, MPI_COMM_WORLD);
#else
      SOMBRERO_FAIL("dist.init: mpi needs a build with MPI; use env-file or env-tcp");
#endif
      break;
    }
    case Bootstrap::env_file:
      SOMBRERO_CHECK(!options.rendezvous.empty(),
                     "dist.init: env-file needs dist.rendezvous, a path on a shared file system");
      shared = share_blob_via_file(options.rendezvous, env.rank, mine, options.timeout_s);
      break;
    case Bootstrap::env_tcp:
      SOMBRERO_CHECK(!options.rendezvous.empty(),
                     "dist.init: env-tcp needs dist.rendezvous, the host:port of rank 0");
      shared =
          share_blob_via_tcp(options.rendezvous, env.rank, env.world_size, mine, options.timeout_s);
      break;
  }
  SOMBRERO_CHECK(shared.size() == sizeof id, "rendezvous: received ", shared.size(),
                 " bytes, expected an NCCL id of ", sizeof id);
  std::memcpy(&id, shared.data(), sizeof id);
  return id;
}

ncclDataType_t nccl_type(DType dtype) {
  return dtype == DType::bf16 ? ncclBfloat16 : ncclFloat32;
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(const DistributedEnv& env, const NcclOptions& options)
      : rank_(env.rank),
        size_(env.world_size),
        device_(env.local_rank),
        timeout_s_(options.timeout_s) {
    set_device(device_);
    const ncclUniqueId id = exchange_unique_id(env, options);
    SOMBRERO_CHECK_NCCL(ncclCommInitRank(&comm_, size_, id, rank_));
    SOMBRERO_CHECK_CUDA(cudaMalloc(&host_values_, kHostValues * sizeof(double)));
  }
  ~NcclCommunicator() override {
    if (comm_stream_) {
      cudaStreamSynchronize(comm_stream_);
      cudaStreamDestroy(comm_stream_);
      cudaEventDestroy(ready_);
      cudaEventDestroy(done_);
    }
    if (comm_) ncclCommDestroy(comm_);
    if (host_values_) cudaFree(host_values_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }

  void all_reduce_sum(Tensor& tensor) override {
    check_device_tensor(tensor, "all_reduce_sum");
    SOMBRERO_CHECK_NCCL(ncclAllReduce(tensor.raw_data(), tensor.raw_data(),
                                      static_cast<std::size_t>(tensor.numel()),
                                      nccl_type(tensor.dtype()), ncclSum, comm_, tensor.stream()));
    wait(tensor.stream(), "all_reduce_sum");
  }
  // The sum runs on comm_stream_ after the work enqueued so far on the tensor's stream (an
  // event), so the backward pass continues on the compute stream meanwhile.
  void start_all_reduce_sum(Tensor& tensor) override {
    check_device_tensor(tensor, "start_all_reduce_sum");
    if (comm_stream_ == nullptr) {
      DeviceGuard guard(device_);
      SOMBRERO_CHECK_CUDA(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking));
      SOMBRERO_CHECK_CUDA(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
      SOMBRERO_CHECK_CUDA(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
    }
    SOMBRERO_CHECK_CUDA(cudaEventRecord(ready_, tensor.stream()));
    SOMBRERO_CHECK_CUDA(cudaStreamWaitEvent(comm_stream_, ready_, 0));
    SOMBRERO_CHECK_NCCL(ncclAllReduce(tensor.raw_data(), tensor.raw_data(),
                                      static_cast<std::size_t>(tensor.numel()),
                                      nccl_type(tensor.dtype()), ncclSum, comm_, comm_stream_));
    waiting_streams_.push_back(tensor.stream());
  }
  void finish_all_reduces() override {
    if (waiting_streams_.empty()) return;
    wait(comm_stream_, "all_reduce_sum (bucketed)");
    SOMBRERO_CHECK_CUDA(cudaEventRecord(done_, comm_stream_));
    for (cudaStream_t stream : waiting_streams_)
      SOMBRERO_CHECK_CUDA(cudaStreamWaitEvent(stream, done_, 0));
    waiting_streams_.clear();
  }
  void broadcast(Tensor& tensor, int root) override {
    check_device_tensor(tensor, "broadcast");
    SOMBRERO_CHECK(root >= 0 && root < size_, "broadcast: root ", root,
                   " is outside a world of size ", size_);
    SOMBRERO_CHECK_NCCL(ncclBroadcast(tensor.raw_data(), tensor.raw_data(),
                                      static_cast<std::size_t>(tensor.numel()),
                                      nccl_type(tensor.dtype()), root, comm_, tensor.stream()));
    wait(tensor.stream(), "broadcast");
  }
  void all_reduce_sum(std::vector<double>& values) override {
    const cudaStream_t stream = CudaContext::get(device_).stream();
    for (std::size_t start = 0; start < values.size(); start += kHostValues) {
      const std::size_t count = std::min(kHostValues, values.size() - start);
      SOMBRERO_CHECK_CUDA(cudaMemcpyAsync(host_values_, values.data() + start,
                                          count * sizeof(double), cudaMemcpyHostToDevice, stream));
      SOMBRERO_CHECK_NCCL(
          ncclAllReduce(host_values_, host_values_, count, ncclFloat64, ncclSum, comm_, stream));
      SOMBRERO_CHECK_CUDA(cudaMemcpyAsync(values.data() + start, host_values_,
                                          count * sizeof(double), cudaMemcpyDeviceToHost, stream));
      wait(stream, "all_reduce_sum of metrics");
    }
  }
  void barrier() override {
    std::vector<double> one{1.0};
    all_reduce_sum(one);
  }

 private:
  static constexpr std::size_t kHostValues = 1024;

  void check_device_tensor(const Tensor& tensor, const char* what) const {
    SOMBRERO_CHECK(tensor.defined() && tensor.is_cuda() && tensor.device().index == device_,
                   "nccl ", what, ": needs a tensor on cuda:", device_, ", got ",
                   tensor.defined() ? tensor.to_string(0) : std::string("an undefined tensor"));
  }

  // Waits for the stream, failing (and aborting the communicator) on an NCCL error or after
  // the timeout, so a dead or hung peer cannot block this rank forever.
  void wait(cudaStream_t stream, const char* what) {
    const auto start = std::chrono::steady_clock::now();
    while (true) {
      const cudaError_t status = cudaStreamQuery(stream);
      if (status == cudaSuccess) return;
      SOMBRERO_CHECK(status == cudaErrorNotReady, "nccl ", what, ": ", cudaGetErrorString(status));
      ncclResult_t async_error = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async_error);
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (async_error != ncclSuccess || waited > timeout_s_) {
        ncclCommAbort(comm_);
        comm_ = nullptr;
        SOMBRERO_FAIL("nccl ", what, " on rank ", rank_, " of ", size_, ": ",
                      async_error != ncclSuccess
                          ? std::string(ncclGetErrorString(async_error))
                          : str("no progress for ", timeout_s_, " s (dist.timeout_s)"),
                      "; another rank has probably failed or hangs");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  int rank_, size_, device_;
  double timeout_s_;
  ncclComm_t comm_ = nullptr;
  double* host_values_ = nullptr;
  // The bucketed all-reduce's stream, events, and the streams to order after it.
  cudaStream_t comm_stream_ = nullptr;
  cudaEvent_t ready_ = nullptr, done_ = nullptr;
  std::vector<cudaStream_t> waiting_streams_;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(const DistributedEnv& env,
                                                     const NcclOptions& options) {
  return std::make_unique<NcclCommunicator>(env, options);
}

}  // namespace sombrero::runtime

#else

namespace sombrero::runtime {
std::unique_ptr<Communicator> make_nccl_communicator(const DistributedEnv&, const NcclOptions&) {
  SOMBRERO_FAIL(
      "this build has no NCCL (configure with the CUDA toolkit and NCCL, "
      "-DNCCL_ROOT=...); multi-GPU training needs it");
}
}  // namespace sombrero::runtime

#endif
