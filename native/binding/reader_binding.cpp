// readDataset(path, format, rows, { images }, done) and decodeJpeg(bytes, done), each -> cancel(): file reads
// and decoding as tasks; results handed to JS as ArrayBuffers that own the native memory (no copy).
#include <memory>
#include <string>
#include <vector>

#include "binding/args.hpp"
#include "binding/bindings.hpp"
#include "binding/task.hpp"
#include "kernels/jpeg_codec.hpp"
#include "storage/digest.hpp"
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
    case storage::ElemType::kU16: return "u16";
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
    case storage::Attribute::kStringList: {
      Napi::Array arr = Napi::Array::New(env, a.string_list.size());
      for (size_t i = 0; i < a.string_list.size(); ++i) arr.Set(i, a.string_list[i]);
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

Napi::Object contents_object(Napi::Env env, storage::DatasetContents& contents) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("rows", static_cast<double>(contents.rows));
  Napi::Array arrays = Napi::Array::New(env, contents.arrays.size());
  for (size_t i = 0; i < contents.arrays.size(); ++i) {
    storage::ArrayData& a = contents.arrays[i];
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
  for (const auto& a : contents.attributes) attrs.Set(a.name, attribute_value(env, a));
  result.Set("attributes", attrs);
  result.Set("metadataJson", contents.metadata_json);
  return result;
}

Napi::Value ReadDataset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* signature = "(path, format, rows, options, done)";
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsString() || !info[3].IsObject()) throw_argument(env, "arguments", signature);
  Napi::Function done = callback_argument(info, 4, signature);
  const bool images = info[3].As<Napi::Object>().Get("images").ToBoolean().Value();
  const std::string format = info[1].As<Napi::String>().Utf8Value();
  if (format != "hdf5" && format != "npz" && format != "npz-arrays")
    throw_argument(env, "format", "'hdf5', 'npz' or 'npz-arrays'", true);
  TypedView<double> rows = typed_view<double>(env, info[2], "rows");
  std::vector<uint64_t> list(rows.length);
  for (size_t i = 0; i < rows.length; ++i) {
    const double v = rows.data[i];
    if (!(v >= 0) || v != std::floor(v) || v > static_cast<double>(limits::kMaxSafeInteger) || (i > 0 && v <= rows.data[i - 1]))
      throw_argument(env, "rows", "sorted, unique, non-negative integers", true);
    list[i] = static_cast<uint64_t>(v);
  }
  // format: hdf5, npz, or npz-arrays (a picture folder's sidecar)
  auto body = [path = info[0].As<Napi::String>().Utf8Value(), format, list, images](TaskContext&) -> ResultFn {
    auto contents = std::make_shared<storage::DatasetContents>(
        format == "hdf5" ? storage::read_hdf5(path, list, images) : storage::read_npz(path, list, format == "npz", images));
    return [contents](Napi::Env env) -> Napi::Value { return contents_object(env, *contents); };
  };
  return start_task(env, done, TaskSpec("ohlc-native:read", body));
}

// digestDataset(path, format, done) -> cancel(): the content digest of an HDF5 or NPZ file,
// recomputed from what is stored (storage/digest.hpp).
Napi::Value DigestDataset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* signature = "(path, format, done)";
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) throw_argument(env, "arguments", signature);
  Napi::Function done = callback_argument(info, 2, signature);
  const std::string format = info[1].As<Napi::String>().Utf8Value();
  if (format != "hdf5" && format != "npz") throw_argument(env, "format", "'hdf5' or 'npz'", true);
  auto body = [path = info[0].As<Napi::String>().Utf8Value(), format](TaskContext&) -> ResultFn {
    auto d = std::make_shared<storage::ContentDigest>(format == "hdf5" ? storage::digest_hdf5(path) : storage::digest_npz(path));
    return [d](Napi::Env env) -> Napi::Value {
      Napi::Object o = Napi::Object::New(env);
      o.Set("contentSha256", d->content);
      Napi::Object arrays = Napi::Object::New(env);
      for (const auto& [name, hex] : d->arrays) arrays.Set(name, hex);
      o.Set("arrays", arrays);
      return o;
    };
  };
  return start_task(env, done, TaskSpec("ohlc-native:digest", body));
}

Napi::Value DecodeJpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Function done = callback_argument(info, 1, "(bytes, done)");
  TypedView<uint8_t> bytes = typed_view<uint8_t>(env, info[0], "bytes");
  auto body = [bytes](TaskContext&) -> ResultFn {
    auto gray = std::make_shared<std::vector<uint8_t>>();
    uint32_t height = 0, width = 0;
    std::string error;
    if (!jpeg::decode_gray(bytes.data, bytes.length, *gray, &height, &width, &error))
      throw FailureError(Failure(Failure::Kind::kError, codes::kStorage, error));
    return [gray, height, width](Napi::Env env) -> Napi::Value {
      Napi::Object o = Napi::Object::New(env);
      o.Set("height", height);
      o.Set("width", width);
      o.Set("pixels", take_buffer(env, std::move(*gray)));
      return o;
    };
  };
  return start_task(env, done, TaskSpec("ohlc-native:jpeg", body, {info[0]}));
}

}  // namespace

void InitReader(Napi::Env env, Napi::Object exports) {
  exports.Set("readDataset", Napi::Function::New(env, ReadDataset, "readDataset"));
  exports.Set("decodeJpeg", Napi::Function::New(env, DecodeJpeg, "decodeJpeg"));
  exports.Set("digestDataset", Napi::Function::New(env, DigestDataset, "digestDataset"));
}

}  // namespace ohlc::binding
