// DatasetWriter binding: openWriter(options, cb) -> NativeWriter with append/close/abort, each an
// AsyncWorker (the compression and file I/O never run on the JS thread). The TS layer validates
// arguments and serialises calls; this file re-checks sizes so native code never reads past an array.
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "binding/args.hpp"
#include "binding/bindings.hpp"
#include "binding/compute_thread.hpp"
#include "storage/dataset_writer.hpp"
#include "storage/sinks.hpp"

namespace ohlc::binding {
namespace {

using storage::DatasetWriter;

class NativeWriter;

std::string string_property(const Napi::Object& o, const char* name) {
  Napi::Value v = require_property(o, name);
  if (!v.IsString()) throw_argument(o.Env(), name, "a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Value make_error(Napi::Env env, const std::exception_ptr& err) {
  try {
    std::rethrow_exception(err);
  } catch (const storage::CancelledError&) {
    return abort_error(env).Value();
  } catch (const storage::InvalidWindowError& ex) {
    Napi::Error e = Napi::RangeError::New(env, ex.what());
    e.Set("code", Napi::String::New(env, "ERR_OHLC_INVALID_PRICE"));
    e.Set("window", Napi::Number::New(env, static_cast<double>(ex.window)));
    e.Set("candle", Napi::Number::New(env, static_cast<double>(ex.bad.candle)));
    e.Set("field", Napi::String::New(env, price_field_name(ex.bad.field)));
    return e.Value();
  } catch (const std::bad_alloc&) {
    Napi::Error e = Napi::Error::New(env, "out of memory");
    e.Set("code", Napi::String::New(env, "ERR_OHLC_STORAGE"));
    return e.Value();
  } catch (const std::exception& ex) {
    Napi::Error e = Napi::Error::New(env, ex.what());
    e.Set("code", Napi::String::New(env, "ERR_OHLC_STORAGE"));
    return e.Value();
  }
}

// Runs `work` on a worker thread; the callback gets (err) or (null, result()).
class TaskWorker : public Napi::AsyncWorker {
 public:
  // `parallel` work (appends: drawing and compressing on all cores) starts its OpenMP region
  // from the compute thread; file-only work (open, close, abort) runs here, so it never holds
  // up other calls' drawing.
  TaskWorker(Napi::Object receiver, Napi::Function cb, std::function<void()> work,
             std::function<Napi::Value(Napi::Env)> result = nullptr, bool parallel = false)
      : Napi::AsyncWorker(receiver, cb, "ohlc-native:storage"),
        work_(std::move(work)),
        result_(std::move(result)),
        parallel_(parallel) {}

  void Execute() override {
    try {
      if (parallel_) run_on_compute_thread(work_);
      else work_();
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    work_ = nullptr;  // releases pinned inputs now, on the JS thread
    if (error_) {
      Callback().Call({make_error(env, error_)});
    } else {
      Callback().Call({env.Null(), result_ ? result_(env) : env.Undefined()});
    }
    if (done_) done_();
  }

  std::function<void()> done_;

 private:
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> result_;
  bool parallel_;
  std::exception_ptr error_;
};

class NativeWriter : public Napi::ObjectWrap<NativeWriter> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "NativeDatasetWriter",
                                     {InstanceMethod("append", &NativeWriter::Append),
                                      InstanceMethod("close", &NativeWriter::Close),
                                      InstanceMethod("abort", &NativeWriter::Abort),
                                      InstanceAccessor("rows", &NativeWriter::Rows, nullptr)});
    addon_data(env).writer_constructor = Napi::Persistent(cls);
    exports.Set("openWriter", Napi::Function::New(env, OpenWriter, "openWriter"));
  }

  NativeWriter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeWriter>(info) {
    if (info.Length() < 1 || !info[0].IsExternal())
      throw_argument(info.Env(), "NativeDatasetWriter", "created through openWriter");
    writer_.reset(info[0].As<Napi::External<DatasetWriter>>().Data());
  }

  ~NativeWriter() override {
    // Collected without close(): remove the temporary files rather than leave them behind.
    if (writer_) writer_->abort();
  }

 private:
  static Napi::Value OpenWriter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
      throw_argument(env, "arguments", "(options, callback)");
    Napi::Object o = info[0].As<Napi::Object>();
    storage::SinkPaths paths;
    paths.final_path = string_property(o, "path");
    paths.temp_path = string_property(o, "tempPath");
    paths.overwrite = o.Get("overwrite").ToBoolean().Value();
    const auto format = static_cast<storage::Format>(integer_property(o, "format", 0, 4));
    ImageShape shape;
    shape.seq_len = static_cast<uint32_t>(integer_property(o, "seqLen", 1, 1 << 24));
    shape.height = static_cast<uint32_t>(integer_property(o, "height", 2, 1 << 24));
    const PixelType pixel = integer_property(o, "dtype", 0, 1) == 0 ? PixelType::U8 : PixelType::F32;
    const auto horizons = static_cast<uint32_t>(integer_property(o, "horizons", 0, 4096));
    storage::Compression compression;
    compression.level = static_cast<int>(integer_property(o, "compression", -1, 12));
    const int quality = static_cast<int>(integer_property(o, "jpegQuality", 1, 100));
    const int threads = static_cast<int>(integer_property(o, "threads", 0, 4096));
    if (shape.pixels() > (size_t{1} << 34)) throw_argument(env, "seqLen/height", "an image under 16 GiB");

