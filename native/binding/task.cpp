#include "binding/task.hpp"

#include "binding/compute_thread.hpp"
#include "binding/failure.hpp"
#include "kernels/rasterizer.hpp"

namespace ohlc::binding {

void TaskContext::throw_if_cancelled() const {
  if (cancelled()) throw CancelledError();
}

namespace {

struct ProgressTick {
  double done;
  double total;
};

class NativeTask final : public Napi::AsyncProgressWorker<ProgressTick> {
 public:
  NativeTask(Napi::Function done, Napi::Value on_progress, TaskSpec spec,
             std::shared_ptr<std::atomic<bool>> cancel)
      : Napi::AsyncProgressWorker<ProgressTick>(done, spec.name),
        spec_(std::move(spec)),
        cancel_(std::move(cancel)) {
    if (on_progress.IsFunction()) progress_ = Napi::Persistent(on_progress.As<Napi::Function>());
    for (const Napi::Value& v : spec_.keep_alive) {
      if (v.IsObject()) kept_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    }
    spec_.keep_alive.clear();
  }

  void Execute(const ExecutionProgress& progress) override {
    TaskContext ctx(cancel_.get(), [&progress](double done, double total) {
      const ProgressTick tick{done, total};
      progress.Send(&tick, 1);
    });
    auto run = [&] {
      try {
        result_ = spec_.body(ctx);
      } catch (...) {
        failure_ = current_failure();
        failed_ = true;
      }
    };
    if (spec_.thread == TaskThread::kCompute) run_on_compute_thread(run);
    else run();
  }

  void OnProgress(const ProgressTick* ticks, size_t count) override {
    if (progress_.IsEmpty() || count == 0) return;
    Napi::Env env = Env();
    const ProgressTick& t = ticks[count - 1];
    progress_.Call({Napi::Number::New(env, t.done), Napi::Number::New(env, t.total)});
  }

  void OnOK() override {
    Napi::Env env = Env();
    // The body (and what it captured) goes first, on this thread; then the settle hook, while
    // what JS lent the task (the writer object among it) is still referenced; then those.
    spec_.body = nullptr;
    if (spec_.on_settled) spec_.on_settled();
    kept_.clear();
    if (failed_) {
      Callback().Call({to_js_error(env, failure_).Value()});
      return;
    }
    Napi::Value value = env.Undefined();
    try {
      if (result_) value = result_(env);
    } catch (...) {
      Callback().Call({to_js_error(env, current_failure()).Value()});
      return;
    }
    result_ = nullptr;
    Callback().Call({env.Null(), value});
  }

 private:
  TaskSpec spec_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  Napi::FunctionReference progress_;
  std::vector<Napi::ObjectReference> kept_;
  ResultFn result_;
  Failure failure_;
  bool failed_ = false;
};

}  // namespace

Napi::Value start_task(Napi::Env env, Napi::Function done, Napi::Value on_progress, TaskSpec spec) {
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  (new NativeTask(done, on_progress, std::move(spec), cancel))->Queue();
  return Napi::Function::New(
      env,
      [cancel](const Napi::CallbackInfo& info) {
        cancel->store(true);
        return info.Env().Undefined();
      },
      "cancel");
}

Napi::Function callback_argument(const Napi::CallbackInfo& info, size_t at, const char* signature) {
  if (info.Length() <= at) throw_failure(info.Env(), argument_failure("arguments", signature));
  if (!info[at].IsFunction()) throw_failure(info.Env(), argument_failure("callback", "a function"));
  return info[at].As<Napi::Function>();
}

}  // namespace ohlc::binding
