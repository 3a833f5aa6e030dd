// parseKlines / parseKlinesAsync: the binding of kernels/klines_csv.
//   parseKlines(csv: Uint8Array, { name, skipMalformed }) -> result
//   parseKlinesAsync(csv, { name, skipMalformed }, callback(err, result)) -> cancel()
// The TS layer (ts/data/parse.ts) validates the arguments; these checks only keep native code
// from trusting a bad call.
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "binding/args.hpp"
#include "binding/bindings.hpp"
#include "kernels/klines_csv.hpp"

namespace ohlc::binding {
namespace {

struct KlinesCall {
  TypedView<uint8_t> csv;
  std::string name;  // the archive, for error messages
  bool skip_malformed = false;
};

KlinesCall read_call(const Napi::CallbackInfo& info, size_t arity) {
  Napi::Env env = info.Env();
  if (info.Length() < arity || !info[1].IsObject()) throw_argument(env, "arguments", "(csv, options[, callback])");
  KlinesCall call;
  call.csv = typed_view<uint8_t>(env, info[0], "csv");
  Napi::Object o = info[1].As<Napi::Object>();
  Napi::Value name = require_property(o, "name");
  if (!name.IsString()) throw_argument(env, "name", "a string");
  call.name = name.As<Napi::String>().Utf8Value();
  Napi::Value skip = require_property(o, "skipMalformed");
  if (!skip.IsBoolean()) throw_argument(env, "skipMalformed", "a boolean");
  call.skip_malformed = skip.As<Napi::Boolean>().Value();
  return call;
}

Napi::Float64Array to_float64_array(Napi::Env env, const std::vector<double>& v) {
  Napi::Float64Array a = Napi::Float64Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(double));
  return a;
}

Napi::Object problem_object(Napi::Env env, const KlineProblem& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("line", Napi::Number::New(env, static_cast<double>(p.line)));
  o.Set("field", p.field >= 0 ? Napi::Value(Napi::String::New(env, kline_field_name(p.field))) : env.Null());
  o.Set("message", Napi::String::New(env, p.message));
  return o;
}

Napi::Object result_object(Napi::Env env, const KlineParseResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("openTime", to_float64_array(env, r.columns.open_time));
  o.Set("open", to_float64_array(env, r.columns.open));
  o.Set("high", to_float64_array(env, r.columns.high));
  o.Set("low", to_float64_array(env, r.columns.low));
  o.Set("close", to_float64_array(env, r.columns.close));
  o.Set("volume", to_float64_array(env, r.columns.volume));
  o.Set("rows", Napi::Number::New(env, static_cast<double>(r.columns.size())));
  o.Set("header", Napi::Boolean::New(env, r.header));
  o.Set("microsecondRows", Napi::Number::New(env, static_cast<double>(r.micro_rows)));
  o.Set("skipped", Napi::Number::New(env, static_cast<double>(r.skipped)));
  o.Set("firstSkipped", r.skipped > 0 ? Napi::Value(problem_object(env, r.problem)) : env.Null());
  return o;
}

// The error for a failed parse: "<archive> line <n>: <what>", with code, file, line and field.
Napi::Error failure_error(Napi::Env env, const std::string& name, const KlineParseResult& r) {
  if (r.status == KlineParseResult::kCancelled) {
    Napi::Error e = Napi::Error::New(env, "The operation was aborted");
    e.Set("name", Napi::String::New(env, "AbortError"));
    e.Set("code", Napi::String::New(env, "ABORT_ERR"));
    return e;
  }
  Napi::Error e = Napi::Error::New(env, name + " line " + std::to_string(r.problem.line) + ": " + r.problem.message);
  e.Set("code", Napi::String::New(env, "ERR_OHLC_MALFORMED_ROW"));
  e.Set("file", Napi::String::New(env, name));
  e.Set("line", Napi::Number::New(env, static_cast<double>(r.problem.line)));
  e.Set("field", r.problem.field >= 0 ? Napi::Value(Napi::String::New(env, kline_field_name(r.problem.field))) : env.Null());
  return e;
}

KlineParseResult run(const KlinesCall& call, const std::atomic<bool>* cancel) {
  KlineParseOptions options;
  options.skip_malformed = call.skip_malformed;
  options.cancel = cancel;
  return parse_klines_csv(reinterpret_cast<const char*>(call.csv.data), call.csv.length, options);
}

Napi::Value ParseKlines(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KlinesCall call = read_call(info, 2);
  KlineParseResult r = run(call, nullptr);
  if (r.status != KlineParseResult::kOk) throw failure_error(env, call.name, r);
  return result_object(env, r);
}

// Parses on a libuv worker thread. The input is pinned, not copied: the caller hands over a
// buffer it will not touch until the callback runs (ts/data/parse.ts owns it).
class KlinesWorker : public Napi::AsyncWorker {
 public:
  KlinesWorker(Napi::Function callback, KlinesCall call, Napi::Value csv,
               std::shared_ptr<std::atomic<bool>> cancel)
      : Napi::AsyncWorker(callback, "ohlc-native:parseKlines"),
        call_(std::move(call)),
        csv_(csv),
        cancel_(std::move(cancel)) {}

  void Execute() override { result_ = run(call_, cancel_.get()); }

  void OnOK() override {
    Napi::Env env = Env();
    if (result_.status == KlineParseResult::kOk) {
      Napi::Object o = result_object(env, result_);
      result_ = KlineParseResult();  // the columns now live in JS; free the native copy early
      Callback().Call({env.Null(), o});
    } else {
      Callback().Call({failure_error(env, call_.name, result_).Value(), env.Undefined()});
    }
  }

 private:
  KlinesCall call_;
  PinnedArray csv_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  KlineParseResult result_;
};

Napi::Value ParseKlinesAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KlinesCall call = read_call(info, 3);
  if (!info[2].IsFunction()) throw_argument(env, "callback", "a function");
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto* worker = new KlinesWorker(info[2].As<Napi::Function>(), std::move(call), info[0], cancel);
  worker->Queue();
  return Napi::Function::New(env, [cancel](const Napi::CallbackInfo& ci) {
    cancel->store(true);
    return ci.Env().Undefined();
  }, "cancel");
}

}  // namespace

void InitKlines(Napi::Env env, Napi::Object exports) {
  exports.Set("parseKlines", Napi::Function::New(env, ParseKlines, "parseKlines"));
  exports.Set("parseKlinesAsync", Napi::Function::New(env, ParseKlinesAsync, "parseKlinesAsync"));
}

}  // namespace ohlc::binding
