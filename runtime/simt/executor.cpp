// The SIMT executor: runs a grid cluster by cluster (a cluster is one block unless the launch
// asks for more), each CUDA thread a Fiber, and releases the sync points (block and cluster
// barriers, warp collectives) when all the threads they name arrive.
// See executor.h for the model and schedule.h for the resume orders.
#include "runtime/simt/executor.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "runtime/error.h"
#include "runtime/simt/async_copy.h"
#include "runtime/simt/fiber.h"
#include "runtime/simt/mbarrier_state.h"
#include "runtime/simt/schedule.h"
#include "runtime/simt/thread_report.h"

constinit thread_local uint3 threadIdx{};
constinit thread_local uint3 blockIdx{};
constinit thread_local dim3 blockDim{};
constinit thread_local dim3 gridDim{};

namespace sombrero::simt {

const char* warp_op_name(WarpOp op) {
  switch (op) {
    case WarpOp::syncwarp:
      return "__syncwarp";
    case WarpOp::shfl_idx:
      return "__shfl_sync";
    case WarpOp::shfl_up:
      return "__shfl_up_sync";
    case WarpOp::shfl_down:
      return "__shfl_down_sync";
    case WarpOp::shfl_xor:
      return "__shfl_xor_sync";
    case WarpOp::ballot:
      return "__ballot_sync";
    case WarpOp::any:
      return "__any_sync";
    case WarpOp::all:
      return "__all_sync";
    case WarpOp::reduce_add:
      return "__reduce_add_sync";
    case WarpOp::reduce_min:
      return "__reduce_min_sync";
    case WarpOp::reduce_max:
      return "__reduce_max_sync";
    case WarpOp::mma_m16n8k16_bf16:
      return "mma.sync.m16n8k16.bf16";
    case WarpOp::mma_m16n8k8_tf32:
      return "mma.sync.m16n8k8.tf32";
    case WarpOp::ldmatrix_x1:
      return "ldmatrix.x1";
    case WarpOp::ldmatrix_x2:
      return "ldmatrix.x2";
    case WarpOp::ldmatrix_x4:
      return "ldmatrix.x4";
    case WarpOp::ldmatrix_x1_trans:
      return "ldmatrix.x1.trans";
    case WarpOp::ldmatrix_x2_trans:
      return "ldmatrix.x2.trans";
    case WarpOp::ldmatrix_x4_trans:
      return "ldmatrix.x4.trans";
  }
  return "?";
}

namespace detail {
namespace {

constexpr unsigned kWarpSize = 32;

#if defined(__SANITIZE_ADDRESS__)
void poison_for_sanitizer(const void* begin, std::size_t bytes) {
  __asan_poison_memory_region(begin, bytes);
}
void unpoison_for_sanitizer(const void* begin, std::size_t bytes) {
  __asan_unpoison_memory_region(begin, bytes);
}
#else
void poison_for_sanitizer(const void*, std::size_t) {}
void unpoison_for_sanitizer(const void*, std::size_t) {}
#endif
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr std::size_t kMaxSharedBytes = 227 * 1024;  // opt-in maximum per block on sm_90
constexpr unsigned kMaxClusterBlocks = 8;            // the portable cluster size on sm_90

enum class State : unsigned char {
  runnable,
  at_barrier,
  at_cluster_barrier,
  at_warp,
  at_mbarrier,
  exited,
  failed
};

// One queued cp.async: the source bytes captured at issue, written at the wait.
struct AsyncCopy {
  std::byte* destination;
  std::size_t bytes;
  std::byte data[16];
};

// One thread's asynchronous operations of one kind, oldest first, grouped by commit:
// `group_sizes` are the committed groups (oldest first); the items after them form the open
// group. wait(pending, complete) retires the oldest groups until at most `pending` remain,
// handing each retired item to complete(item) in issue order.
template <typename Item>
struct AsyncGroups {
  std::vector<Item> items;
  std::vector<std::size_t> group_sizes;

  void commit() {
    std::size_t committed = 0;
    for (const std::size_t size : group_sizes) committed += size;
    group_sizes.push_back(items.size() - committed);
  }

