#include "binding/failure.hpp"

#include <new>

#include "kernels/raster_jkx.hpp"
#include "storage/sink.hpp"

namespace ohlc::binding {

Failure argument_failure(const std::string& param, const std::string& expected, bool range) {
  Failure f(range ? Failure::Kind::kRangeError : Failure::Kind::kTypeError, codes::kInvalidArgument,
            "native: expected " + param + " to be " + expected);
  f.with("param", param).with("expected", expected);
  return f;
}

Failure aborted_failure() {
  return Failure(Failure::Kind::kError, codes::kAborted, "The operation was aborted").with("name", std::string("AbortError"));
}

Failure invalid_price_failure(const InvalidWindowError& e) {
  const char* code = e.reason == WindowStatus::kInvalidPrice    ? codes::kInvalidPrice
                     : e.reason == WindowStatus::kInvalidVolume ? codes::kInvalidVolume
                                                                : codes::kUndrawable;
  Failure f(Failure::Kind::kRangeError, code, e.what());
  f.with("window", static_cast<double>(e.window)).with("reason", std::string(jkx_status_name(e.reason)));
  if (e.reason != WindowStatus::kFlat)
    f.with("candle", static_cast<double>(e.bad.candle))
        .with("field", std::string(jkx_field_name(e.bad.field)))
        .with("value", e.bad.value);
  return f;
}

Failure current_failure() {
  try {
    throw;
  } catch (const FailureError& e) {
    return e.failure();
  } catch (const CancelledError&) {
    return aborted_failure();
  } catch (const InvalidWindowError& e) {
    return invalid_price_failure(e);
  } catch (const storage::StorageError& e) {
    return Failure(Failure::Kind::kError, codes::kStorage, e.what());
  } catch (const std::bad_alloc&) {
    return Failure(Failure::Kind::kError, codes::kNative, "out of memory");
  } catch (const Napi::Error& e) {
    // A JS error while building a result (e.g. an allocation refused by the engine).
    return Failure(Failure::Kind::kError, codes::kNative, e.Message());
  } catch (const std::exception& e) {
    return Failure(Failure::Kind::kError, codes::kNative, std::string("native: ") + e.what());
  } catch (...) {
    return Failure(Failure::Kind::kError, codes::kNative, "native: unknown failure");
  }
}

Napi::Error to_js_error(Napi::Env env, const Failure& f) {
  Napi::Error e = f.kind == Failure::Kind::kRangeError ? Napi::Error(Napi::RangeError::New(env, f.message))
                  : f.kind == Failure::Kind::kTypeError ? Napi::Error(Napi::TypeError::New(env, f.message))
                                                         : Napi::Error::New(env, f.message);
  e.Set("code", Napi::String::New(env, f.code));
  for (const auto& [name, value] : f.fields) {
    if (std::holds_alternative<double>(value)) e.Set(name, Napi::Number::New(env, std::get<double>(value)));
    else if (std::holds_alternative<std::string>(value)) e.Set(name, Napi::String::New(env, std::get<std::string>(value)));
    else e.Set(name, env.Null());
  }
  return e;
}

void throw_failure(Napi::Env env, const Failure& f) { throw to_js_error(env, f); }

}  // namespace ohlc::binding
