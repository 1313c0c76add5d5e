// Errors as values: library code returns Result<T>; only a tool's main maps an
// Error to an exit status and a line on stderr.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace gpukit {

// The exit codes of every tool (ARCHITECTURE.md section 4, man 7 gpukit).
enum class ExitCode : int {
  success = 0,
  negative = 1,     // a negative answer: no fit, validation failed, threshold not met
  usage = 2,        // bad flag, bad JSON, wrong schema, unreadable file
  environment = 3,  // a requested device or backend is missing or failed
  deadline = 4,     // a deadline expired
};

struct Error {
  ExitCode code = ExitCode::usage;
  std::string message;  // one line, says what is wrong
  std::string context;  // where: a file, a JSON path, a vendor call and device

  // "context: message", or the message alone.
  std::string what() const { return context.empty() ? message : context + ": " + message; }
};

inline Error usage_error(std::string message, std::string context = {}) {
  return {ExitCode::usage, std::move(message), std::move(context)};
}
inline Error environment_error(std::string message, std::string context = {}) {
  return {ExitCode::environment, std::move(message), std::move(context)};
}
inline Error deadline_error(std::string message, std::string context = {}) {
  return {ExitCode::deadline, std::move(message), std::move(context)};
}

// A small std::expected stand-in: nvcc 13 with g++ 12 has no std::expected, and
// headers the GPU plugins include must compile there.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

  template <class U>
  T value_or(U&& fallback) const& { return ok() ? value() : static_cast<T>(std::forward<U>(fallback)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace gpukit
