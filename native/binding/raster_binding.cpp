// rasterize(call) and rasterizeAsync(call, done[, progress]) -> cancel(): windows drawn by a
// Rasterizer (kernels/rasterizer.hpp) into the caller's `out`.
#include <memory>
#include <vector>

#include "binding/args.hpp"
#include "binding/bindings.hpp"
#include "binding/compute_thread.hpp"
#include "binding/task.hpp"
#include "kernels/rasterizer.hpp"

namespace ohlc::binding {
namespace {

// Everything one call needs, read from the JS options object.
struct RasterCall {
  CandleColumns candles;
  std::vector<int64_t> starts;  // empty in stride mode
  WindowBatch batch;
  RasterSpec spec;
  void* out = nullptr;
  int threads = 0;
  Device device = Device::kCpu;
};

RasterCall read_call(const Napi::Object& o) {
  Napi::Env env = o.Env();
  RasterCall call;
  TypedView<double> cols[4] = {typed_property<double>(o, "open"), typed_property<double>(o, "high"),
                               typed_property<double>(o, "low"), typed_property<double>(o, "close")};
  const size_t n = cols[0].length;
  for (const auto& c : cols)
    if (c.length != n) throw_argument(env, "open/high/low/close", "of equal length");
  call.candles = CandleColumns{cols[0].data, cols[1].data, cols[2].data, cols[3].data, n};

  call.spec.shape.seq_len = static_cast<uint32_t>(integer_property(o, "seqLen", limits::kMinSeqLen, limits::kMaxDimension));
  call.spec.shape.height = static_cast<uint32_t>(integer_property(o, "height", limits::kMinHeight, limits::kMaxDimension));
  call.spec.pixel = integer_property(o, "dtype", 0, 1) == 0 ? PixelType::U8 : PixelType::F32;
  call.threads = static_cast<int>(integer_property(o, "threads", 0, limits::kMaxThreads));
  call.device = integer_property(o, "device", 0, 1) == 0 ? Device::kCpu : Device::kCuda;
  const int64_t count = integer_property(o, "count", 0, limits::kMaxSafeInteger);
  if (!o.Get("windowBase").IsUndefined())
    call.batch.window_base = static_cast<size_t>(integer_property(o, "windowBase", 0, limits::kMaxSafeInteger));

  WindowList& windows = call.batch.windows;
  Napi::Value starts = o.Get("starts");
  if (!starts.IsNull() && !starts.IsUndefined()) {
    TypedView<double> s = typed_view<double>(env, starts, "starts");
    if (s.length != static_cast<size_t>(count)) throw_argument(env, "starts", "count long");
    call.starts.resize(s.length);
    for (size_t i = 0; i < s.length; ++i) {
      const double v = s.data[i];
      if (!(v >= 0 && v <= static_cast<double>(limits::kMaxSafeInteger)) || v != std::floor(v))
        throw_argument(env, "starts", "non-negative integers", true);
      call.starts[i] = static_cast<int64_t>(v);
    }
    windows.starts = call.starts.data();
  } else {
    windows.first = integer_property(o, "first", 0, limits::kMaxSafeInteger);
    windows.stride = integer_property(o, "stride", 1, limits::kMaxSafeInteger);
  }
  windows.count = static_cast<size_t>(count);

  RasterOutcome check = check_raster_arguments(call.candles, windows, call.spec.shape);
  if (check.status != RasterOutcome::kOk) throw_argument(env, "windows", check.message, true);

  // The output: a typed array of the dtype with at least count * pixels elements.
  const size_t need = checked_mul(env, windows.count, call.spec.shape.pixels(), "out");
  if (call.spec.pixel == PixelType::U8) {
    TypedView<uint8_t> out = typed_property<uint8_t>(o, "out");
    if (out.length < need) throw_argument(env, "out", "large enough for every image", true);
    call.out = out.data;
  } else {
    TypedView<float> out = typed_property<float>(o, "out");
    if (out.length < need) throw_argument(env, "out", "large enough for every image", true);
    call.out = out.data;
  }
  call.batch.candles = call.candles;
  return call;
}

Napi::Object options_argument(const Napi::CallbackInfo& info, const char* signature) {
  if (info.Length() < 1 || !info[0].IsObject()) throw_argument(info.Env(), "arguments", signature);
  return info[0].As<Napi::Object>();
}

Napi::Value Rasterize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RasterCall call = read_call(options_argument(info, "(options)"));
  try {
    std::unique_ptr<Rasterizer> r = make_rasterizer(call.spec, call.device, call.threads);
    // Sync calls start their parallel region from the compute thread too (one OpenMP team for
    // the whole process); this thread simply waits, as a sync call does anyway.
    run_on_compute_thread([&] { r->draw(call.batch, 0, call.batch.windows.count, call.out, nullptr); });
  } catch (...) {
    throw_failure(env, current_failure());
  }
  return env.Undefined();
}

// The candles an async call reads, copied (only the span its windows cover), so the caller may
// reuse its arrays at once. Window starts are rebased onto the copy; errors map back.
struct CandleSpan {
  std::vector<double> columns[4];
  std::vector<int64_t> starts;
  WindowBatch batch;
  int64_t offset = 0;

  CandleSpan(const RasterCall& call) {
    batch = call.batch;
    const WindowList& w = call.batch.windows;
    if (w.count == 0) return;
    const StartRange range = start_range(w);
    const int64_t lo = range.lo;
    offset = lo;
    const size_t span = static_cast<size_t>(range.hi - lo) + call.spec.shape.seq_len;
    const double* src[4] = {call.candles.open, call.candles.high, call.candles.low, call.candles.close};
    for (int f = 0; f < 4; ++f) columns[f].assign(src[f] + lo, src[f] + lo + span);
    batch.candles = CandleColumns{columns[0].data(), columns[1].data(), columns[2].data(), columns[3].data(), span};
    if (w.starts) {
      starts.assign(w.starts, w.starts + w.count);
      for (int64_t& s : starts) s -= lo;
      batch.windows.starts = starts.data();
    } else {
      batch.windows.first -= lo;
    }
  }
};

Napi::Value RasterizeAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = options_argument(info, "(options, done[, progress])");
  Napi::Function done = callback_argument(info, 1, "(options, done[, progress])");
  RasterCall call = read_call(options);
  auto span = std::make_shared<CandleSpan>(call);
  auto body = [spec = call.spec, device = call.device, threads = call.threads, out = call.out,
               span](TaskContext& ctx) -> ResultFn {
    std::unique_ptr<Rasterizer> r = make_rasterizer(spec, device, threads);
    try {
      r->draw(span->batch, 0, span->batch.windows.count, out, ctx.cancel_flag());
    } catch (const InvalidWindowError& e) {
      BadPrice bad = e.bad;
      bad.candle += span->offset;
      throw InvalidWindowError(e.window, e.start + span->offset, e.seq_len, bad);
    }
    return nullptr;
  };
  return start_task(env, done, info[2], TaskSpec("ohlc-native:rasterize", body, {options.Get("out")}, TaskThread::kCompute));
}

}  // namespace

void InitRaster(Napi::Env env, Napi::Object exports) {
  exports.Set("rasterize", Napi::Function::New(env, Rasterize, "rasterize"));
  exports.Set("rasterizeAsync", Napi::Function::New(env, RasterizeAsync, "rasterizeAsync"));
}

}  // namespace ohlc::binding
