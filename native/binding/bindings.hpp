// Each binding file registers its exports through one of these; addon.cpp calls them all.
#pragma once

#include <napi.h>

namespace ohlc::binding {

void InitRaster(Napi::Env env, Napi::Object exports);

}  // namespace ohlc::binding
