// parseKlines / parseKlinesAsync: the binding of kernels/klines_csv; inflateMemberAsync /
// parseKlinesMemberAsync: kernels/zip_member, alone or feeding the parser in the same worker.
//   parseKlines(csv: Uint8Array, { name, skipMalformed }) -> result
//   parseKlinesAsync(csv, { name, skipMalformed }, done(err, result)) -> cancel()
//   inflateMemberAsync(archive: Uint8Array, member, done(err, csv: Buffer)) -> cancel()
//   parseKlinesMemberAsync(archive | path, member, { name, skipMalformed, sliceBytes, expectedRows },
//                          done(err, result)) -> cancel()
//   verifyMemberAsync(archive, member, sliceBytes, done(err)) -> cancel()
//   releaseColumns(columns: Float64Array[]) -> number of bytes released
// where member = { archive, name, offset, compressedSize, uncompressedSize, crc32, method }.
// sliceBytes 0 inflates the member whole (libdeflate) and parses the buffer; > 0 inflates it in
// slices of that size (zlib's streaming inflate) into the incremental parser, whose columns are
// reserved for expectedRows: a large member never exists whole in memory.
// The TS layer (ts/data/parse.ts) validates the arguments; these checks only keep native code
// from trusting a bad call.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "binding/args.hpp"
#include "binding/bindings.hpp"
#include "binding/task.hpp"
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
  o.Set("quoteVolume", adopt_float64_array(env, std::move(r.columns.quote_volume)));
  o.Set("rows", Napi::Number::New(env, static_cast<double>(rows)));
  o.Set("header", Napi::Boolean::New(env, r.header));
  o.Set("microsecondRows", Napi::Number::New(env, static_cast<double>(r.micro_rows)));
  o.Set("skipped", Napi::Number::New(env, static_cast<double>(r.skipped)));
  o.Set("firstSkipped", r.skipped > 0 ? Napi::Value(problem_object(env, r.problem)) : env.Null());
  return o;
}

// The failure of a parse: "<archive> line <n>: <what>", with code, file, line and field.
Failure parse_failure(const std::string& name, const KlineParseResult& r) {
  if (r.status == KlineParseResult::kCancelled) return aborted_failure();
  Failure f(Failure::Kind::kError, codes::kMalformedRow, name + " line " + std::to_string(r.problem.line) + ": " + r.problem.message);
  f.with("file", name).with("line", static_cast<double>(r.problem.line));
  if (r.problem.field >= 0) f.with("field", std::string(kline_field_name(r.problem.field)));
  else f.with("field", nullptr);
  return f;
}

// The JS result of a parse that succeeded (or the failure thrown, for the task runner).
ResultFn parse_result(const std::string& name, std::shared_ptr<KlineParseResult> r) {
  if (r->status != KlineParseResult::kOk) throw FailureError(parse_failure(name, *r));
  return [r](Napi::Env env) -> Napi::Value { return result_object(env, *r); };
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
  if (r.status != KlineParseResult::kOk) throw_failure(env, parse_failure(call.name, r));
  return result_object(env, r);
}

// Parses on a libuv worker thread. The input is referenced, not copied: the TS layer
// (ts/data/parse.ts) hands over a buffer it will not touch until `done` runs.
Napi::Value ParseKlinesAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KlinesCall call = read_call(info, 3);
  Napi::Function done = callback_argument(info, 2, "(csv, options, done)");
  auto body = [call](TaskContext& ctx) -> ResultFn {
    return parse_result(call.name, std::make_shared<KlineParseResult>(run(call, ctx.cancel_flag())));
  };
  return start_task(env, done, TaskSpec("ohlc-native:parseKlines", body, {info[0]}));
}

// ---------------------------------------------------------------------------------------------
// ZIP members: the TS layer (ts/data/zip.ts) reads the ZIP structure with yauzl, refuses members
// declaring more than their period can hold, and passes where the data lies and what it declares.
// ---------------------------------------------------------------------------------------------

