// writeVirtualHdf5(tempPath, sources, metadata, done) -> cancel(): the HDF5 master file of a
// sharded build (storage/hdf5_virtual.hpp), as a task. The TS layer (ts/pipeline/merge.ts) has
// checked the shards and renames the file into place.
#include <string>
#include <vector>

#include "binding/args.hpp"
#include "binding/bindings.hpp"
#include "binding/task.hpp"
#include "storage/hdf5_virtual.hpp"

namespace ohlc::binding {
namespace {

Napi::Value WriteVirtualHdf5(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* signature = "(tempPath, sources, metadata, done)";
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsObject()) throw_argument(env, "arguments", signature);
  Napi::Function done = callback_argument(info, 3, signature);
  Napi::Array list = info[1].As<Napi::Array>();
  std::vector<storage::VirtualSource> sources;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value item = list.Get(i);
    if (!item.IsObject()) throw_argument(env, "sources[i]", "an object { openPath, storedPath }");
    Napi::Object o = item.As<Napi::Object>();
    sources.push_back({string_property(o, "openPath"), string_property(o, "storedPath")});
  }
  if (sources.empty()) throw_argument(env, "sources", "at least one shard", true);
  storage::DatasetMetadata metadata = read_metadata(info[2].As<Napi::Object>());
  auto body = [path = info[0].As<Napi::String>().Utf8Value(), sources, metadata](TaskContext& ctx) -> ResultFn {
    auto r = std::make_shared<storage::VirtualResult>(storage::write_virtual_hdf5(path, sources, metadata, ctx.cancel_flag()));
    ctx.throw_if_cancelled();
    return [r](Napi::Env env) -> Napi::Value {
      Napi::Object o = Napi::Object::New(env);
      o.Set("rows", static_cast<double>(r->rows));
      Napi::Array per = Napi::Array::New(env, r->rows_per_source.size());
      for (size_t k = 0; k < r->rows_per_source.size(); ++k) per.Set(k, static_cast<double>(r->rows_per_source[k]));
      o.Set("rowsPerSource", per);
      Napi::Array names = Napi::Array::New(env, r->datasets.size());
      for (size_t k = 0; k < r->datasets.size(); ++k) names.Set(k, r->datasets[k]);
      o.Set("datasets", names);
      return o;
    };
  };
  return start_task(env, done, TaskSpec("ohlc-native:virtual-hdf5", body));
}

}  // namespace

void InitVirtual(Napi::Env env, Napi::Object exports) {
  exports.Set("writeVirtualHdf5", Napi::Function::New(env, WriteVirtualHdf5, "writeVirtualHdf5"));
}

}  // namespace ohlc::binding
