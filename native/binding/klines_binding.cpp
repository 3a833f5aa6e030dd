// parseKlines / parseKlinesAsync: the binding of kernels/klines_csv; inflateMemberAsync /
// parseKlinesMemberAsync: kernels/zip_member, alone or feeding the parser in the same worker.
//   parseKlines(csv: Uint8Array, { name, skipMalformed }) -> result
//   parseKlinesAsync(csv, { name, skipMalformed }, callback(err, result)) -> cancel()
//   inflateMemberAsync(archive: Uint8Array, member, callback(err, csv: Buffer))
//   parseKlinesMemberAsync(archive, member, { name, skipMalformed }, callback(err, result)) -> cancel()
// where member = { archive, name, offset, compressedSize, uncompressedSize, crc32, method }.
// The TS layer (ts/data/parse.ts) validates the arguments; these checks only keep native code
// from trusting a bad call.
#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "binding/args.hpp"
#include "binding/bindings.hpp"
#include "kernels/klines_csv.hpp"
#include "kernels/zip_member.hpp"

namespace ohlc::binding {
namespace {

struct KlinesCall {
  TypedView<uint8_t> csv;
  std::string name;  // the archive, for error messages
  bool skip_malformed = false;
};

KlinesCall read_call(const Napi::CallbackInfo& info, size_t arity, size_t at = 1) {
  Napi::Env env = info.Env();
  if (info.Length() < arity || !info[at].IsObject())
    throw_argument(env, "arguments", at == 1 ? "(csv, options[, callback])" : "(archive, member, options, callback)");
  KlinesCall call;
  if (at == 1) call.csv = typed_view<uint8_t>(env, info[0], "csv");
  Napi::Object o = info[at].As<Napi::Object>();
  Napi::Value name = require_property(o, "name");
  if (!name.IsString()) throw_argument(env, "name", "a string");
  call.name = name.As<Napi::String>().Utf8Value();
  Napi::Value skip = require_property(o, "skipMalformed");
  if (!skip.IsBoolean()) throw_argument(env, "skipMalformed", "a boolean");
  call.skip_malformed = skip.As<Napi::Boolean>().Value();
  return call;
}

// Hands a column to JS without copying it: the ArrayBuffer adopts the vector's storage and frees
// it when collected. Where external buffers are not allowed (some embedders), it is copied.
Napi::Float64Array adopt_float64_array(Napi::Env env, std::vector<double>&& v) {
  const size_t n = v.size();
  if (n > 0) {
    auto* owned = new std::vector<double>(std::move(v));
    try {
      Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(
          env, owned->data(), n * sizeof(double),
          [](Napi::Env, void*, std::vector<double>* column) { delete column; }, owned);
      return Napi::Float64Array::New(env, n, buf, 0);
    } catch (const Napi::Error&) {
      v = std::move(*owned);
      delete owned;
    }
  }
  Napi::Float64Array a = Napi::Float64Array::New(env, n);
  if (n > 0) std::memcpy(a.Data(), v.data(), n * sizeof(double));
  return a;
}

Napi::Object problem_object(Napi::Env env, const KlineProblem& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("line", Napi::Number::New(env, static_cast<double>(p.line)));
  o.Set("field", p.field >= 0 ? Napi::Value(Napi::String::New(env, kline_field_name(p.field))) : env.Null());
  o.Set("message", Napi::String::New(env, p.message));
  return o;
}

// The result for JS; the columns move into it (r.columns is left empty).
Napi::Object result_object(Napi::Env env, KlineParseResult& r) {
  Napi::Object o = Napi::Object::New(env);
  const size_t rows = r.columns.size();
  o.Set("openTime", adopt_float64_array(env, std::move(r.columns.open_time)));
  o.Set("open", adopt_float64_array(env, std::move(r.columns.open)));
  o.Set("high", adopt_float64_array(env, std::move(r.columns.high)));
  o.Set("low", adopt_float64_array(env, std::move(r.columns.low)));
  o.Set("close", adopt_float64_array(env, std::move(r.columns.close)));
  o.Set("volume", adopt_float64_array(env, std::move(r.columns.volume)));
  o.Set("rows", Napi::Number::New(env, static_cast<double>(rows)));
  o.Set("header", Napi::Boolean::New(env, r.header));
  o.Set("microsecondRows", Napi::Number::New(env, static_cast<double>(r.micro_rows)));
  o.Set("skipped", Napi::Number::New(env, static_cast<double>(r.skipped)));
  o.Set("firstSkipped", r.skipped > 0 ? Napi::Value(problem_object(env, r.problem)) : env.Null());
  return o;
}

// The error for a failed parse: "<archive> line <n>: <what>", with code, file, line and field.
Napi::Error failure_error(Napi::Env env, const std::string& name, const KlineParseResult& r) {
  if (r.status == KlineParseResult::kCancelled) {
    return abort_error(env);
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
  return cancel_function(env, cancel);
}

// ---------------------------------------------------------------------------------------------
// ZIP members: the TS layer (ts/data/zip.ts) reads the ZIP structure with yauzl, refuses members
// declaring more than their period can hold, and passes where the data lies and what it declares.
// ---------------------------------------------------------------------------------------------

struct MemberCall {
  TypedView<uint8_t> archive_bytes;
  std::string archive;  // the archive's name, for error messages
  std::string name;     // the member's name, for error messages
  ZipMemberSpec spec;
};

constexpr int64_t kMaxSafeInteger = 9007199254740991;

MemberCall read_member(const Napi::CallbackInfo& info, size_t arity) {
  Napi::Env env = info.Env();
  if (info.Length() < arity || !info[1].IsObject()) throw_argument(env, "arguments", "(archive, member, ...)");
  MemberCall m;
  m.archive_bytes = typed_view<uint8_t>(env, info[0], "archive");
  Napi::Object o = info[1].As<Napi::Object>();
  Napi::Value archive = require_property(o, "archive");
  Napi::Value name = require_property(o, "name");
  if (!archive.IsString()) throw_argument(env, "archive", "a string");
  if (!name.IsString()) throw_argument(env, "name", "a string");
  m.archive = archive.As<Napi::String>().Utf8Value();
  m.name = name.As<Napi::String>().Utf8Value();
  m.spec.data_offset = static_cast<uint64_t>(integer_property(o, "offset", 0, kMaxSafeInteger));
  m.spec.compressed_size = static_cast<uint64_t>(integer_property(o, "compressedSize", 0, kMaxSafeInteger));
  m.spec.uncompressed_size = static_cast<uint64_t>(integer_property(o, "uncompressedSize", 0, kMaxSafeInteger));
  m.spec.crc32 = static_cast<uint32_t>(integer_property(o, "crc32", 0, 0xffffffffLL));
  m.spec.method = static_cast<int32_t>(integer_property(o, "method", 0, 0xffff));
  if (m.spec.uncompressed_size > static_cast<uint64_t>(SIZE_MAX / 2)) throw_argument(env, "uncompressedSize", "addressable");
  return m;
}

// "<archive> is not a usable kline archive: <member> <what>", code ERR_OHLC_ZIP, the same
// wording ts/data/zip.ts uses for what it finds itself.
Napi::Error zip_error(Napi::Env env, const MemberCall& m, const std::string& what) {
  Napi::Error e = Napi::Error::New(env, m.archive + " is not a usable kline archive: " + m.name + " " + what);
  e.Set("code", Napi::String::New(env, "ERR_OHLC_ZIP"));
  e.Set("file", Napi::String::New(env, m.archive));
  e.Set("member", Napi::String::New(env, m.name));
  return e;
}

std::string allocation_failure(const ZipMemberSpec& spec) {
  return "needs " + std::to_string(spec.uncompressed_size) + " bytes, more than could be allocated";
}

// Inflates into a Buffer allocated here, on the main thread, at exactly the declared size; the
// worker fills it. Archive and output are pinned for the worker's lifetime.
class InflateMemberWorker : public Napi::AsyncWorker {
 public:
  InflateMemberWorker(Napi::Function callback, MemberCall member, Napi::Value archive, Napi::Buffer<uint8_t> out)
      : Napi::AsyncWorker(callback, "ohlc-native:inflateMember"),
        member_(std::move(member)),
        archive_(archive),
        out_(Napi::Persistent(out)),
        out_data_(out.Data()) {}

  void Execute() override {
    result_ = inflate_zip_member(member_.archive_bytes.data, member_.archive_bytes.length, member_.spec, out_data_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (result_.status == ZipInflateResult::kOk) {
      const bool empty = member_.spec.uncompressed_size == 0;
      Callback().Call({env.Null(), empty ? Napi::Buffer<uint8_t>::New(env, 0) : out_.Value()});
    } else {
      Callback().Call({zip_error(env, member_, describe_zip_inflate(result_, member_.spec)).Value(), env.Undefined()});
    }
  }

 private:
  MemberCall member_;
  PinnedArray archive_;
  Napi::Reference<Napi::Buffer<uint8_t>> out_;
  uint8_t* out_data_;
  ZipInflateResult result_;
};

Napi::Value InflateMemberAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MemberCall member = read_member(info, 3);
  if (!info[2].IsFunction()) throw_argument(env, "callback", "a function");
  const size_t size = static_cast<size_t>(member.spec.uncompressed_size);
  // At least one byte: the kernel wants a data pointer even for an empty member.
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, size > 0 ? size : 1);
  auto* worker = new InflateMemberWorker(info[2].As<Napi::Function>(), std::move(member), info[0], out);
  worker->Queue();
  return env.Undefined();
}

// Inflates and parses in one worker: the CSV never becomes a JS value, and is freed as soon as
// the columns are read.
class MemberKlinesWorker : public Napi::AsyncWorker {
 public:
  MemberKlinesWorker(Napi::Function callback, MemberCall member, KlinesCall call, Napi::Value archive,
                     std::shared_ptr<std::atomic<bool>> cancel)
      : Napi::AsyncWorker(callback, "ohlc-native:parseKlinesMember"),
        member_(std::move(member)),
        call_(std::move(call)),
        archive_(archive),
        cancel_(std::move(cancel)) {}