  template <class Complete>
  void wait(unsigned pending, Complete complete) {
    while (group_sizes.size() > pending) {
      const auto count = static_cast<std::ptrdiff_t>(group_sizes.front());
      // Moved out first: complete() may queue more (into the open group).
      std::vector<Item> retired(std::make_move_iterator(items.begin()),
                                std::make_move_iterator(items.begin() + count));
      items.erase(items.begin(), items.begin() + count);
      group_sizes.erase(group_sizes.begin());
      for (Item& item : retired) complete(item);
    }
  }
};

void land(AsyncCopy& copy) {
  std::memcpy(copy.destination, copy.data, copy.bytes);
}

struct ThreadSlot {
  uint3 index{};
  State state = State::runnable;
  int predicate = 0;
  std::source_location barrier_site;
  WarpCall* call = nullptr;
  std::uint64_t* mbarrier = nullptr;  // at_mbarrier: the barrier and the parity waited for
  unsigned parity = 0;
  std::exception_ptr error;
  AsyncGroups<AsyncCopy> copies;            // cp.async, landed at the wait
  AsyncGroups<std::function<void()>> work;  // deferred async work (wgmma), run at the wait
};

struct Launch {
  const char* kernel;
  const char* file;
  int line;
  dim3 grid;
  dim3 block;
  dim3 cluster;
  std::size_t shared_bytes;
  KernelEntry entry;
  Schedule schedule;
  bool checks;
};

// One bulk copy in flight: its source bytes captured at issue, landed at a wait on `barrier`.
struct BulkCopy {
  std::uint64_t* barrier;
  std::byte* destination;
  std::vector<std::byte> data;
  std::source_location site;
};

// One block of the running cluster: where it is in the grid, its dynamic shared memory, how
// many of its threads wait at its barrier or have exited, and its bulk copies in flight.
struct BlockState {
  uint3 index{};
  std::vector<std::byte> shared_storage;
  void* shared = nullptr;
  unsigned at_barrier = 0, exited = 0;
  BarrierResult barrier_result{0, 0};
  // Where another block of the cluster last mapped this one's shared memory since the last
  // cluster barrier, if it did: this block must not exit before the next one.
  std::optional<std::source_location> mapped_by_other;
  std::vector<BulkCopy> bulk_copies;  // in issue order
};

// Runs clusters of blocks on the calling OS thread; one per OS thread (thread_local). The
// threads of all the cluster's blocks are fibers of one scheduler: thread i is thread
// i % block_threads_ of the cluster's block i / block_threads_ (its rank).
class BlockRunner {
 public:
  // Runs the cluster whose first block is `first_block` (block_linear its linear index).
  void run_cluster(const Launch& launch, uint3 first_block, std::uint64_t block_linear);

  BarrierResult barrier(int predicate, std::source_location site);
  void cluster_barrier(std::source_location site);
  void collective(WarpCall& call);
  void mbarrier_wait(std::uint64_t* barrier, unsigned parity, std::source_location site);
  void bulk_copy(BulkCopy copy) { blocks_[current_rank()].bulk_copies.push_back(std::move(copy)); }
  unsigned current_lane() const { return current_ % block_threads_ % kWarpSize; }
  unsigned current_rank() const { return current_ / block_threads_; }
  unsigned cluster_blocks() const { return static_cast<unsigned>(blocks_.size()); }
  ThreadSlot& current_thread() { return threads_[current_]; }
  unsigned current_active_mask() const;
  void* shared() const { return blocks_[current_rank()].shared; }
  void* shared_of(unsigned rank) const { return blocks_[rank].shared; }
  // Records that the current thread maps block `rank`'s shared memory (at `site`).
  void note_mapping(unsigned rank, std::source_location site) {
    if (rank != current_rank()) blocks_[rank].mapped_by_other = site;
  }
  bool block_exited(unsigned rank) const { return blocks_[rank].exited == block_threads_; }
  std::size_t shared_bytes() const { return shared() != nullptr ? launch_->shared_bytes : 0; }
  bool active() const { return active_; }

 private:
  static void fiber_main();
  void resume(unsigned index);
  void suspend_current();
  void prepare_shared(BlockState& block);
  bool resolve_warp_collectives();
  bool release_barriers();
  bool release_cluster_barrier();
  bool release_mbarrier_waits();
  void land_bulk_copies(BlockState& block, const std::uint64_t* barrier);
  [[noreturn]] void fail(const std::string& what) const;
  std::string describe_threads() const;

