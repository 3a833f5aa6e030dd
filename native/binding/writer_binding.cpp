// openWriter(options, done) -> cancel(), done(err, writer): a NativeDatasetWriter with
// append(batch, done), close(metadata, done) and abort(done), each a task (binding/task.hpp), so
// drawing, compression and file I/O never run on the JS thread. The TS layer validates arguments
// and serialises calls; this file re-checks sizes so native code never reads past an array.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "binding/args.hpp"
#include "binding/bindings.hpp"
#include "binding/task.hpp"
#include "storage/dataset_writer.hpp"
#include "storage/sinks.hpp"

namespace ohlc::binding {
namespace {

using storage::DatasetWriter;

// What one append needs besides the JS arrays it points into (kept alive by the task).
struct AppendInput {
  storage::AppendBatch batch;
  std::vector<int64_t> starts;
  std::vector<int64_t> timestamps;
};

class NativeWriter : public Napi::ObjectWrap<NativeWriter> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "NativeDatasetWriter",
                                     {InstanceMethod("append", &NativeWriter::Append),
                                      InstanceMethod("seal", &NativeWriter::Seal),
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
    // Collected without close(): remove the temporary files rather than leave them behind. (A
    // task in flight keeps this object alive, so no task can still be using the writer here.)
    if (writer_) writer_->abort();
  }

 private:
  static Napi::Value OpenWriter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const char* signature = "(options, done)";
    if (info.Length() < 1 || !info[0].IsObject()) throw_argument(env, "arguments", signature);
    Napi::Function done = callback_argument(info, 1, signature);
    Napi::Object o = info[0].As<Napi::Object>();
    storage::SinkPaths paths;
    paths.final_path = string_property(o, "path");
    paths.temp_path = string_property(o, "tempPath");
    paths.overwrite = o.Get("overwrite").ToBoolean().Value();
    const auto format = static_cast<storage::Format>(integer_property(o, "format", 0, 4));
    const RasterSpec spec = read_raster_spec(o);
    const auto horizons = static_cast<uint32_t>(integer_property(o, "horizons", 0, limits::kMaxHorizons));
    storage::Compression compression;
    compression.level = static_cast<int>(integer_property(o, "compression", -1, limits::kMaxDeflateLevel));
    const int quality = static_cast<int>(integer_property(o, "jpegQuality", limits::kMinQuality, limits::kMaxQuality));
    const int threads = static_cast<int>(integer_property(o, "threads", 0, limits::kMaxThreads));
    const Device device = integer_property(o, "device", 0, 1) == 0 ? Device::kCpu : Device::kCuda;
    storage::OptionalArrays optional;
    optional.symbol_index = o.Get("symbolIndex").ToBoolean().Value();
    optional.split = o.Get("split").ToBoolean().Value();
    // The jkx layout stores what redraws each image: the volumes, and the MA values it drew.
    optional.volumes = spec.layout == Layout::kJkx;
    optional.ma = spec.layout == Layout::kJkx && spec.ma > 0;
    storage::ZarrOptions zarr;
    zarr.format = static_cast<int>(integer_property(o, "zarrFormat", 2, 3));
    zarr.shard_images = static_cast<uint64_t>(integer_property(o, "zarrShardImages", 1, limits::kMaxZarrShardImages));

    auto opened = std::make_shared<std::unique_ptr<DatasetWriter>>();
    auto body = [=](TaskContext&) -> ResultFn {
      storage::DatasetLayout layout =
          storage::make_layout(format, spec.shape, spec.pixel, horizons, compression, quality, optional, zarr);
      if (spec.layout == Layout::kJkx) layout.u8_white = 255;
      std::unique_ptr<Rasterizer> rasterizer = make_rasterizer(spec, device, threads);
      auto sink = storage::make_sink(layout, paths);
      *opened = std::make_unique<DatasetWriter>(std::move(layout), std::move(sink), threads, std::move(rasterizer));
      return [opened](Napi::Env env) -> Napi::Value {
        auto ext = Napi::External<DatasetWriter>::New(env, opened->release());
        return addon_data(env).writer_constructor.New({ext});
      };
    };
    return start_task(env, done, TaskSpec("ohlc-native:openWriter", body));
  }

  DatasetWriter& usable(Napi::Env env) {
    if (!writer_) throw_failure(env, Failure(Failure::Kind::kError, codes::kStorage, "the writer is closed"));
    if (busy_) throw_failure(env, Failure(Failure::Kind::kError, codes::kStorage, "another operation on this writer is in progress"));
    return *writer_;
  }

