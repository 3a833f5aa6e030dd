// rasterize / rasterizeAsync: the binding of kernels/raster and cuda/raster_cuda.
#include <cstring>
#include <memory>
#include <vector>

#include "binding/args.hpp"
#include "binding/bindings.hpp"
#include "binding/compute_thread.hpp"
#include "cuda/raster_cuda.hpp"
#include "kernels/raster.hpp"

namespace ohlc::binding {
namespace {

enum class Device { kCpu = 0, kCuda = 1 };

// Everything one call needs, read from the JS options object.
struct RasterCall {
  TypedView<double> open, high, low, close;
  std::vector<int64_t> starts;  // empty for stride mode
  WindowList windows;
  ImageShape shape;
  PixelType type = PixelType::U8;
  void* out = nullptr;
  int threads = 0;
  Device device = Device::kCpu;
  int64_t window_base = 0;  // added to window numbers in error messages (chunked calls)
};

RasterCall read_call(const Napi::Object& o) {
  Napi::Env env = o.Env();
  RasterCall call;
  call.open = typed_property<double>(o, "open");
  call.high = typed_property<double>(o, "high");
  call.low = typed_property<double>(o, "low");
  call.close = typed_property<double>(o, "close");
  const size_t n = call.open.length;
  if (call.high.length != n || call.low.length != n || call.close.length != n)
    throw_argument(env, "open/high/low/close", "of equal length");

  call.shape.seq_len = static_cast<uint32_t>(integer_property(o, "seqLen", 1, 1 << 24));
  call.shape.height = static_cast<uint32_t>(integer_property(o, "height", 2, 1 << 24));
  call.type = integer_property(o, "dtype", 0, 1) == 0 ? PixelType::U8 : PixelType::F32;
  call.threads = static_cast<int>(integer_property(o, "threads", 0, 4096));
  call.device = integer_property(o, "device", 0, 1) == 0 ? Device::kCpu : Device::kCuda;
  const int64_t count = integer_property(o, "count", 0, int64_t{1} << 40);
  if (!o.Get("windowBase").IsUndefined()) call.window_base = integer_property(o, "windowBase", 0, int64_t{1} << 53);

  Napi::Value starts = o.Get("starts");
  if (!starts.IsNull() && !starts.IsUndefined()) {
    TypedView<double> s = typed_view<double>(env, starts, "starts");
    if (s.length != static_cast<size_t>(count)) throw_argument(env, "starts", "count long");
    call.starts.resize(s.length);
    for (size_t i = 0; i < s.length; ++i) {
      const double v = s.data[i];
      if (!(v >= 0 && v <= 9007199254740991.0) || v != std::floor(v))
        throw_argument(env, "starts", "non-negative integers");
      call.starts[i] = static_cast<int64_t>(v);
    }
    call.windows.starts = call.starts.data();
  } else {
    call.windows.first = integer_property(o, "first", 0, int64_t{1} << 53);
    call.windows.stride = integer_property(o, "stride", 1, int64_t{1} << 53);
  }
  call.windows.count = static_cast<size_t>(count);

  CandleColumns candles{call.open.data, call.high.data, call.low.data, call.close.data, n};
  RasterOutcome check = check_raster_arguments(candles, call.windows, call.shape);
  if (check.status != RasterOutcome::kOk) throw_error(env, "ERR_INVALID_ARG", "native: " + check.message, true);

  // The output: a typed array of the dtype, at least count * pixels elements.
  const size_t px = call.shape.pixels();
  if (call.windows.count > 0 && px > SIZE_MAX / call.windows.count / 4)
    throw_error(env, "ERR_INVALID_ARG", "native: output size overflows", true);
  const size_t need = call.windows.count * px;
  if (call.type == PixelType::U8) {
    TypedView<uint8_t> out = typed_property<uint8_t>(o, "out");
    if (out.length < need) throw_argument(env, "out", "large enough for every image");
    call.out = out.data;
  } else {
    TypedView<float> out = typed_property<float>(o, "out");
    if (out.length < need) throw_argument(env, "out", "large enough for every image");
    call.out = out.data;
  }
  return call;
}

RasterOutcome run(const CandleColumns& candles, const RasterCall& call, const WindowList& windows,
                  const std::atomic<bool>* cancel) {
  if (call.device == Device::kCuda)
    return cuda::rasterize_cuda(candles, windows, call.shape, call.type, call.out, cancel);
  return rasterize_cpu(candles, windows, call.shape, call.type, call.out, call.threads, cancel);
}

// The JS error for a failed outcome. `candle_offset` maps rebased candle indices back.
Napi::Error outcome_error(Napi::Env env, const RasterOutcome& r, const WindowList& windows,
                          uint32_t seq_len, int64_t candle_offset, int64_t window_base) {
  if (r.status == RasterOutcome::kCancelled) {
    return abort_error(env);
  }
  if (r.status == RasterOutcome::kInvalidPrice) {
    const int64_t start = windows.start(r.window) + candle_offset;
    const int64_t candle = r.bad.candle + candle_offset;
    BadPrice bad = r.bad;
    bad.candle = candle;
    Napi::Error e = Napi::RangeError::New(
        env, describe_bad_window(r.window + static_cast<size_t>(window_base), start, seq_len, bad));
    e.Set("code", Napi::String::New(env, "ERR_OHLC_INVALID_PRICE"));
    e.Set("window", Napi::Number::New(env, static_cast<double>(r.window + window_base)));
    e.Set("candle", Napi::Number::New(env, static_cast<double>(candle)));
    e.Set("field", Napi::String::New(env, price_field_name(r.bad.field)));
    e.Set("value", Napi::Number::New(env, r.bad.value));
    return e;
  }
  Napi::Error e = Napi::Error::New(env, "native: " + r.message);
  e.Set("code", Napi::String::New(env, "ERR_OHLC_NATIVE"));
  return e;
}

Napi::Value Rasterize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw_argument(env, "options", "an object");
  RasterCall call = read_call(info[0].As<Napi::Object>());
  CandleColumns candles{call.open.data, call.high.data, call.low.data, call.close.data,
                        call.open.length};
  // Sync calls start their parallel region from the compute thread as well (one OpenMP team
  // for the whole process); this thread simply waits, as a sync call does anyway.
  RasterOutcome r;
  run_on_compute_thread([&] { r = run(candles, call, call.windows, nullptr); });
  if (r.status != RasterOutcome::kOk)
    throw outcome_error(env, r, call.windows, call.shape.seq_len, 0, call.window_base);
  return env.Undefined();
}

// Runs on a libuv worker thread. The candles it reads are copied (only the span the windows
// cover), so the caller may reuse its arrays at once; `out` is pinned until completion.
class RasterWorker : public Napi::AsyncWorker {
 public:
  RasterWorker(Napi::Function callback, RasterCall call, Napi::Value out,
               std::shared_ptr<std::atomic<bool>> cancel)
      : Napi::AsyncWorker(callback, "ohlc-native:rasterize"),
        call_(std::move(call)),
        out_(out),
        cancel_(std::move(cancel)) {
    windows_ = call_.windows;
    if (windows_.count == 0) return;
    int64_t lo = windows_.start(0), hi = lo;
    if (!call_.starts.empty()) {
      for (int64_t s : call_.starts) {
        lo = s < lo ? s : lo;
        hi = s > hi ? s : hi;
      }
    } else {
      hi = windows_.start(windows_.count - 1);
    }
    offset_ = lo;
    const size_t span = static_cast<size_t>(hi - lo) + call_.shape.seq_len;
    const double* src[4] = {call_.open.data, call_.high.data, call_.low.data, call_.close.data};
    for (int f = 0; f < 4; ++f) copies_[f].assign(src[f] + lo, src[f] + lo + span);
    if (!call_.starts.empty()) {
      for (int64_t& s : call_.starts) s -= lo;
      windows_.starts = call_.starts.data();
    } else {
      windows_.first -= lo;
    }
  }

