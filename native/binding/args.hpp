// Argument handling for the binding. The TypeScript layer validates every argument and gives
// users the real error messages; these checks only make sure native code never trusts a value it
// relies on (a bad call throws, it never crashes the process).
#pragma once

#include <napi.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

namespace ohlc::binding {

// Throws a JS error with a `code` property; TS rethrows it with a JS stack.
[[noreturn]] inline void throw_error(Napi::Env env, const std::string& code, const std::string& msg,
                                     bool range = false) {
  Napi::Error err = range ? Napi::Error(Napi::RangeError::New(env, msg))
                          : Napi::Error(Napi::TypeError::New(env, msg));
  err.Set("code", Napi::String::New(env, code));
  throw err;
}

[[noreturn]] inline void throw_argument(Napi::Env env, const std::string& name,
                                        const std::string& expected) {
  throw_error(env, "ERR_INVALID_ARG", "native: expected " + name + " to be " + expected);
}

inline Napi::Value require_property(const Napi::Object& obj, const char* name) {
  Napi::Value v = obj.Get(name);
  if (v.IsUndefined()) throw_argument(obj.Env(), name, "present");
  return v;
}

// A finite integral number within [lo, hi].
inline int64_t integer_property(const Napi::Object& obj, const char* name, int64_t lo, int64_t hi) {
  Napi::Value v = require_property(obj, name);
  if (!v.IsNumber()) throw_argument(obj.Env(), name, "a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(lo) ||
      d > static_cast<double>(hi))
    throw_argument(obj.Env(), name,
                   "an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  return static_cast<int64_t>(d);
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
template <> inline napi_typedarray_type typed_array_kind<int32_t>() { return napi_int32_array; }
template <> inline napi_typedarray_type typed_array_kind<int64_t>() { return napi_bigint64_array; }

template <typename T>
TypedView<T> typed_view(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsTypedArray()) throw_argument(env, name, "a typed array");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != typed_array_kind<T>()) throw_argument(env, name, "another typed array kind");
  TypedView<T> view;
  view.length = ta.ElementLength();
  // An empty or detached array has no usable data pointer; callers check lengths first.
  if (view.length > 0) {
    Napi::ArrayBuffer buf = ta.ArrayBuffer();
    view.data = reinterpret_cast<T*>(static_cast<uint8_t*>(buf.Data()) + ta.ByteOffset());
  }
  return view;
}

template <typename T>
TypedView<T> typed_property(const Napi::Object& obj, const char* name) {
  return typed_view<T>(obj.Env(), require_property(obj, name), name);
}

// a * b, or a TypeError naming `what` when the product does not fit in size_t (a length check
// against a wrapped product would let native code read past an array).
inline size_t checked_mul(Napi::Env env, size_t a, size_t b, const char* what) {
  if (a != 0 && b > SIZE_MAX / a) throw_argument(env, what, "sizes whose byte count fits in memory");
  return a * b;
}

// The error an aborted operation reports (TS maps it to the caller's AbortSignal reason).
inline Napi::Error abort_error(Napi::Env env) {
  Napi::Error e = Napi::Error::New(env, "The operation was aborted");
  e.Set("name", Napi::String::New(env, "AbortError"));
  e.Set("code", Napi::String::New(env, "ABORT_ERR"));
  return e;
}

// The function an async call returns: calling it asks the work to stop (checked between
// windows or images; the callback then receives an AbortError).
inline Napi::Function cancel_function(Napi::Env env, std::shared_ptr<std::atomic<bool>> flag) {
  return Napi::Function::New(
      env,
      [flag](const Napi::CallbackInfo& info) {
        flag->store(true);
        return info.Env().Undefined();
      },
      "cancel");
}

// Keeps a typed array alive (and its address stable) while a worker thread uses it.
class PinnedArray {
 public:
  PinnedArray() = default;
  PinnedArray(Napi::Value v) : ref_(Napi::Persistent(v.As<Napi::Object>())) {}
  bool empty() const { return ref_.IsEmpty(); }

 private:
  Napi::ObjectReference ref_;
};

}  // namespace ohlc::binding
