// Each binding file registers its exports through one of these; addon.cpp calls them all.
#pragma once

#include <napi.h>

namespace ohlc::binding {

// Per-environment state (worker threads each load the addon into their own environment).
struct AddonData {
  Napi::FunctionReference writer_constructor;
};
AddonData& addon_data(Napi::Env env);

void InitRaster(Napi::Env env, Napi::Object exports);
void InitWriter(Napi::Env env, Napi::Object exports);
void InitReader(Napi::Env env, Napi::Object exports);
void InitKlines(Napi::Env env, Napi::Object exports);

}  // namespace ohlc::binding
