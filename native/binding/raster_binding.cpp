// rasterize(call) and rasterizeAsync(call, done[, progress]) -> cancel(): windows drawn by a
// Rasterizer (kernels/rasterizer.hpp) into the caller's `out`; classifyWindows(call, done) ->
// cancel(): what would become of each window (drawable, or why not), without drawing.
#include <cmath>
#include <memory>
#include <vector>

#include "binding/args.hpp"
#include "binding/bindings.hpp"
#include "binding/compute_thread.hpp"
#include "binding/limits.hpp"
#include "binding/task.hpp"
#include "kernels/raster_jkx.hpp"
#include "kernels/rasterizer.hpp"

namespace ohlc::binding {

RasterSpec read_raster_spec(const Napi::Object& o) {
  Napi::Env env = o.Env();
  const auto layout = o.Get("layout").IsUndefined() ? Layout::kOhlc4px
                                                    : static_cast<Layout>(integer_property(o, "layout", 0, 1));
  const auto seq_len = static_cast<uint32_t>(integer_property(o, "seqLen", limits::kMinSeqLen, limits::kMaxDimension));
  const auto height = static_cast<uint32_t>(integer_property(o, "height", limits::kMinHeight, limits::kMaxDimension));
  const PixelType pixel = integer_property(o, "dtype", 0, 1) == 0 ? PixelType::U8 : PixelType::F32;
  bool volume = false;
  uint32_t ma = 0;
  if (layout == Layout::kJkx) {
    volume = o.Get("volumeStrip").ToBoolean().Value();
    ma = static_cast<uint32_t>(integer_property(o, "ma", 0, limits::kMaxMa));
    if (seq_len < limits::kMinJkxSeqLen || seq_len > limits::kMaxJkxSeqLen)
      throw_argument(env, "seqLen", "2 .. 2^20 for the jkx layout", true);
    if (volume && height < limits::kMinJkxVolumeHeight)
      throw_argument(env, "height", ">= 5 with the volume strip", true);
  }
  const RasterSpec spec = make_spec(layout, seq_len, height, pixel, volume, ma);
  if (spec.shape.pixels() > static_cast<size_t>(limits::kMaxImagePixels))
    throw_argument(env, "seqLen/height", "an image of at most 2^34 pixels", true);
  return spec;
}

namespace {

// Everything one call needs, read from the JS options object.
struct RasterCall {
  std::vector<int64_t> starts;  // empty in stride mode
  WindowBatch batch;
  RasterSpec spec;
  void* out = nullptr;
  int threads = 0;
  Device device = Device::kCpu;
};

// The image rules, candles, windows and (jkx) volume column and history flags of a call.
RasterCall read_windows(const Napi::Object& o) {
  Napi::Env env = o.Env();
  RasterCall call;
  call.spec = read_raster_spec(o);
  TypedView<double> cols[4] = {typed_property<double>(o, "open"), typed_property<double>(o, "high"),
                               typed_property<double>(o, "low"), typed_property<double>(o, "close")};
  const size_t n = cols[0].length;
  for (const auto& c : cols)
    if (c.length != n) throw_argument(env, "open/high/low/close", "of equal length");
  CandleColumns& candles = call.batch.candles;
  candles = CandleColumns{cols[0].data, cols[1].data, cols[2].data, cols[3].data, n};
  if (call.spec.volume || !o.Get("volume").IsUndefined()) {
    TypedView<double> v = typed_property<double>(o, "volume");
    if (v.length != n) throw_argument(env, "volume", "as long as the price columns");
    candles.volume = v.data;
  }

  call.threads = static_cast<int>(integer_property(o, "threads", 0, limits::kMaxThreads));
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
  if (!o.Get("maOk").IsUndefined()) {
    TypedView<uint8_t> m = typed_property<uint8_t>(o, "maOk");
    if (m.length != windows.count) throw_argument(env, "maOk", "count long");
    call.batch.ma_ok = m.data;
  }
  if (!o.Get("maValues").IsUndefined()) {
    TypedView<double> m = typed_property<double>(o, "maValues");
    if (call.spec.layout != Layout::kJkx || m.length != checked_mul(env, windows.count, call.spec.shape.seq_len, "maValues"))
      throw_argument(env, "maValues", "count * seqLen long (jkx layout)");
    call.batch.ma_values = m.data;
  }

  RasterOutcome check = check_raster_arguments(candles, windows, call.spec.shape);
  if (check.status != RasterOutcome::kOk) throw_argument(env, "windows", check.message, true);
  return call;
}

// Where a drawing call draws: the device, and the output (a typed array of the dtype with at
// least count * pixels elements).
void read_out(const Napi::Object& o, RasterCall& call) {
  Napi::Env env = o.Env();
  call.device = integer_property(o, "device", 0, 1) == 0 ? Device::kCpu : Device::kCuda;
  const size_t need = checked_mul(env, call.batch.windows.count, call.spec.shape.pixels(), "out");
  if (call.spec.pixel == PixelType::U8) {
    TypedView<uint8_t> out = typed_property<uint8_t>(o, "out");
    if (out.length < need) throw_argument(env, "out", "large enough for every image", true);
    call.out = out.data;
  } else {
    TypedView<float> out = typed_property<float>(o, "out");
    if (out.length < need) throw_argument(env, "out", "large enough for every image", true);
    call.out = out.data;
  }
}

Napi::Object options_argument(const Napi::CallbackInfo& info, const char* signature) {
  if (info.Length() < 1 || !info[0].IsObject()) throw_argument(info.Env(), "arguments", signature);
  return info[0].As<Napi::Object>();
}

Napi::Value Rasterize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = options_argument(info, "(options)");
  RasterCall call = read_windows(options);
  read_out(options, call);
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

// The candles an async call reads, copied (only the span its windows cover, with the moving
// average's history before it), so the caller may reuse its arrays at once. Window starts are
// rebased onto the copy, keeping their distance from the series' start up to the history (so
// whether a window has its history is unchanged); errors map back.
struct CandleSpan {
  std::vector<double> columns[5];
  std::vector<int64_t> starts;
  std::vector<uint8_t> ma_ok;
  std::vector<double> ma_values;
  WindowBatch batch;
  int64_t offset = 0;