struct MemberCall {
  TypedView<uint8_t> archive_bytes;  // the archive in memory, or
  std::string archive_path;          // its file (read a block at a time; slices only)
  std::string archive;  // the archive's name, for error messages
  std::string name;     // the member's name, for error messages
  ZipMemberSpec spec;
};


MemberCall read_member(const Napi::CallbackInfo& info, size_t arity) {
  Napi::Env env = info.Env();
  if (info.Length() < arity || !info[1].IsObject()) throw_argument(env, "arguments", "(archive, member, ...)");
  MemberCall m;
  if (info[0].IsString()) {
    m.archive_path = info[0].As<Napi::String>().Utf8Value();
    if (m.archive_path.empty() || m.archive_path.find('\0') != std::string::npos) throw_argument(env, "archive", "a file path");
  } else {
    m.archive_bytes = typed_view<uint8_t>(env, info[0], "archive");
  }
  Napi::Object o = info[1].As<Napi::Object>();
  Napi::Value archive = require_property(o, "archive");
  Napi::Value name = require_property(o, "name");
  if (!archive.IsString()) throw_argument(env, "archive", "a string");
  if (!name.IsString()) throw_argument(env, "name", "a string");
  m.archive = archive.As<Napi::String>().Utf8Value();
  m.name = name.As<Napi::String>().Utf8Value();
  m.spec.data_offset = static_cast<uint64_t>(integer_property(o, "offset", 0, limits::kMaxSafeInteger));
  m.spec.compressed_size = static_cast<uint64_t>(integer_property(o, "compressedSize", 0, limits::kMaxSafeInteger));
  m.spec.uncompressed_size = static_cast<uint64_t>(integer_property(o, "uncompressedSize", 0, limits::kMaxSafeInteger));
  m.spec.crc32 = static_cast<uint32_t>(integer_property(o, "crc32", 0, 0xffffffffLL));
  m.spec.method = static_cast<int32_t>(integer_property(o, "method", 0, 0xffff));
  if (m.spec.uncompressed_size > static_cast<uint64_t>(SIZE_MAX / 2)) throw_argument(env, "uncompressedSize", "addressable");
  return m;
}

// "<archive> is not a usable kline archive: <member> <what>", code ERR_OHLC_ZIP, the same
// wording ts/data/zip.ts uses for what it finds itself.
FailureError zip_failure(const MemberCall& m, const std::string& what) {
  Failure f(Failure::Kind::kError, codes::kZip, m.archive + " is not a usable kline archive: " + m.name + " " + what);
  f.with("file", m.archive).with("member", m.name);
  return FailureError(std::move(f));
}

// The member inflated into exactly its declared size (CRC-32 checked), or a zip failure thrown.
std::unique_ptr<std::vector<uint8_t>> inflate_member(const MemberCall& m) {
  const ZipMemberSpec& spec = m.spec;
  auto csv = std::make_unique<std::vector<uint8_t>>();
  try {
    // At least one byte: the kernel wants a data pointer even for an empty member.
    csv->resize(spec.uncompressed_size > 0 ? static_cast<size_t>(spec.uncompressed_size) : 1);
  } catch (const std::bad_alloc&) {
    throw zip_failure(m, "needs " + std::to_string(spec.uncompressed_size) + " bytes, more than could be allocated");
  }
  const ZipInflateResult r = inflate_zip_member(m.archive_bytes.data, m.archive_bytes.length, spec, csv->data());
  if (r.status != ZipInflateResult::kOk) throw zip_failure(m, describe_zip_inflate(r, spec));
  csv->resize(static_cast<size_t>(spec.uncompressed_size));
  return csv;
}

