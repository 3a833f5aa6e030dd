// The one way native code reports a failure to JS: a code from the package's table (ErrorCode in
// ts/errors.ts), a message, the JS error class, and detail fields (window, candle, file, param…).
// Sync bindings throw it at once; async tasks carry it back to the JS thread (binding/task.hpp).
// ts/native/task.ts turns it into the package's own errors, with a JS stack.
#pragma once

#include <napi.h>

#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "kernels/rasterizer.hpp"

namespace ohlc::binding {

// The codes native code uses; each is a value of ErrorCode in ts/errors.ts (test/limits.test.ts
// checks that).
namespace codes {
constexpr const char* kInvalidArgument = "ERR_INVALID_ARG_VALUE";
constexpr const char* kAborted = "ABORT_ERR";
constexpr const char* kInvalidPrice = "ERR_OHLC_INVALID_PRICE";
constexpr const char* kInvalidVolume = "ERR_OHLC_INVALID_VOLUME";
constexpr const char* kUndrawable = "ERR_OHLC_UNDRAWABLE";
constexpr const char* kMalformedRow = "ERR_OHLC_MALFORMED_ROW";
constexpr const char* kZip = "ERR_OHLC_ZIP";
constexpr const char* kStorage = "ERR_OHLC_STORAGE";
constexpr const char* kNative = "ERR_OHLC_NATIVE";
}  // namespace codes

struct Failure {
  enum class Kind { kError, kTypeError, kRangeError };
  using Value = std::variant<std::nullptr_t, double, std::string>;

  Kind kind = Kind::kError;
  std::string code = codes::kNative;
  std::string message;
  std::vector<std::pair<std::string, Value>> fields;

  Failure() = default;
  Failure(Kind kind, std::string code, std::string message)
      : kind(kind), code(std::move(code)), message(std::move(message)) {}
  Failure& with(std::string name, Value value) {
    fields.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// Throwing this from a task or a binding fails with exactly its Failure.
class FailureError : public std::exception {
 public:
  explicit FailureError(Failure f) : failure_(std::move(f)) {}
  const Failure& failure() const { return failure_; }
  const char* what() const noexcept override { return failure_.message.c_str(); }

 private:
  Failure failure_;
};

// A bad argument: `param` names it as the TS layer passed it, `expected` says what it must be.
Failure argument_failure(const std::string& param, const std::string& expected, bool range = false);
Failure aborted_failure();
// "window W (candles a..b): candle i has high = NaN; prices must be finite and > 0", with
// window, candle, field and value.
Failure invalid_price_failure(const InvalidWindowError& e);

// The Failure for the exception being handled; call only inside a catch block.
Failure current_failure();

Napi::Error to_js_error(Napi::Env env, const Failure& f);
[[noreturn]] void throw_failure(Napi::Env env, const Failure& f);

}  // namespace ohlc::binding