  CandleSpan(const RasterCall& call) {
    batch = call.batch;
    const WindowList& w = call.batch.windows;
    if (w.count == 0) return;
    const StartRange range = start_range(w);
    const int64_t history = call.spec.history();
    const int64_t lo = range.lo > history ? range.lo - history : 0;
    offset = lo;
    const size_t span = static_cast<size_t>(range.hi - lo) + call.spec.shape.seq_len;
    const CandleColumns& c = call.batch.candles;
    const double* src[5] = {c.open, c.high, c.low, c.close, c.volume};
    for (int f = 0; f < 5; ++f)
      if (src[f]) columns[f].assign(src[f] + lo, src[f] + lo + span);
    batch.candles = CandleColumns{columns[0].data(), columns[1].data(), columns[2].data(), columns[3].data(), span,
                                  c.volume ? columns[4].data() : nullptr};
    if (w.starts) {
      starts.assign(w.starts, w.starts + w.count);
      for (int64_t& s : starts) s -= lo;
      batch.windows.starts = starts.data();
    } else {
      batch.windows.first -= lo;
    }
    if (call.batch.ma_ok) {
      ma_ok.assign(call.batch.ma_ok, call.batch.ma_ok + w.count);
      batch.ma_ok = ma_ok.data();
    }
    if (call.batch.ma_values) {
      ma_values.assign(call.batch.ma_values, call.batch.ma_values + w.count * call.spec.shape.seq_len);
      batch.ma_values = ma_values.data();
    }
  }
};

Napi::Value RasterizeAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = options_argument(info, "(options, done[, progress])");
  Napi::Function done = callback_argument(info, 1, "(options, done[, progress])");
  RasterCall call = read_windows(options);
  read_out(options, call);
  auto span = std::make_shared<CandleSpan>(call);
  auto body = [spec = call.spec, device = call.device, threads = call.threads, out = call.out,
               span](TaskContext& ctx) -> ResultFn {
    std::unique_ptr<Rasterizer> r = make_rasterizer(spec, device, threads);
    try {
      r->draw(span->batch, 0, span->batch.windows.count, out, ctx.cancel_flag());
    } catch (const InvalidWindowError& e) {
      BadPrice bad = e.bad;
      if (bad.candle >= 0) bad.candle += span->offset;
      if (e.reason == WindowStatus::kInvalidPrice && spec.layout == Layout::kOhlc4px)
        throw InvalidWindowError(e.window, e.start + span->offset, e.seq_len, bad);
      throw InvalidWindowError(e.window, e.start + span->offset, e.seq_len, e.reason, bad);
    }
    return nullptr;
  };
  return start_task(env, done, info[2], TaskSpec("ohlc-native:rasterize", body, {options.Get("out")}, TaskThread::kCompute));
}

// classifyWindows(call, done): done(null, { status: Uint8Array (WindowStatus per window),
// ma: Float64Array (count * seqLen MA values, jkx with a line only) }). Reads the caller's
// columns only while it runs: the TS layer lends them (ts/native/task.ts).
Napi::Value ClassifyWindows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = options_argument(info, "(options, done)");
  Napi::Function done = callback_argument(info, 1, "(options, done)");
  auto call = std::make_shared<RasterCall>(read_windows(options));
  const bool want_ma = call->spec.layout == Layout::kJkx && call->spec.ma > 0 && options.Get("withMa").ToBoolean().Value();
  auto body = [call, want_ma](TaskContext&) -> ResultFn {
    const size_t n = call->batch.windows.count;
    auto status = std::make_shared<std::vector<WindowStatus>>(n);
    auto ma = std::make_shared<std::vector<double>>(want_ma ? n * call->spec.shape.seq_len : 0);
    std::unique_ptr<Rasterizer> r = make_rasterizer(call->spec, Device::kCpu, call->threads);
    r->classify(call->batch, 0, n, status->data(), want_ma ? ma->data() : nullptr, call->threads);
    return [status, ma](Napi::Env env) -> Napi::Value {
      Napi::Object o = Napi::Object::New(env);
      auto s = Napi::Uint8Array::New(env, status->size());
      for (size_t i = 0; i < status->size(); ++i) s[i] = static_cast<uint8_t>((*status)[i]);
      o.Set("status", s);
      auto m = Napi::Float64Array::New(env, ma->size());
      if (!ma->empty()) std::memcpy(m.Data(), ma->data(), ma->size() * sizeof(double));
      o.Set("ma", m);
      return o;
    };
  };
  std::vector<Napi::Value> keep;
  for (const char* name : {"open", "high", "low", "close", "volume", "starts", "maOk", "maValues"})
    if (!options.Get(name).IsUndefined()) keep.push_back(options.Get(name));
  return start_task(env, done, TaskSpec("ohlc-native:classifyWindows", body, keep, TaskThread::kCompute));
}

}  // namespace

void InitRaster(Napi::Env env, Napi::Object exports) {
  exports.Set("rasterize", Napi::Function::New(env, Rasterize, "rasterize"));
  exports.Set("rasterizeAsync", Napi::Function::New(env, RasterizeAsync, "rasterizeAsync"));
  exports.Set("classifyWindows", Napi::Function::New(env, ClassifyWindows, "classifyWindows"));
}

}  // namespace ohlc::binding