    auto holder = std::make_shared<std::unique_ptr<DatasetWriter>>();
    auto* worker = new TaskWorker(
        Napi::Object::New(env), info[1].As<Napi::Function>(),
        [=] {
          storage::DatasetLayout layout =
              storage::make_layout(format, shape, pixel, horizons, compression, quality);
          auto sink = storage::make_sink(layout, paths);
          *holder = std::make_unique<DatasetWriter>(std::move(layout), std::move(sink), threads);
        },
        [holder](Napi::Env env) -> Napi::Value {
          auto ext = Napi::External<DatasetWriter>::New(env, holder->release());
          return addon_data(env).writer_constructor.New({ext});
        });
    worker->Queue();
    return env.Undefined();
  }

  bool begin(Napi::Env env) {
    if (!writer_) throw_error(env, "ERR_OHLC_STORAGE", "the writer is closed");
    if (busy_) throw_error(env, "ERR_OHLC_STORAGE", "another operation on this writer is in progress");
    busy_ = true;
    return true;
  }

  void queue(const Napi::CallbackInfo& info, Napi::Function cb, std::function<void()> work,
             bool release_after = false, bool parallel = false) {
    auto* worker = new TaskWorker(info.This().As<Napi::Object>(), cb, std::move(work), nullptr, parallel);
    worker->done_ = [this, release_after] {
      busy_ = false;
      if (release_after) writer_.reset();
    };
    worker->Queue();
  }

  Napi::Value Append(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
      throw_argument(env, "arguments", "(batch, callback)");
    Napi::Object b = info[0].As<Napi::Object>();
    if (!writer_) throw_error(env, "ERR_OHLC_STORAGE", "the writer is closed");
    const storage::DatasetLayout& layout = writer_->layout();
    const size_t count = static_cast<size_t>(integer_property(b, "count", 0, int64_t{1} << 40));
    const uint32_t len = layout.shape.seq_len;
    const uint32_t k = layout.horizons;

    // Everything the worker reads stays pinned until it finishes.
    auto pins = std::make_shared<std::vector<PinnedArray>>();
    auto batch = std::make_shared<storage::AppendBatch>();
    batch->count = count;
    auto pin = [&](const char* name) { pins->emplace_back(b.Get(name)); };
    auto starts = std::make_shared<std::vector<int64_t>>();

    // Images are given, or drawn here from candle windows; sequences are given, or gathered
    // from the candle windows (which then must be given too).
    const bool has_images = !b.Get("images").IsUndefined();
    const bool has_candles = !b.Get("open").IsUndefined();
    if (has_images) {
      const size_t need = checked_mul(env, count, layout.shape.pixels(), "images");
      if (layout.pixel == PixelType::U8) {
        auto v = typed_property<uint8_t>(b, "images");
        if (v.length < need) throw_argument(env, "images", "count images long");
        batch->images = v.data;
      } else {
        auto v = typed_property<float>(b, "images");
        if (v.length < need) throw_argument(env, "images", "count images long");
        batch->images = reinterpret_cast<const uint8_t*>(v.data);
      }
      pin("images");
    }
    if (!b.Get("sequences").IsUndefined()) {
      auto s = typed_property<double>(b, "sequences");
      if (s.length < checked_mul(env, count, size_t{len} * 4, "sequences"))
        throw_argument(env, "sequences", "count * seqLen * 4 long");
      batch->sequences = s.data;
      pin("sequences");
    }
    if (has_candles) {
      auto o = typed_property<double>(b, "open");
      auto h = typed_property<double>(b, "high");
      auto l = typed_property<double>(b, "low");
      auto c = typed_property<double>(b, "close");
      if (h.length != o.length || l.length != o.length || c.length != o.length)
        throw_argument(env, "open/high/low/close", "of equal length");
      batch->candles = CandleColumns{o.data, h.data, l.data, c.data, o.length};
      for (const char* n : {"open", "high", "low", "close"}) pin(n);
      auto s = typed_property<double>(b, "starts");
      if (s.length < count) throw_argument(env, "starts", "count long");
      starts->resize(count);
      for (size_t i = 0; i < count; ++i) {
        const double v = s.data[i];
        if (!(v >= 0) || v != std::floor(v) || v + len > static_cast<double>(o.length))
          throw_argument(env, "starts", "window starts inside the candles");
        (*starts)[i] = static_cast<int64_t>(v);
      }
      batch->starts = starts->data();
    }
    if (!has_images && !has_candles) throw_argument(env, "batch", "images or candle windows");
    if (!batch->sequences && !has_candles) throw_argument(env, "sequences", "given, or candle windows to take them from");

    auto ts = typed_property<double>(b, "timestamps");
    if (ts.length < count) throw_argument(env, "timestamps", "count long");
    auto timestamps = std::make_shared<std::vector<int64_t>>(count);
    for (size_t i = 0; i < count; ++i) {
      const double t = ts.data[i];
      if (!(std::fabs(t) <= 9007199254740991.0)) throw_argument(env, "timestamps", "finite integers of ms");
      (*timestamps)[i] = static_cast<int64_t>(t);
    }
    batch->timestamps = timestamps->data();
    if (k > 0) {
      auto lb = typed_property<int8_t>(b, "labels");
      auto rt = typed_property<double>(b, "returns");
      const size_t need = checked_mul(env, count, k, "labels/returns");
      if (lb.length < need || rt.length < need)
        throw_argument(env, "labels/returns", "count * horizons long");
      batch->labels = lb.data;
      batch->returns = rt.data;
      pin("labels");
      pin("returns");
    }

    if (!b.Get("windowBase").IsUndefined())
      batch->window_base = static_cast<size_t>(integer_property(b, "windowBase", 0, int64_t{1} << 53));

    auto cancel = std::make_shared<std::atomic<bool>>(false);
    begin(env);
    DatasetWriter* w = writer_.get();
    queue(info, info[1].As<Napi::Function>(), [w, batch, pins, starts, timestamps, cancel] {
      w->append(*batch, cancel.get());
    }, false, true);
    return cancel_function(env, cancel);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
      throw_argument(env, "arguments", "(metadata, callback)");
    auto meta = std::make_shared<storage::DatasetMetadata>(read_metadata(info[0].As<Napi::Object>()));
    begin(env);
    DatasetWriter* w = writer_.get();
    // Close compresses the last partial chunks on all cores: the compute thread, like appends.
    queue(info, info[1].As<Napi::Function>(), [w, meta] { w->close(*meta); }, true, true);
    return env.Undefined();
  }