  void Execute() override {
    const ZipMemberSpec& spec = member_.spec;
    std::unique_ptr<uint8_t[]> csv(new (std::nothrow) uint8_t[spec.uncompressed_size > 0 ? spec.uncompressed_size : 1]);
    if (!csv) {
      out_of_memory_ = true;
      return;
    }
    inflated_ = inflate_zip_member(member_.archive_bytes.data, member_.archive_bytes.length, spec, csv.get());
    if (inflated_.status != ZipInflateResult::kOk) return;
    KlineParseOptions options;
    options.skip_malformed = call_.skip_malformed;
    options.cancel = cancel_.get();
    if (cancel_->load()) {
      parsed_.status = KlineParseResult::kCancelled;
      return;
    }
    parsed_ = parse_klines_csv(reinterpret_cast<const char*>(csv.get()), static_cast<size_t>(spec.uncompressed_size), options);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (out_of_memory_) {
      Callback().Call({zip_error(env, member_, allocation_failure(member_.spec)).Value(), env.Undefined()});
    } else if (inflated_.status != ZipInflateResult::kOk) {
      Callback().Call({zip_error(env, member_, describe_zip_inflate(inflated_, member_.spec)).Value(), env.Undefined()});
    } else if (parsed_.status != KlineParseResult::kOk) {
      Callback().Call({failure_error(env, call_.name, parsed_).Value(), env.Undefined()});
    } else {
      Napi::Object o = result_object(env, parsed_);
      Callback().Call({env.Null(), o});
    }
  }

 private:
  MemberCall member_;
  KlinesCall call_;
  PinnedArray archive_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  bool out_of_memory_ = false;
  ZipInflateResult inflated_;
  KlineParseResult parsed_;
};

Napi::Value ParseKlinesMemberAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MemberCall member = read_member(info, 4);
  KlinesCall call = read_call(info, 4, 2);
  if (!info[3].IsFunction()) throw_argument(env, "callback", "a function");
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto* worker = new MemberKlinesWorker(info[3].As<Napi::Function>(), std::move(member), std::move(call), info[0], cancel);
  worker->Queue();
  return cancel_function(env, cancel);
}

}  // namespace

void InitKlines(Napi::Env env, Napi::Object exports) {
  exports.Set("parseKlines", Napi::Function::New(env, ParseKlines, "parseKlines"));
  exports.Set("parseKlinesAsync", Napi::Function::New(env, ParseKlinesAsync, "parseKlinesAsync"));
  exports.Set("inflateMemberAsync", Napi::Function::New(env, InflateMemberAsync, "inflateMemberAsync"));
  exports.Set("parseKlinesMemberAsync", Napi::Function::New(env, ParseKlinesMemberAsync, "parseKlinesMemberAsync"));
}

}  // namespace ohlc::binding
