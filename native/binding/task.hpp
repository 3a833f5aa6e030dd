// One generic async worker behind every async binding: a task body that runs off the JS thread
// (on a libuv worker, or on the compute thread for OpenMP work), a cancel flag, progress through
// one thread-safe function, and every failure as a Failure (binding/failure.hpp). The TS side
// has its one counterpart, runNativeTask in ts/native/task.ts.
#pragma once

#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace ohlc::binding {

// What a task body sees while it runs.
class TaskContext {
 public:
  using ProgressFn = std::function<void(double, double)>;
  TaskContext(const std::atomic<bool>* cancel, ProgressFn progress)
      : cancel_(cancel), progress_(std::move(progress)) {}

  // Polled by kernels between units of work.
  const std::atomic<bool>* cancel_flag() const { return cancel_; }
  bool cancelled() const { return cancel_->load(std::memory_order_relaxed); }
  // Throws CancelledError when cancel() was called.
  void throw_if_cancelled() const;
  // Reaches the JS progress callback, if one was given (when several arrive, the latest wins).
  void progress(double done, double total) const { progress_(done, total); }

 private:
  const std::atomic<bool>* cancel_;
  ProgressFn progress_;
};

// Builds the JS result on the JS thread from what the body produced off it.
using ResultFn = std::function<Napi::Value(Napi::Env)>;
using TaskBody = std::function<ResultFn(TaskContext&)>;

enum class TaskThread {
  kWorker,   // a libuv worker thread: file work, parsing, single-threaded kernels
  kCompute,  // the compute thread (binding/compute_thread.hpp): OpenMP-parallel kernels
};

struct TaskSpec {
  TaskSpec() = default;
  TaskSpec(const char* name, TaskBody body, std::vector<Napi::Value> keep_alive = {},
           TaskThread thread = TaskThread::kWorker)
      : name(name), body(std::move(body)), keep_alive(std::move(keep_alive)), thread(thread) {}

  const char* name = "ohlc-native:task";
  TaskBody body;
  // JS objects the body reads or writes (typed arrays, the writer): referenced until the task
  // settles. The TS layer has already refused resizable and shared buffers and made these
  // untransferable, so their memory stays where it is for as long as the reference holds.
  std::vector<Napi::Value> keep_alive;
  TaskThread thread = TaskThread::kWorker;
  // Runs on the JS thread once the body has finished, before the callback.
  std::function<void()> on_settled;
};

// Queues the task; `done(err)` or `done(null, result)` is called on the JS thread, and
// `on_progress(done, total)` too when it is a function. Returns the function that cancels it.
Napi::Value start_task(Napi::Env env, Napi::Function done, Napi::Value on_progress, TaskSpec spec);
inline Napi::Value start_task(Napi::Env env, Napi::Function done, TaskSpec spec) {
  return start_task(env, done, env.Undefined(), std::move(spec));
}

// The callback at info[at]: a TypeError naming `signature` when it is missing, `callback` when it
// is not a function.
Napi::Function callback_argument(const Napi::CallbackInfo& info, size_t at, const char* signature);

}  // namespace ohlc::binding