  Napi::Value Abort(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) throw_argument(env, "arguments", "(callback)");
    if (!writer_) {
      info[0].As<Napi::Function>().Call({env.Null()});
      return env.Undefined();
    }
    begin(env);
    DatasetWriter* w = writer_.get();
    queue(info, info[0].As<Napi::Function>(), [w] { w->abort(); }, true);
    return env.Undefined();
  }

  Napi::Value Rows(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), writer_ ? static_cast<double>(writer_->rows()) : 0);
  }

  static storage::DatasetMetadata read_metadata(const Napi::Object& o) {
    Napi::Env env = o.Env();
    storage::DatasetMetadata meta;
    meta.json = string_property(o, "json");
    Napi::Value list = o.Get("attributes");
    if (!list.IsArray()) throw_argument(env, "attributes", "an array");
    Napi::Array arr = list.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value item = arr.Get(i);
      if (!item.IsObject()) throw_argument(env, "attributes[i]", "an object");
      Napi::Object a = item.As<Napi::Object>();
      storage::Attribute attr;
      attr.name = string_property(a, "name");
      const std::string kind = string_property(a, "kind");
      Napi::Value v = a.Get("value");
      if (kind == "int" && v.IsNumber()) {
        attr.kind = storage::Attribute::kInt;
        attr.int_value = v.As<Napi::Number>().Int64Value();
      } else if (kind == "float" && v.IsNumber()) {
        attr.kind = storage::Attribute::kFloat;
        attr.float_value = v.As<Napi::Number>().DoubleValue();
      } else if (kind == "bool" && v.IsBoolean()) {
        attr.kind = storage::Attribute::kBool;
        attr.int_value = v.As<Napi::Boolean>().Value() ? 1 : 0;
      } else if (kind == "string" && v.IsString()) {
        attr.kind = storage::Attribute::kString;
        attr.string_value = v.As<Napi::String>().Utf8Value();
      } else if ((kind == "int[]" || kind == "float[]") && v.IsArray()) {
        Napi::Array xs = v.As<Napi::Array>();
        attr.kind = kind == "int[]" ? storage::Attribute::kIntList : storage::Attribute::kFloatList;
        for (uint32_t j = 0; j < xs.Length(); ++j) {
          Napi::Value x = xs.Get(j);
          if (!x.IsNumber()) throw_argument(env, "attribute " + attr.name, "numbers");
          if (attr.kind == storage::Attribute::kIntList) attr.int_list.push_back(x.As<Napi::Number>().Int64Value());
          else attr.float_list.push_back(x.As<Napi::Number>().DoubleValue());
        }
      } else {
        throw_argument(env, "attribute " + attr.name, "a value matching its kind");
      }
      meta.attributes.push_back(std::move(attr));
    }
    return meta;
  }

  std::unique_ptr<DatasetWriter> writer_;
  bool busy_ = false;
};

}  // namespace

void InitWriter(Napi::Env env, Napi::Object exports) { NativeWriter::Init(env, exports); }

}  // namespace ohlc::binding