  void Execute() override {
    CandleColumns candles{copies_[0].data(), copies_[1].data(), copies_[2].data(),
                          copies_[3].data(), copies_[0].size()};
    run_on_compute_thread([&] { outcome_ = run(candles, call_, windows_, cancel_.get()); });
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (outcome_.status == RasterOutcome::kOk) {
      Callback().Call({env.Null()});
    } else {
      napi_value err = outcome_error(env, outcome_, windows_, call_.shape.seq_len, offset_, call_.window_base).Value();
      Callback().Call({err});
    }
  }

 private:
  RasterCall call_;
  PinnedArray out_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  WindowList windows_;
  int64_t offset_ = 0;
  std::vector<double> copies_[4];
  RasterOutcome outcome_;
};

// rasterizeAsync(options, callback) -> cancel(): queues the work and returns a function that
// asks it to stop (the callback then receives an AbortError).
Napi::Value RasterizeAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
    throw_argument(env, "arguments", "(options, callback)");
  Napi::Object opts = info[0].As<Napi::Object>();
  RasterCall call = read_call(opts);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto* worker = new RasterWorker(info[1].As<Napi::Function>(), std::move(call), opts.Get("out"),
                                  cancel);
  worker->Queue();
  return cancel_function(env, cancel);
}

}  // namespace

void InitRaster(Napi::Env env, Napi::Object exports) {
  exports.Set("rasterize", Napi::Function::New(env, Rasterize, "rasterize"));
  exports.Set("rasterizeAsync", Napi::Function::New(env, RasterizeAsync, "rasterizeAsync"));
}

}  // namespace ohlc::binding
