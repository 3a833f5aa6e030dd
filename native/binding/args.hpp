// Reading arguments in the binding. The TypeScript layer validates every argument and gives users
// the real error messages; these checks only make sure native code never trusts a value it relies
// on (a bad call throws a TypeError/RangeError with code and param, it never crashes the process).
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "binding/failure.hpp"
#include "binding/limits.hpp"

namespace ohlc::binding {

[[noreturn]] inline void throw_argument(Napi::Env env, const std::string& name, const std::string& expected,
                                        bool range = false) {
  throw_failure(env, argument_failure(name, expected, range));
}

inline Napi::Value require_property(const Napi::Object& obj, const char* name) {
  Napi::Value v = obj.Get(name);
  if (v.IsUndefined()) throw_argument(obj.Env(), name, "present");
  return v;
}

// A finite integral number within [lo, hi].
inline int64_t integer_value(Napi::Env env, Napi::Value v, const std::string& name, int64_t lo, int64_t hi) {
  if (!v.IsNumber()) throw_argument(env, name, "a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi))
    throw_argument(env, name, "an integer in " + std::to_string(lo) + ".." + std::to_string(hi), true);
  return static_cast<int64_t>(d);
}

inline int64_t integer_property(const Napi::Object& obj, const char* name, int64_t lo, int64_t hi) {
  return integer_value(obj.Env(), require_property(obj, name), name, lo, hi);
}

inline std::string string_property(const Napi::Object& o, const char* name) {
  Napi::Value v = require_property(o, name);
  if (!v.IsString()) throw_argument(o.Env(), name, "a string");
  return v.As<Napi::String>().Utf8Value();
}

template <typename T>
struct TypedView {
  T* data = nullptr;
  size_t length = 0;
};

template <typename T>
napi_typedarray_type typed_array_kind();
template <> inline napi_typedarray_type typed_array_kind<double>() { return napi_float64_array; }
template <> inline napi_typedarray_type typed_array_kind<float>() { return napi_float32_array; }
template <> inline napi_typedarray_type typed_array_kind<uint8_t>() { return napi_uint8_array; }
template <> inline napi_typedarray_type typed_array_kind<int8_t>() { return napi_int8_array; }
template <> inline napi_typedarray_type typed_array_kind<uint16_t>() { return napi_uint16_array; }
template <> inline napi_typedarray_type typed_array_kind<int32_t>() { return napi_int32_array; }
template <> inline napi_typedarray_type typed_array_kind<int64_t>() { return napi_bigint64_array; }

// A typed array of T on an ordinary, attached ArrayBuffer (a SharedArrayBuffer or a detached
// buffer is refused: neither can be held still while another thread uses it).
template <typename T>
TypedView<T> typed_view(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsTypedArray()) throw_argument(env, name, "a typed array");
  napi_typedarray_type kind;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &kind, &length, &data, &buffer, &offset) != napi_ok)
    throw_argument(env, name, "a readable typed array");
  if (kind != typed_array_kind<T>()) throw_argument(env, name, "another typed array kind");
  bool is_array_buffer = false;
  napi_is_arraybuffer(env, buffer, &is_array_buffer);
  if (!is_array_buffer) throw_argument(env, name, "a typed array on an ArrayBuffer (not a SharedArrayBuffer)");
  bool detached = false;
  napi_is_detached_arraybuffer(env, buffer, &detached);
  if (detached) throw_argument(env, name, "a typed array whose buffer is not detached");
  TypedView<T> view;
  view.length = length;
  // An empty array has no usable data pointer; callers check lengths first.
  if (length > 0) view.data = static_cast<T*>(data);
  return view;
}

template <typename T>
TypedView<T> typed_property(const Napi::Object& obj, const char* name) {
  return typed_view<T>(obj.Env(), require_property(obj, name), name);
}

// a * b, or a TypeError naming `what` when the product does not fit in size_t (a length check
// against a wrapped product would let native code read past an array).
inline size_t checked_mul(Napi::Env env, size_t a, size_t b, const char* what) {
  if (a != 0 && b > SIZE_MAX / a) throw_argument(env, what, "sizes whose byte count fits in memory", true);
  return a * b;
}

}  // namespace ohlc::binding