// A Buffer that owns the vector's storage (copied where external buffers are not allowed).
Napi::Value adopt_buffer(Napi::Env env, std::unique_ptr<std::vector<uint8_t>> bytes) {
  if (bytes->empty()) return Napi::Buffer<uint8_t>::New(env, 0);
  std::vector<uint8_t>* owned = bytes.release();
  try {
    return Napi::Buffer<uint8_t>::New(env, owned->data(), owned->size(),
                                      [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, owned);
  } catch (const Napi::Error&) {
    Napi::Buffer<uint8_t> copy = Napi::Buffer<uint8_t>::Copy(env, owned->data(), owned->size());
    delete owned;
    return copy;
  }
}

// The largest slice a caller may ask for (zlib counts its buffers in 32 bits).
constexpr int64_t kMaxSliceBytes = int64_t{1} << 30;
// The shortest possible kline row: twelve one-digit fields, eleven commas and a line end.
constexpr uint64_t kMinRowBytes = 24;

// The zip failure of a slice-by-slice inflation, or an abort; nothing when it went well.
void check_slices(const MemberCall& m, const ZipInflateResult& r) {
  if (r.status == ZipInflateResult::kCancelled) throw FailureError(aborted_failure());
  if (r.status != ZipInflateResult::kOk) throw zip_failure(m, describe_zip_inflate(r, m.spec));
}

// Inflates the member slice by slice into the incremental parser. The inflation runs to the end
// even after a malformed row stopped the parser, so a damaged member is reported as such (as the
// whole-buffer path, which inflates before it parses, does).
std::shared_ptr<KlineParseResult> parse_member_in_slices(const MemberCall& m, const KlinesCall& call, size_t slice_bytes,
                                                         uint64_t expected_rows, const std::atomic<bool>* cancel) {
  KlineParseOptions options;
  options.skip_malformed = call.skip_malformed;
  options.cancel = cancel;
  // No member can hold more rows than this, whatever the caller expects.
  const uint64_t most = m.spec.uncompressed_size / kMinRowBytes + 1;
  KlineCsvStream stream(options, static_cast<size_t>(std::min(expected_rows, most)));
  std::unique_ptr<ArchiveBytes> archive;
  if (m.archive_path.empty()) archive = std::make_unique<MemoryArchive>(m.archive_bytes.data, m.archive_bytes.length);
  else archive = std::make_unique<FileArchive>(m.archive_path);
  const ZipInflateResult r = inflate_zip_member_slices(
      *archive, m.spec, slice_bytes,
      [&stream](const uint8_t* data, size_t size) { stream.feed(reinterpret_cast<const char*>(data), size); },
      cancel);
  check_slices(m, r);
  return std::make_shared<KlineParseResult>(stream.finish());
}

Napi::Value InflateMemberAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MemberCall member = read_member(info, 3);
  if (!member.archive_path.empty()) throw_argument(env, "archive", "a Uint8Array");
  Napi::Function done = callback_argument(info, 2, "(archive, member, done)");
  auto body = [member](TaskContext&) -> ResultFn {
    auto csv = std::shared_ptr<std::vector<uint8_t>>(inflate_member(member).release());
    return [csv](Napi::Env env) -> Napi::Value {
      return adopt_buffer(env, std::make_unique<std::vector<uint8_t>>(std::move(*csv)));
    };
  };
  return start_task(env, done, TaskSpec("ohlc-native:inflateMember", body, {info[0]}));
}