  // Runs `task` with this writer busy until it settles; `release` drops the writer afterwards.
  Napi::Value run(const Napi::CallbackInfo& info, Napi::Function done, TaskSpec task, bool release) {
    busy_ = true;
    task.keep_alive.push_back(info.This());
    task.on_settled = [this, release] {
      busy_ = false;
      if (release) writer_.reset();
    };
    return start_task(info.Env(), done, std::move(task));
  }

  Napi::Value Append(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const char* signature = "(batch, done)";
    if (info.Length() < 1 || !info[0].IsObject()) throw_argument(env, "arguments", signature);
    Napi::Function done = callback_argument(info, 1, signature);
    Napi::Object b = info[0].As<Napi::Object>();
    DatasetWriter& w = usable(env);
    const storage::DatasetLayout& layout = w.layout();
    const size_t count = static_cast<size_t>(integer_property(b, "count", 0, limits::kMaxSafeInteger));
    const uint32_t len = layout.shape.seq_len;
    const uint32_t k = layout.horizons;

    auto input = std::make_shared<AppendInput>();
    storage::AppendBatch& batch = input->batch;
    batch.count = count;
    // Drawing and compressing on all cores: the compute thread.
    TaskSpec task("ohlc-native:append", nullptr, {}, TaskThread::kCompute);
    auto keep = [&](const char* name) { task.keep_alive.push_back(b.Get(name)); };

    // Two shapes: finished images with their sequences, or candle windows to draw.
    if (!b.Get("images").IsUndefined()) {
      const size_t need = checked_mul(env, count, layout.shape.pixels(), "images");
      if (layout.pixel == PixelType::U8) {
        auto v = typed_property<uint8_t>(b, "images");
        if (v.length < need) throw_argument(env, "images", "count images long", true);
        batch.images = v.data;
      } else {
        auto v = typed_property<float>(b, "images");
        if (v.length < need) throw_argument(env, "images", "count images long", true);
        batch.images = reinterpret_cast<const uint8_t*>(v.data);
      }
      auto s = typed_property<double>(b, "sequences");
      if (s.length < checked_mul(env, count, size_t{len} * 4, "sequences"))
        throw_argument(env, "sequences", "count * seqLen * 4 long", true);
      batch.sequences = s.data;
      keep("images");
      keep("sequences");
      // Finished images bring the rows that redraw them.
      const std::pair<storage::ArrayId, const double**> rows[] = {{storage::kVolumes, &batch.volumes}, {storage::kMa, &batch.ma}};
      for (const auto& [id, target] : rows) {
        if (!layout.has(id)) continue;
        const char* name = id == storage::kVolumes ? "volumes" : "ma";
        auto v = typed_property<double>(b, name);
        if (v.length < checked_mul(env, count, len, name)) throw_argument(env, name, "count * seqLen long", true);
        *target = v.data;
        keep(name);
      }
    } else {
      TypedView<double> cols[4] = {typed_property<double>(b, "open"), typed_property<double>(b, "high"),
                                   typed_property<double>(b, "low"), typed_property<double>(b, "close")};
      const size_t n = cols[0].length;
      for (const auto& c : cols)
        if (c.length != n) throw_argument(env, "open/high/low/close", "of equal length");
      batch.windows.candles = CandleColumns{cols[0].data, cols[1].data, cols[2].data, cols[3].data, n};
      for (const char* name : {"open", "high", "low", "close"}) keep(name);
      if (layout.has(storage::kVolumes)) {
        auto v = typed_property<double>(b, "volume");
        if (v.length != n) throw_argument(env, "volume", "as long as the price columns");
        batch.windows.candles.volume = v.data;
        keep("volume");
      }
      if (!b.Get("maOk").IsUndefined()) {
        auto v = typed_property<uint8_t>(b, "maOk");
        if (v.length < count) throw_argument(env, "maOk", "count long", true);
        batch.windows.ma_ok = v.data;
        keep("maOk");
      }
      auto s = typed_property<double>(b, "starts");
      if (s.length < count) throw_argument(env, "starts", "count long", true);
      input->starts.resize(count);
      for (size_t i = 0; i < count; ++i) {
        const double v = s.data[i];
        if (!(v >= 0) || v != std::floor(v) || v + len > static_cast<double>(n))
          throw_argument(env, "starts", "window starts inside the candles", true);
        input->starts[i] = static_cast<int64_t>(v);
      }
      batch.windows.windows.starts = input->starts.data();
      batch.windows.windows.count = count;
      if (!b.Get("windowBase").IsUndefined())
        batch.windows.window_base = static_cast<size_t>(integer_property(b, "windowBase", 0, limits::kMaxSafeInteger));
    }

    auto ts = typed_property<double>(b, "timestamps");
    if (ts.length < count) throw_argument(env, "timestamps", "count long", true);
    input->timestamps.resize(count);
    for (size_t i = 0; i < count; ++i) {
      const double t = ts.data[i];
      if (!(std::fabs(t) <= static_cast<double>(limits::kMaxSafeInteger)))
        throw_argument(env, "timestamps", "finite integers of ms", true);
      input->timestamps[i] = static_cast<int64_t>(t);
    }
    batch.timestamps = input->timestamps.data();
    if (k > 0) {
      auto lb = typed_property<int8_t>(b, "labels");
      auto rt = typed_property<double>(b, "returns");
      const size_t need = checked_mul(env, count, k, "labels/returns");
      if (lb.length < need || rt.length < need) throw_argument(env, "labels/returns", "count * horizons long", true);
      batch.labels = lb.data;
      batch.returns = rt.data;
      keep("labels");
      keep("returns");
    }

    if (layout.has(storage::kSymbolIndex)) {
      auto v = typed_property<uint16_t>(b, "symbolIndex");
      if (v.length < count) throw_argument(env, "symbolIndex", "count long", true);
      batch.symbol_index = v.data;
      keep("symbolIndex");
    }
    if (layout.has(storage::kSplit)) {
      auto v = typed_property<uint8_t>(b, "split");
      if (v.length < count) throw_argument(env, "split", "count long", true);
      batch.split = v.data;
      keep("split");
    }

    DatasetWriter* writer = &w;
    task.body = [writer, input](TaskContext& ctx) -> ResultFn {
      writer->append(input->batch, ctx.cancel_flag());
      return nullptr;
    };
    return run(info, done, std::move(task), false);
  }