  FiberContext scheduler_;
  std::vector<std::unique_ptr<Fiber>> fibers_;
  std::vector<ThreadSlot> threads_;
  std::vector<BlockState> blocks_;
  std::vector<unsigned> order_;
  unsigned block_threads_ = 1;
  unsigned current_ = 0;
  unsigned at_cluster_barrier_ = 0, at_warp_ = 0, at_mbarrier_ = 0, exited_ = 0;
  const Launch* launch_ = nullptr;
  bool active_ = false;
};

thread_local BlockRunner runner;

BlockRunner& active_runner(const char* what) {
  SOMBRERO_CHECK(runner.active(), "simt: ", what,
                 " called outside a kernel launch (device code runs only through SOMBRERO_LAUNCH)");
  return runner;
}

void BlockRunner::fiber_main() {
  BlockRunner& self = runner;
  const unsigned me = self.current_;
  try {
    self.launch_->entry.run(self.launch_->entry.bound);
    // Copies still in flight when a thread exits land all the same.
    ThreadSlot& slot = self.threads_[me];
    slot.copies.commit();
    slot.copies.wait(0, land);
    // Deferred work writes registers of the exited thread's frame: a kernel bug.
    SOMBRERO_CHECK(slot.work.items.empty(), "exited with ", slot.work.items.size(),
                   " wgmma operation(s) still in flight (a missing wgmma.wait_group)");
    self.threads_[me].state = State::exited;
  } catch (...) {
    self.threads_[me].error = std::current_exception();
    self.threads_[me].state = State::failed;
  }
  self.fibers_[me]->finish(&self.scheduler_);
}

void BlockRunner::resume(unsigned index) {
  current_ = index;
  BlockState& block = blocks_[index / block_threads_];
  threadIdx = threads_[index].index;
  blockIdx = block.index;
  fibers_[index]->resume(&scheduler_);
  switch (threads_[index].state) {
    case State::at_barrier:
      ++block.at_barrier;
      break;
    case State::at_cluster_barrier:
      ++at_cluster_barrier_;
      break;
    case State::at_warp:
      ++at_warp_;
      break;
    case State::at_mbarrier:
      ++at_mbarrier_;
      break;
    case State::exited:
      ++block.exited;
      ++exited_;
      if (block.exited == block_threads_ && !block.bulk_copies.empty()) {
        const BulkCopy& copy = block.bulk_copies.front();
        fail(str("the block's threads all exited with ", block.bulk_copies.size(), " bulk cop",
                 block.bulk_copies.size() == 1 ? "y" : "ies", " in flight (the first ",
                 copy.data.size(), " bytes issued at ", site_name(copy.site),
                 "): wait on their mbarrier before exiting"));
      }
      if (block.exited == block_threads_ && block.mapped_by_other && launch_->checks) {
        const uint3 b = block.index;
        fail(str("block (", b.x, ",", b.y, ",", b.z,
                 ") exited while another block of its cluster may still access its shared "
                 "memory, mapped at ",
                 site_name(*block.mapped_by_other),
                 " since the last cluster barrier (end the kernel with a cluster barrier)"));
      }
      break;
    case State::failed: {
      std::string message = "unknown exception";
      try {
        std::rethrow_exception(threads_[index].error);
      } catch (const std::exception& error) {
        message = error.what();
      } catch (...) {
      }
      const uint3 t = threads_[index].index;
      fail(str("thread (", t.x, ",", t.y, ",", t.z, "): ", message));
    }
    case State::runnable:
      break;
  }
}

void BlockRunner::suspend_current() {
  fibers_[current_]->suspend(&scheduler_);
}

void BlockRunner::prepare_shared(BlockState& block) {
  const Launch& launch = *launch_;
  if (launch.shared_bytes == 0) {
    block.shared = nullptr;
    return;
  }
  // Dynamic shared memory is undefined at block start on a GPU: poison it (0xff bytes read
  // as NaN floats and -1 integers) so a kernel that reads before writing shows it.
  constexpr std::size_t kAlign = 128;
  std::vector<std::byte>& storage = block.shared_storage;
  unpoison_for_sanitizer(storage.data(), storage.size());
  storage.resize(launch.shared_bytes + kAlign);
  auto address = reinterpret_cast<std::uintptr_t>(storage.data());
  block.shared = storage.data() + ((kAlign - address % kAlign) % kAlign);
  std::memset(block.shared, 0xff, launch.shared_bytes);
  // Under AddressSanitizer the bytes around the block's window are off limits, so an
  // access past shared_bytes is reported like a global out-of-bounds access.
  std::byte* const window = static_cast<std::byte*>(block.shared);
  poison_for_sanitizer(storage.data(), static_cast<std::size_t>(window - storage.data()));
  poison_for_sanitizer(
      window + launch.shared_bytes,
      static_cast<std::size_t>(storage.data() + storage.size() - (window + launch.shared_bytes)));
}

void BlockRunner::run_cluster(const Launch& launch, uint3 first_block, std::uint64_t block_linear) {
  const dim3 c = launch.cluster;
  const unsigned blocks = c.x * c.y * c.z;
  block_threads_ = launch.block.x * launch.block.y * launch.block.z;
  const unsigned count = blocks * block_threads_;
  while (fibers_.size() < count) fibers_.push_back(std::make_unique<Fiber>());
  threads_.assign(count, ThreadSlot{});
  for (unsigned i = 0; i < count; ++i) {
    const unsigned t = i % block_threads_;
    threads_[i].index = uint3{t % launch.block.x, (t / launch.block.x) % launch.block.y,
                              t / (launch.block.x * launch.block.y)};
    fibers_[i]->reset(&BlockRunner::fiber_main);
  }
  launch_ = &launch;
  blocks_.resize(blocks);
  for (unsigned rank = 0; rank < blocks; ++rank) {  // rank = x + y cx + z cx cy, as on sm_90
    BlockState& block = blocks_[rank];
    block.index = uint3{first_block.x + rank % c.x, first_block.y + (rank / c.x) % c.y,
                        first_block.z + rank / (c.x * c.y)};
    block.at_barrier = block.exited = 0;
    block.mapped_by_other.reset();
    block.bulk_copies.clear();
    prepare_shared(block);
  }
  at_cluster_barrier_ = at_warp_ = at_mbarrier_ = exited_ = 0;
  current_ = 0;
  blockIdx = first_block;
  blockDim = launch.block;
  gridDim = launch.grid;

  order_.resize(count);
  for (unsigned i = 0; i < count; ++i) order_[i] = i;
  const Schedule::Kind kind = launch.schedule.kind;
  if (kind == Schedule::Kind::reversed) std::reverse(order_.begin(), order_.end());
  std::mt19937_64 random(launch.schedule.seed * 0x9e3779b97f4a7c15ull + block_linear);

  active_ = true;
  struct Deactivate {
    bool& flag;
    ~Deactivate() { flag = false; }
  } deactivate{active_};
  for (;;) {
    if (kind == Schedule::Kind::shuffled) std::shuffle(order_.begin(), order_.end(), random);
    for (const unsigned index : order_)
      if (threads_[index].state == State::runnable) resume(index);
    if (exited_ == count) return;
    if (resolve_warp_collectives()) continue;
    if (release_barriers()) continue;
    if (release_cluster_barrier()) continue;
    if (release_mbarrier_waits()) continue;
    if (at_mbarrier_ != 0)
      fail(
          str("an mbarrier wait can never complete (no thread left to arrive, or its copies' "
              "bytes never expected): ",
              describe_threads()));
    fail(
        str("a warp collective can never complete (a lane named in its mask exited or waits "
            "elsewhere): ",
            describe_threads()));
  }
}

bool BlockRunner::resolve_warp_collectives() {
  if (at_warp_ == 0) return false;
  bool progressed = false;
  const auto count = static_cast<unsigned>(threads_.size());
  for (unsigned base = 0, lanes = 0; base < count; base += lanes) {
    lanes = std::min(kWarpSize, block_threads_ - base % block_threads_);  // warps of one block
    for (unsigned lane = 0; lane < lanes; ++lane) {
      const ThreadSlot& slot = threads_[base + lane];
      if (slot.state != State::at_warp) continue;
      const WarpCall& call = *slot.call;
      WarpCall* lanes[kWarpSize] = {};
      bool complete = true;
      for (unsigned bits = call.mask; bits != 0 && complete; bits &= bits - 1) {
        const ThreadSlot& other = threads_[base + std::countr_zero(bits)];
        complete = other.state == State::at_warp && other.call->op == call.op &&
                   other.call->mask == call.mask;
        if (complete) lanes[std::countr_zero(bits)] = other.call;
      }
      if (!complete) continue;
      call.resolve(lanes, call.mask);
      for (unsigned bits = call.mask; bits != 0; bits &= bits - 1)
        threads_[base + std::countr_zero(bits)].state = State::runnable;
      at_warp_ -= static_cast<unsigned>(std::popcount(call.mask));
      progressed = true;
    }
  }
  return progressed;
}

// Whether the threads of [begin, end) waiting in `state` all wait at the same source line.
template <typename Slots>
bool waiting_at_one_site(const Slots& begin, const Slots& end, State state) {
  const ThreadSlot* first = nullptr;
  for (auto slot = begin; slot != end; ++slot) {
    if (slot->state != state) continue;
    if (first == nullptr) first = &*slot;
    if (slot->barrier_site.line() != first->barrier_site.line() ||
        std::strcmp(slot->barrier_site.file_name(), first->barrier_site.file_name()) != 0)
      return false;
  }
  return true;
}

// Releases every block of the cluster whose threads have all arrived at (or exited before)
// its __syncthreads.
bool BlockRunner::release_barriers() {
  bool released = false;
  for (unsigned rank = 0; rank < blocks_.size(); ++rank) {
    BlockState& block = blocks_[rank];
    if (block.at_barrier == 0 || block.at_barrier + block.exited != block_threads_) continue;
    const auto begin = threads_.begin() + rank * block_threads_;
    const auto end = begin + block_threads_;
    unsigned nonzero = 0;
    for (auto slot = begin; slot != end; ++slot)
      nonzero += slot->state == State::at_barrier && slot->predicate != 0 ? 1 : 0;
    if (launch_->checks &&
        (block.exited != 0 || !waiting_at_one_site(begin, end, State::at_barrier)))
      fail(str("__syncthreads not reached by all threads of the block: ", describe_threads()));
    block.barrier_result = BarrierResult{nonzero, block_threads_};
    for (auto slot = begin; slot != end; ++slot)
      if (slot->state == State::at_barrier) slot->state = State::runnable;
    block.at_barrier = 0;
    released = true;
  }
  return released;
}

// barrier.cluster (arrive, then wait): every thread of every block of the cluster.
bool BlockRunner::release_cluster_barrier() {
  const auto count = static_cast<unsigned>(threads_.size());
  if (at_cluster_barrier_ == 0 || at_cluster_barrier_ + exited_ != count) return false;
  if (launch_->checks && (exited_ != 0 || !waiting_at_one_site(threads_.begin(), threads_.end(),
                                                               State::at_cluster_barrier)))
    fail(str("the cluster barrier is not reached by all threads of the cluster: ",
             describe_threads()));
  for (ThreadSlot& slot : threads_)
    if (slot.state == State::at_cluster_barrier) slot.state = State::runnable;
  at_cluster_barrier_ = 0;
  for (BlockState& block : blocks_) block.mapped_by_other.reset();
  return true;
}

std::string BlockRunner::describe_threads() const {
  // Group threads by what they are doing, in order of the first thread of each group.
  std::vector<std::string> keys;
  std::map<std::string, std::vector<unsigned>> groups;
  for (unsigned i = 0; i < threads_.size(); ++i) {
    const ThreadSlot& slot = threads_[i];
    std::string key;
    if (blocks_.size() > 1) {
      const uint3 b = blocks_[i / block_threads_].index;
      key = str("of block (", b.x, ",", b.y, ",", b.z, ") ");
    }
    switch (slot.state) {
      case State::at_barrier:
        key += str("wait at __syncthreads (", site_name(slot.barrier_site), ")");
        break;
      case State::at_cluster_barrier:
        key += str("wait at the cluster barrier (", site_name(slot.barrier_site), ")");
        break;
      case State::at_warp:
        key += str("wait at ", warp_op_name(slot.call->op), " (", site_name(slot.call->site),
                   ", mask 0x", hex32(slot.call->mask), ")");
        break;
      case State::at_mbarrier: {
        const MbarrierState s =
            MbarrierState::decode(*slot.mbarrier, slot.barrier_site);  // valid: checked at wait
        key += str("wait at mbarrier_wait (", site_name(slot.barrier_site), ", parity ",
                   slot.parity, "; the barrier has ", s.pending, " of ", s.expected,
                   " arrivals pending, ", s.transaction_bytes, " transaction bytes)");
        break;
      }
      case State::exited:
        key += "exited";
        break;
      case State::failed:
        key += "failed";
        break;
      case State::runnable:
        key += "runnable";
        break;
    }
    auto [it, inserted] = groups.try_emplace(key);
    if (inserted) keys.push_back(key);
    it->second.push_back(i % block_threads_);
  }
  std::string text;
  for (const std::string& key : keys) {
    if (!text.empty()) text += "; ";
    text += str(thread_ranges(groups.at(key)), " ", key);
  }
  if (launch_->block.y > 1 || launch_->block.z > 1)
    text += " (linear thread ids: x + y*blockDim.x + z*blockDim.x*blockDim.y)";
  return text;
}

void BlockRunner::fail(const std::string& what) const {
  const Launch& l = *launch_;
  const uint3 b = blocks_[current_rank()].index;
  const std::string cluster =
      blocks_.size() > 1 ? str(", cluster (", l.cluster.x, ",", l.cluster.y, ",", l.cluster.z, ")")
                         : std::string();
  throw Error(str("simt: kernel ", l.kernel, " (launched at ", l.file, ":", l.line, ", grid (",
                  l.grid.x, ",", l.grid.y, ",", l.grid.z, "), block (", l.block.x, ",", l.block.y,
                  ",", l.block.z, ")", cluster, ", schedule ", l.schedule.name(), "), block (", b.x,
                  ",", b.y, ",", b.z, "): ", what));
}

BarrierResult BlockRunner::barrier(int predicate, std::source_location site) {
  ThreadSlot& slot = threads_[current_];
  slot.state = State::at_barrier;
  slot.predicate = predicate;
  slot.barrier_site = site;
  suspend_current();
  return blocks_[current_rank()].barrier_result;
}

// Lands, in issue order, the block's copies in flight to `barrier`, each completing its bytes.
void BlockRunner::land_bulk_copies(BlockState& block, const std::uint64_t* barrier) {
  auto& copies = block.bulk_copies;
  for (auto copy = copies.begin(); copy != copies.end();) {
    if (copy->barrier != barrier) {
      ++copy;
      continue;
    }
    std::memcpy(copy->destination, copy->data.data(), copy->data.size());
    MbarrierState state = MbarrierState::decode(*copy->barrier, copy->site);
    state.apply(0, -static_cast<int>(copy->data.size()), copy->site);
    *copy->barrier = state.encode();
    copy = copies.erase(copy);
  }
}

void BlockRunner::mbarrier_wait(std::uint64_t* barrier, unsigned parity,
                                std::source_location site) {
  land_bulk_copies(blocks_[current_rank()], barrier);
  if (MbarrierState::decode(*barrier, site).completed(parity)) return;
  ThreadSlot& slot = threads_[current_];
  slot.state = State::at_mbarrier;
  slot.mbarrier = barrier;
  slot.parity = parity;
  slot.barrier_site = site;
  suspend_current();
}

// Makes runnable every thread whose mbarrier phase has completed (landing its copies first).
bool BlockRunner::release_mbarrier_waits() {
  if (at_mbarrier_ == 0) return false;
  bool released = false;
  for (unsigned i = 0; i < threads_.size(); ++i) {
    ThreadSlot& slot = threads_[i];
    if (slot.state != State::at_mbarrier) continue;
    land_bulk_copies(blocks_[i / block_threads_], slot.mbarrier);
    if (!MbarrierState::decode(*slot.mbarrier, slot.barrier_site).completed(slot.parity)) continue;
    slot.state = State::runnable;
    --at_mbarrier_;
    released = true;
  }
  return released;
}

void BlockRunner::cluster_barrier(std::source_location site) {
  ThreadSlot& slot = threads_[current_];
  slot.state = State::at_cluster_barrier;
  slot.barrier_site = site;
  suspend_current();
}

void BlockRunner::collective(WarpCall& call) {
  const unsigned lane = current_lane();
  const unsigned base = current_ - lane;
  const unsigned lanes_in_warp = std::min(kWarpSize, block_threads_ - base % block_threads_);
  const unsigned existing = lanes_in_warp == kWarpSize ? ~0u : (1u << lanes_in_warp) - 1;
  SOMBRERO_CHECK((call.mask >> lane) & 1u, warp_op_name(call.op), " at ", site_name(call.site),
                 ": lane ", lane, " passes mask 0x", hex32(call.mask),
                 ", which does not include itself");
  SOMBRERO_CHECK((call.mask & ~existing) == 0, warp_op_name(call.op), " at ", site_name(call.site),
                 ": mask 0x", hex32(call.mask), " names lanes that do not exist (this warp has ",
                 lanes_in_warp, " threads)");
  ThreadSlot& slot = threads_[current_];
  slot.state = State::at_warp;
  slot.call = &call;
  suspend_current();
}

unsigned BlockRunner::current_active_mask() const {
  const unsigned base = current_ - current_lane();
  const unsigned lanes = std::min(kWarpSize, block_threads_ - base % block_threads_);
  unsigned mask = 0;
  for (unsigned lane = 0; lane < lanes; ++lane) {
    const State state = threads_[base + lane].state;
    if (state != State::exited && state != State::failed) mask |= 1u << lane;
  }
  return mask;
}

unsigned simt_threads() {
  static const unsigned threads = [] {
    const char* env = std::getenv("SOMBRERO_SIMT_THREADS");
    const long value = env != nullptr ? std::strtol(env, nullptr, 10) : 1;
    return value >= 1 ? static_cast<unsigned>(value) : 1u;
  }();
  return threads;
}

void check_configuration(const char* kernel, const char* file, int line, dim3 grid, dim3 block,
                         dim3 cluster, std::size_t shared_bytes) {
  const unsigned long long threads = static_cast<unsigned long long>(block.x) * block.y * block.z;
  const bool ok = grid.x >= 1 && grid.y >= 1 && grid.z >= 1 && grid.x <= 0x7fffffffu &&
                  grid.y <= 65535 && grid.z <= 65535 && block.x >= 1 && block.y >= 1 &&
                  block.z >= 1 && block.x <= 1024 && block.y <= 1024 && block.z <= 64 &&
                  threads <= kMaxThreadsPerBlock && shared_bytes <= kMaxSharedBytes;
  if (!ok)
    throw_error(str("launch of kernel ", kernel, " <<<(", grid.x, ",", grid.y, ",", grid.z, "), (",
                    block.x, ",", block.y, ",", block.z, "), ", shared_bytes,
                    " B>>> failed: invalid configuration argument (at most 1024 threads and ",
                    kMaxSharedBytes, " B of dynamic shared memory per block)"),
                file, line);
  // sm_90's portable cluster size is at most 8 blocks; the grid is whole clusters.
  const unsigned long long cluster_blocks =
      static_cast<unsigned long long>(cluster.x) * cluster.y * cluster.z;
  const bool cluster_ok = cluster.x >= 1 && cluster.y >= 1 && cluster.z >= 1 &&
                          cluster_blocks <= kMaxClusterBlocks && grid.x % cluster.x == 0 &&
                          grid.y % cluster.y == 0 && grid.z % cluster.z == 0;
  if (!cluster_ok)
    throw_error(str("launch of kernel ", kernel, " with grid (", grid.x, ",", grid.y, ",", grid.z,
                    ") in clusters of (", cluster.x, ",", cluster.y, ",", cluster.z,
                    ") failed: a cluster holds 1 to ", kMaxClusterBlocks,
                    " blocks and the grid must be a whole number of clusters in each dimension"),
                file, line);
}

}  // namespace

void run_grid(const char* kernel, const char* file, int line, dim3 grid, dim3 block, dim3 cluster,
              std::size_t shared_bytes, KernelEntry entry) {
  SOMBRERO_CHECK(!runner.active(), "simt: kernel ", kernel,
                 " launched from device code (dynamic parallelism is not emulated)");
  check_configuration(kernel, file, line, grid, block, cluster, shared_bytes);
  const bool checks = checks_enabled();
  const Launch launch{kernel,       file,  line,
                      grid,         block, cluster,
                      shared_bytes, entry, checks ? current_schedule() : Schedule::in_order(),
                      checks};
  // Clusters in linear order, x fastest; a cluster's first block is its lowest corner.
  const dim3 clusters_in{grid.x / cluster.x, grid.y / cluster.y, grid.z / cluster.z};
  const std::uint64_t clusters =
      static_cast<std::uint64_t>(clusters_in.x) * clusters_in.y * clusters_in.z;
  auto first_block = [&](std::uint64_t c) {
    return uint3{
        static_cast<unsigned>(c % clusters_in.x) * cluster.x,
        static_cast<unsigned>((c / clusters_in.x) % clusters_in.y) * cluster.y,
        static_cast<unsigned>(c / (static_cast<std::uint64_t>(clusters_in.x) * clusters_in.y)) *
            cluster.z};
  };
  auto block_linear = [&](uint3 b) {
    return b.x +
           static_cast<std::uint64_t>(grid.x) * (b.y + static_cast<std::uint64_t>(grid.y) * b.z);
  };
  const auto workers = static_cast<int>(std::min<std::uint64_t>(simt_threads(), clusters));
  if (workers <= 1) {
    for (std::uint64_t c = 0; c < clusters; ++c) {
      const uint3 first = first_block(c);
      runner.run_cluster(launch, first, block_linear(first));
    }
    return;
  }
  // Independent clusters on several OS threads: each cluster stays on one thread, whose
  // thread_local __shared__ variables and fibers it uses; atomics are real atomics.
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
#pragma omp parallel num_threads(workers)
  {
    for (std::uint64_t c = next++; c < clusters && !failed; c = next++) {
      try {
        const uint3 first = first_block(c);
        runner.run_cluster(launch, first, block_linear(first));
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed = true;
      }
    }
  }
  if (first_error) std::rethrow_exception(first_error);
}

BarrierResult block_barrier(int predicate, std::source_location site) {
  return active_runner("__syncthreads").barrier(predicate, site);
}

void warp_collective(WarpCall& call) {
  active_runner(warp_op_name(call.op)).collective(call);
}

unsigned lane_id() {
  return active_runner("lane id").current_lane();
}

unsigned active_mask() {
  return active_runner("__activemask").current_active_mask();
}

void* dynamic_shared_memory() {
  return active_runner("dynamic shared memory").shared();
}

unsigned cluster_rank() {
  return active_runner("%cluster_ctarank").current_rank();
}

unsigned cluster_blocks() {
  return active_runner("%cluster_nctarank").cluster_blocks();
}

void cluster_barrier(std::source_location site) {
  active_runner("barrier.cluster").cluster_barrier(site);
}

void* cluster_shared(const void* local, unsigned rank, std::source_location site) {
  BlockRunner& cluster = active_runner("mapa");
  const auto* window = static_cast<const std::byte*>(cluster.shared());
  const auto* p = static_cast<const std::byte*>(local);
  SOMBRERO_CHECK(window != nullptr && p >= window && p < window + cluster.shared_bytes(),
                 "simt: mapa of ", local,
                 ", which is not in the block's dynamic shared memory (a cluster kernel keeps "
                 "the shared memory it maps dynamic)");
  SOMBRERO_CHECK(rank < cluster.cluster_blocks(), "simt: mapa to block rank ", rank,
                 " of a cluster of ", cluster.cluster_blocks());
  SOMBRERO_CHECK(!cluster.block_exited(rank), "simt: mapa to block rank ", rank,
                 ", whose threads have all exited (its shared memory is gone; a cluster "
                 "barrier before the exit keeps it alive)");
  cluster.note_mapping(rank, site);
  return static_cast<std::byte*>(cluster.shared_of(rank)) + (p - window);
}

void async_work(std::function<void()> work) {
  active_runner("wgmma").current_thread().work.items.push_back(std::move(work));
}

void async_work_commit() {
  active_runner("wgmma.commit_group").current_thread().work.commit();
}

void async_work_wait(unsigned pending) {
  active_runner("wgmma.wait_group")
      .current_thread()
      .work.wait(pending, [](std::function<void()>& work) { work(); });
}

namespace {

// The barrier word, checked to lie 8-byte aligned in the calling block's shared memory.
std::uint64_t* checked_mbarrier(std::uint64_t* barrier, const std::source_location& site) {
  SOMBRERO_CHECK(
      shared_window().holds(barrier, 8) && reinterpret_cast<std::uintptr_t>(barrier) % 8 == 0,
      "mbarrier at ", site_name(site), ": ", static_cast<const void*>(barrier),
      " is not an 8-byte aligned word of the block's dynamic shared memory");
  return barrier;
}

}  // namespace

void mbarrier_init(std::uint64_t* barrier, unsigned count, std::source_location site) {
  SOMBRERO_CHECK(count >= 1 && count <= MbarrierState::kMaxCount, "mbarrier_init at ",
                 site_name(site), ": the expected arrival count must be in [1, ",
                 MbarrierState::kMaxCount, "], got ", count);
  MbarrierState state;
  state.pending = state.expected = count;
  *checked_mbarrier(barrier, site) = state.encode();
}

void mbarrier_arrive(std::uint64_t* barrier, unsigned transaction_bytes,
                     std::source_location site) {
  SOMBRERO_CHECK(transaction_bytes <= static_cast<unsigned>(MbarrierState::kMaxTransactionBytes),
                 "mbarrier arrive at ", site_name(site), ": expects ", transaction_bytes,
                 " transaction bytes, more than the counter holds");
  std::uint64_t* word = checked_mbarrier(barrier, site);
  MbarrierState state = MbarrierState::decode(*word, site);
  state.apply(1, static_cast<int>(transaction_bytes), site);
  *word = state.encode();
}

void mbarrier_wait(std::uint64_t* barrier, unsigned parity, std::source_location site) {
  // The runner's wait decodes the word: an uninitialised barrier throws there.
  active_runner("mbarrier wait").mbarrier_wait(checked_mbarrier(barrier, site), parity, site);
}

void bulk_copy_to_shared(void* shared_destination, const void* global_source, unsigned bytes,
                         std::uint64_t* barrier, std::source_location site) {
  SOMBRERO_CHECK(bytes > 0 && bytes % 16 == 0, "bulk copy at ", site_name(site),
                 ": the size must be a positive multiple of 16 bytes, got ", bytes);
  SOMBRERO_CHECK(reinterpret_cast<std::uintptr_t>(shared_destination) % 16 == 0 &&
                     reinterpret_cast<std::uintptr_t>(global_source) % 16 == 0,
                 "bulk copy at ", site_name(site), ": needs 16-byte aligned addresses (shared ",
                 shared_destination, ", global ", global_source, ")");
  const SharedWindow window = shared_window();
  SOMBRERO_CHECK(window.holds(shared_destination, bytes), "bulk copy at ", site_name(site), ": ",
                 bytes, " bytes to ", shared_destination, " do not fit in the block's ",
                 window.bytes, " bytes of dynamic shared memory");
  auto* destination = static_cast<std::byte*>(shared_destination);
  MbarrierState::decode(*checked_mbarrier(barrier, site), site);  // initialised
  const auto* source = static_cast<const std::byte*>(global_source);
  BulkCopy copy{barrier, destination, std::vector<std::byte>(source, source + bytes), site};
  std::memset(destination, 0xff, bytes);  // undefined until it lands
  active_runner("bulk copy").bulk_copy(std::move(copy));
}

std::uint32_t shared_address(const void* pointer) {
  BlockRunner& block = active_runner("shared address");
  const auto* window = static_cast<const std::byte*>(block.shared());
  const auto* p = static_cast<const std::byte*>(pointer);
  SOMBRERO_CHECK(window != nullptr && p >= window && p <= window + block.shared_bytes(),
                 "simt: shared address of ", pointer,
                 ", which is not in the block's dynamic shared memory");
  return static_cast<std::uint32_t>(p - window);
}

const void* shared_pointer(std::uint32_t address, std::size_t bytes) {
  return shared_window().at(address, bytes);
}

SharedWindow shared_window() {
  const BlockRunner& block = active_runner("shared address");
  return {static_cast<const std::byte*>(block.shared()), block.shared_bytes()};
}

void async_copy(void* shared_destination, const void* source, std::size_t bytes) {
  ThreadSlot& thread = active_runner("cp.async").current_thread();
  SOMBRERO_CHECK(bytes == 4 || bytes == 8 || bytes == 16, "cp.async copies 4, 8 or 16 bytes, not ",
                 bytes);
  SOMBRERO_CHECK(reinterpret_cast<std::uintptr_t>(shared_destination) % bytes == 0 &&
                     reinterpret_cast<std::uintptr_t>(source) % bytes == 0,
                 "cp.async of ", bytes, " bytes needs ", bytes, "-byte aligned addresses (shared ",
                 shared_destination, ", global ", source, ")");
  AsyncCopy copy{static_cast<std::byte*>(shared_destination), bytes, {}};
  if (source != nullptr) std::memcpy(copy.data, source, bytes);
  std::memset(shared_destination, 0xff, bytes);  // undefined until the wait
  thread.copies.items.push_back(copy);
}

void async_copy_commit() {
  active_runner("cp.async.commit_group").current_thread().copies.commit();
}

void async_copy_wait(unsigned pending) {
  active_runner("cp.async.wait_group").current_thread().copies.wait(pending, land);
}

}  // namespace detail
}  // namespace sombrero::simt