// Inflates and parses in one task: the CSV never becomes a JS value, and is freed as soon as the
// columns are read.
Napi::Value ParseKlinesMemberAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MemberCall member = read_member(info, 4);
  KlinesCall call = read_call(info, 4, 2);
  Napi::Object o = info[2].As<Napi::Object>();
  const size_t slice_bytes = static_cast<size_t>(integer_property(o, "sliceBytes", 0, kMaxSliceBytes));
  const uint64_t expected_rows = static_cast<uint64_t>(integer_property(o, "expectedRows", 0, limits::kMaxSafeInteger));
  Napi::Function done = callback_argument(info, 3, "(archive, member, options, done)");
  if (!member.archive_path.empty() && slice_bytes == 0) throw_argument(env, "sliceBytes", "> 0 when the archive is a file");
  auto body = [member, call, slice_bytes, expected_rows](TaskContext& ctx) -> ResultFn {
    if (slice_bytes > 0) {
      return parse_result(call.name, parse_member_in_slices(member, call, slice_bytes, expected_rows, ctx.cancel_flag()));
    }
    std::unique_ptr<std::vector<uint8_t>> csv = inflate_member(member);
    ctx.throw_if_cancelled();
    KlineParseOptions options;
    options.skip_malformed = call.skip_malformed;
    options.cancel = ctx.cancel_flag();
    auto parsed = std::make_shared<KlineParseResult>(
        parse_klines_csv(reinterpret_cast<const char*>(csv->data()), csv->size(), options));
    csv.reset();
    return parse_result(call.name, parsed);
  };
  return start_task(env, done, TaskSpec("ohlc-native:parseKlinesMember", body, {info[0]}));
}

// Inflates the member slice by slice and checks its size and CRC-32, keeping nothing: how a large
// member is proven intact before its archive is cached, without ever holding it whole.
Napi::Value VerifyMemberAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MemberCall member = read_member(info, 4);
  if (!member.archive_path.empty()) throw_argument(env, "archive", "a Uint8Array");
  const size_t slice_bytes = static_cast<size_t>(integer_value(env, info[2], "sliceBytes", 1, kMaxSliceBytes));
  Napi::Function done = callback_argument(info, 3, "(archive, member, sliceBytes, done)");
  auto body = [member, slice_bytes](TaskContext& ctx) -> ResultFn {
    check_slices(member, inflate_zip_member_slices(member.archive_bytes.data, member.archive_bytes.length, member.spec,
                                                   slice_bytes, [](const uint8_t*, size_t) {}, ctx.cancel_flag()));
    return [](Napi::Env env) -> Napi::Value { return env.Undefined(); };
  };
  return start_task(env, done, TaskSpec("ohlc-native:verifyMember", body, {info[0]}));
}

// Detaches each array's buffer, so its memory is freed now (the parser's columns are external
// buffers: their vectors go with the last reference), not whenever V8 next collects: a month of
// 1s candles is 150 MB of columns, and the next month is parsed while the last one still awaits
// a collection otherwise. Buffers that cannot be detached are left alone.
Napi::Value ReleaseColumns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw_argument(env, "columns", "an array of Float64Array");
  Napi::Array columns = info[0].As<Napi::Array>();
  double released = 0;
  for (uint32_t i = 0; i < columns.Length(); i++) {
    Napi::Value v = columns.Get(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) throw_argument(env, "columns", "an array of Float64Array");
    Napi::ArrayBuffer buffer = v.As<Napi::TypedArray>().ArrayBuffer();
    if (buffer.IsDetached()) continue;
    const size_t bytes = buffer.ByteLength();
    if (napi_detach_arraybuffer(env, buffer) == napi_ok) released += static_cast<double>(bytes);
    else {
      // A buffer V8 will not detach (not ours): the exception is cleared, the buffer left as is.
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
  }
  return Napi::Number::New(env, released);
}

}  // namespace

void InitKlines(Napi::Env env, Napi::Object exports) {
  exports.Set("releaseColumns", Napi::Function::New(env, ReleaseColumns, "releaseColumns"));
  exports.Set("parseKlines", Napi::Function::New(env, ParseKlines, "parseKlines"));
  exports.Set("parseKlinesAsync", Napi::Function::New(env, ParseKlinesAsync, "parseKlinesAsync"));
  exports.Set("inflateMemberAsync", Napi::Function::New(env, InflateMemberAsync, "inflateMemberAsync"));
  exports.Set("parseKlinesMemberAsync", Napi::Function::New(env, ParseKlinesMemberAsync, "parseKlinesMemberAsync"));
  exports.Set("verifyMemberAsync", Napi::Function::New(env, VerifyMemberAsync, "verifyMemberAsync"));
}

}  // namespace ohlc::binding