  // seal(done) -> cancel(): the last chunks written; done(null, { contentSha256, arrays: {name: hex} }).
  Napi::Value Seal(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Function done = callback_argument(info, 0, "(done)");
    DatasetWriter* writer = &usable(env);
    auto body = [writer](TaskContext&) -> ResultFn {
      auto digest = std::make_shared<storage::ContentDigest>(writer->seal());
      return [digest](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("contentSha256", digest->content);
        Napi::Object arrays = Napi::Object::New(env);
        for (const auto& [name, hex] : digest->arrays) arrays.Set(name, hex);
        o.Set("arrays", arrays);
        return o;
      };
    };
    return run(info, done, TaskSpec("ohlc-native:seal", body, {}, TaskThread::kCompute), false);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const char* signature = "(metadata, done)";
    if (info.Length() < 1 || !info[0].IsObject()) throw_argument(env, "arguments", signature);
    Napi::Function done = callback_argument(info, 1, signature);
    auto meta = std::make_shared<storage::DatasetMetadata>(read_metadata(info[0].As<Napi::Object>()));
    DatasetWriter* writer = &usable(env);
    auto body = [writer, meta](TaskContext&) -> ResultFn {
      writer->close(*meta);
      return nullptr;
    };
    // Close compresses the last partial chunks on all cores: the compute thread, like appends.
    return run(info, done, TaskSpec("ohlc-native:close", body, {}, TaskThread::kCompute), true);
  }

  Napi::Value Abort(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Function done = callback_argument(info, 0, "(done)");
    if (!writer_) {
      done.Call({env.Null()});
      return Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return i.Env().Undefined(); }, "cancel");
    }
    DatasetWriter* writer = &usable(env);
    auto body = [writer](TaskContext&) -> ResultFn {
      writer->abort();
      return nullptr;
    };
    return run(info, done, TaskSpec("ohlc-native:abort", body), true);
  }

  Napi::Value Rows(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), writer_ ? static_cast<double>(writer_->rows()) : 0);
  }

  std::unique_ptr<DatasetWriter> writer_;
  bool busy_ = false;
};

}  // namespace

storage::DatasetMetadata read_metadata(const Napi::Object& o) {
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
    } else if (kind == "string[]" && v.IsArray()) {
      Napi::Array xs = v.As<Napi::Array>();
      attr.kind = storage::Attribute::kStringList;
      for (uint32_t j = 0; j < xs.Length(); ++j) {
        Napi::Value x = xs.Get(j);
        if (!x.IsString()) throw_argument(env, "attribute " + attr.name, "strings");
        attr.string_list.push_back(x.As<Napi::String>().Utf8Value());
      }
    } else {
      throw_argument(env, "attribute " + attr.name, "a value matching its kind");
    }
    meta.attributes.push_back(std::move(attr));
  }
  return meta;
}

void InitWriter(Napi::Env env, Napi::Object exports) { NativeWriter::Init(env, exports); }

}  // namespace ohlc::binding
