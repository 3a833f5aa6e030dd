// Each binding file registers its exports through one of these; addon.cpp calls them all.
#pragma once

#include <napi.h>

#include "kernels/rasterizer.hpp"
#include "storage/layout.hpp"

namespace ohlc::binding {

// Per-environment state (worker threads each load the addon into their own environment).
struct AddonData {
  Napi::FunctionReference writer_constructor;
};
AddonData& addon_data(Napi::Env env);

// The image rules of a call or a writer: layout, seqLen, height, dtype, and the jkx layout's
// volumeStrip and ma (raster_binding.cpp).
RasterSpec read_raster_spec(const Napi::Object& o);

// The metadata of a close or a merge: { json, attributes: [{ name, kind, value }] } (writer_binding.cpp).
storage::DatasetMetadata read_metadata(const Napi::Object& o);

void InitRaster(Napi::Env env, Napi::Object exports);
void InitWriter(Napi::Env env, Napi::Object exports);
void InitReader(Napi::Env env, Napi::Object exports);
void InitKlines(Napi::Env env, Napi::Object exports);
void InitVirtual(Napi::Env env, Napi::Object exports);

}  // namespace ohlc::binding
