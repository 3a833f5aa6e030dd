// Module entry: registers every binding and describes the build (`info()`).
#include <napi.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "binding/bindings.hpp"
#include "cuda/raster_cuda.hpp"
#include "kernels/raster.hpp"
#include "ohlc_source_hash.h"

namespace ohlc::binding {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("sourceHash", OHLC_SOURCE_HASH);
  o.Set("openmp", have_openmp());
  o.Set("threads", default_thread_count());
  const cuda::DeviceInfo& dev = cuda::probe();
  Napi::Object c = Napi::Object::New(env);
  c.Set("compiled", dev.compiled);
  c.Set("available", dev.available);
  c.Set("device", dev.device);
  c.Set("name", dev.name);
  c.Set("reason", dev.reason);
  c.Set("memoryBytes", static_cast<double>(dev.memory_bytes));
  c.Set("multiprocessors", dev.multiprocessors);
  c.Set("computeCapability", std::to_string(dev.compute_major) + "." + std::to_string(dev.compute_minor));
  o.Set("cuda", c);
  return o;
}

}  // namespace

AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace ohlc::binding

// glibc raises its mmap threshold (up to 32 MiB) each time an mmapped block is freed, after which
// blocks of that size come from the heap and stay in the process when freed. The addon's big
// blocks (a month's parsed columns, 20 MB each for 1s candles; image slices) are freed and made
// again month after month: fixed at 4 MiB, they stay mmapped, and a freed month leaves the
// process's memory at once instead of lingering beside the next one.
static void keep_large_blocks_mapped() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
}

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  using namespace ohlc::binding;
  keep_large_blocks_mapped();
  env.SetInstanceData(new AddonData());
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  InitRaster(env, exports);
  InitWriter(env, exports);
  InitReader(env, exports);
  InitKlines(env, exports);
  InitVirtual(env, exports);
  return exports;
}

NODE_API_MODULE(ohlc_native, InitAddon)
