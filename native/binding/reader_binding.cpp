// readDataset(path, format, rows, cb) and decodeJpeg(bytes, cb): file reads and decoding on a
// worker thread; results handed to JS as ArrayBuffers that own the native memory (no copy).
#include <memory>
#include <string>
#include <vector>

#include "binding/args.hpp"
#include "binding/bindings.hpp"
#include "kernels/jpeg_codec.hpp"
#include "storage/reader.hpp"
#include "storage/sink.hpp"

namespace ohlc::binding {
namespace {

Napi::ArrayBuffer take_buffer(Napi::Env env, std::vector<uint8_t>&& bytes) {
  if (bytes.empty()) return Napi::ArrayBuffer::New(env, 0);
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  return Napi::ArrayBuffer::New(env, owned->data(), owned->size(),
                                [](Napi::Env, void*, std::vector<uint8_t>* v) { delete v; }, owned);
}

const char* type_name(storage::ElemType t) {
  switch (t) {
    case storage::ElemType::kU8: return "u8";
    case storage::ElemType::kI8: return "i8";
    case storage::ElemType::kI64: return "i64";
    case storage::ElemType::kF32: return "f32";
    case storage::ElemType::kF64: return "f64";
  }
  return "u8";
}

Napi::Value attribute_value(Napi::Env env, const storage::Attribute& a) {
  switch (a.kind) {
    case storage::Attribute::kInt: return Napi::Number::New(env, static_cast<double>(a.int_value));
    case storage::Attribute::kBool: return Napi::Boolean::New(env, a.int_value != 0);
    case storage::Attribute::kFloat: return Napi::Number::New(env, a.float_value);
    case storage::Attribute::kString: return Napi::String::New(env, a.string_value);
    case storage::Attribute::kIntList: {
      Napi::Array arr = Napi::Array::New(env, a.int_list.size());
      for (size_t i = 0; i < a.int_list.size(); ++i) arr.Set(i, static_cast<double>(a.int_list[i]));
      return arr;
    }
    case storage::Attribute::kFloatList: {
      Napi::Array arr = Napi::Array::New(env, a.float_list.size());
      for (size_t i = 0; i < a.float_list.size(); ++i) arr.Set(i, a.float_list[i]);
      return arr;
    }
  }
  return env.Null();
}

Napi::Error storage_error(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, "ERR_OHLC_STORAGE"));
  return e;
}

class ReadWorker : public Napi::AsyncWorker {
 public:
  ReadWorker(Napi::Function cb, std::string path, std::string format, std::vector<uint64_t> rows)
      : Napi::AsyncWorker(cb, "ohlc-native:read"), path_(std::move(path)), format_(std::move(format)), rows_(std::move(rows)) {}

  void Execute() override {
    try {
      contents_ = format_ == "hdf5" ? storage::read_hdf5(path_, rows_)
                                    : storage::read_npz(path_, rows_, format_ == "npz");
    } catch (const std::exception& e) {
      error_ = e.what();
      failed_ = true;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failed_) {
      Callback().Call({storage_error(env, error_).Value()});
      return;
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("rows", static_cast<double>(contents_.rows));
    Napi::Array arrays = Napi::Array::New(env, contents_.arrays.size());
    for (size_t i = 0; i < contents_.arrays.size(); ++i) {
      storage::ArrayData& a = contents_.arrays[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", a.name);
      o.Set("type", type_name(a.type));
      Napi::Array shape = Napi::Array::New(env, a.shape.size());
      for (size_t d = 0; d < a.shape.size(); ++d) shape.Set(d, static_cast<double>(a.shape[d]));
      o.Set("shape", shape);
      o.Set("data", take_buffer(env, std::move(a.data)));
      arrays.Set(i, o);
    }
    result.Set("arrays", arrays);
    Napi::Object attrs = Napi::Object::New(env);
    for (const auto& a : contents_.attributes) attrs.Set(a.name, attribute_value(env, a));
    result.Set("attributes", attrs);
    result.Set("metadataJson", contents_.metadata_json);
    Callback().Call({env.Null(), result});
  }

 private:
  std::string path_;
  std::string format_;  // hdf5, npz, or npz-arrays (a picture folder's sidecar)
  std::vector<uint64_t> rows_;
  storage::DatasetContents contents_;
  std::string error_;
  bool failed_ = false;
};

Napi::Value ReadDataset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsString() || !info[3].IsFunction())
    throw_argument(env, "arguments", "(path, format, rows, callback)");
  const std::string format = info[1].As<Napi::String>().Utf8Value();
  if (format != "hdf5" && format != "npz" && format != "npz-arrays")
    throw_argument(env, "format", "'hdf5', 'npz' or 'npz-arrays'");
  TypedView<double> rows = typed_view<double>(env, info[2], "rows");
  std::vector<uint64_t> list(rows.length);
  for (size_t i = 0; i < rows.length; ++i) {
    const double v = rows.data[i];
    if (!(v >= 0) || v != std::floor(v) || v > 9007199254740991.0 || (i > 0 && v <= rows.data[i - 1]))
      throw_argument(env, "rows", "sorted, unique, non-negative integers");
    list[i] = static_cast<uint64_t>(v);
  }
  (new ReadWorker(info[3].As<Napi::Function>(), info[0].As<Napi::String>().Utf8Value(), format,
                  std::move(list)))->Queue();
  return env.Undefined();
}

class JpegWorker : public Napi::AsyncWorker {
 public:
  JpegWorker(Napi::Function cb, Napi::Value bytes, const uint8_t* data, size_t size)
      : Napi::AsyncWorker(cb, "ohlc-native:jpeg"), pin_(bytes), data_(data), size_(size) {}
  void Execute() override { ok_ = jpeg::decode_gray(data_, size_, gray_, &height_, &width_, &error_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (!ok_) {
      Callback().Call({storage_error(env, error_).Value()});
      return;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("height", height_);
    o.Set("width", width_);
    o.Set("pixels", take_buffer(env, std::move(gray_)));
    Callback().Call({env.Null(), o});
  }

 private:
  PinnedArray pin_;
  const uint8_t* data_;
  size_t size_;
  std::vector<uint8_t> gray_;
  uint32_t height_ = 0, width_ = 0;
  std::string error_;
  bool ok_ = false;
};

Napi::Value DecodeJpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsFunction()) throw_argument(env, "arguments", "(bytes, callback)");
  TypedView<uint8_t> bytes = typed_view<uint8_t>(env, info[0], "bytes");
  (new JpegWorker(info[1].As<Napi::Function>(), info[0], bytes.data, bytes.length))->Queue();
  return env.Undefined();
}

}  // namespace

void InitReader(Napi::Env env, Napi::Object exports) {
  exports.Set("readDataset", Napi::Function::New(env, ReadDataset, "readDataset"));
  exports.Set("decodeJpeg", Napi::Function::New(env, DecodeJpeg, "decodeJpeg"));
}

}  // namespace ohlc::binding
