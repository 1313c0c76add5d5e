// The bounded, strict reader of documents and JSON inputs (lib/core/document,
// io): every refusal class of issue #11 section 1, and valid_utf8.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "core/document.hpp"
#include "core/io.hpp"
#include "core/utf8.hpp"
#include "test_support.hpp"

using namespace gpukit;

namespace {

std::string nested(int depth, const std::string& open, const std::string& close, const std::string& inner = "1") {
  std::string s;
  for (int i = 0; i < depth; ++i) s += open;
  s += inner;
  for (int i = 0; i < depth; ++i) s += close;
  return s;
}

std::string refusal(std::string_view text, const InputLimits& limits = {}) {
  auto d = Document::parse(text, "in.json", limits);
  if (d.ok()) return "accepted";
  CHECK(d.error().code == ExitCode::usage);
  return d.error().what();
}

}  // namespace

TEST_CASE("document limits: input larger than the limit is refused") {
  InputLimits small;
  small.max_bytes = 32;
  std::string doc = R"({"schema":"gpukit/1","x":"0123456789"})";
  CHECK(refusal(doc, small).find("larger than the input limit of 32 bytes") != std::string::npos);
  CHECK(refusal(doc) == "accepted");

  // read_input_file stops at the limit on an endless input.
  auto zero = read_input_file("/dev/zero", 1 << 20);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error().what() == "/dev/zero: larger than the input limit of 1048576 bytes (raise it with --max-input-size)");
}

TEST_CASE("document limits: nesting deeper than the limit is refused without recursion") {
  const std::string head = R"({"schema":"gpukit/1","x":)";
  // 63 levels under the root object: 64 in all, the limit.
  CHECK(refusal(head + nested(63, "[", "]") + "}") == "accepted");
  std::string too_deep = refusal(head + nested(64, "[", "]") + "}");
  CHECK(too_deep.find("nested deeper than 64 levels") != std::string::npos);
  CHECK(too_deep.find("in.json: /x/0/0/") == 0);
  // A million levels: refused at level 65, long before anything could recurse.
  CHECK(refusal(nested(1000000, R"({"a":)", "}")).find("nested deeper than 64 levels") != std::string::npos);
  CHECK(refusal(head + nested(1000000, "[", "]") + "}").find("nested deeper") != std::string::npos);
}

TEST_CASE("document limits: numbers out of range name their path") {
  CHECK(refusal(R"({"schema":"gpukit/1","gpus":[{"memory_bytes":1e400}]})") ==
        "in.json: /gpus/0/memory_bytes: number out of range (number overflow parsing '1e400')");
  CHECK(refusal(R"({"schema":"gpukit/1","x":-1e400})").find("in.json: /x: number out of range") == 0);
  // Integers past 64 bits become doubles (finite): the typed model range-checks them.
  CHECK(refusal(R"({"schema":"gpukit/1","x":18446744073709551616})") == "accepted");
}

TEST_CASE("document limits: invalid UTF-8, NUL bytes and trailing bytes are refused") {
  CHECK(refusal("{\"schema\":\"gpukit/1\",\"host\":{\"hostname\":\"a\xff\"}}").find("in.json: /host/hostname: invalid JSON") == 0);
  CHECK(refusal("{\"schema\":\"gpukit/1\",\"x\":\"\\ud800\"}").find("invalid JSON") != std::string::npos);
  std::string with_nul = std::string(R"({"schema":"gpukit/1"})") + '\0' + "garbage";
  CHECK(refusal(with_nul) == "in.json: a NUL byte at byte 21 (JSON text holds none)");
  CHECK(refusal(std::string(R"({"schema":"gpukit/1"})") + '\0') == "in.json: a NUL byte at byte 21 (JSON text holds none)");
  CHECK(refusal(R"({"schema":"gpukit/1"} {})").find("invalid JSON at byte") != std::string::npos);
  CHECK(refusal(R"({"schema":"gpukit/1"}x)").find("invalid JSON at byte") != std::string::npos);
  CHECK(refusal("{\"schema\":\"gpukit/1\"}\n  \n") == "accepted");
}

TEST_CASE("document limits: duplicate keys are refused") {
  CHECK(refusal(R"({"schema":"gpukit/1","cpu":{"cores":4,"cores":8}})") ==
        "in.json: /cpu/cores: duplicate key \"cores\"");
  // A large object is checked when it closes.
  std::string many = R"({"schema":"gpukit/1","x":{)";
  for (int i = 0; i < 40; ++i) many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  CHECK(refusal(many + R"("k7":1}})") == "in.json: /x/k7: duplicate key \"k7\"");
  CHECK(refusal(many + R"("k40":1}})") == "accepted");
}

TEST_CASE("document limits: the schema major is parsed strictly") {
  CHECK(refusal(R"({"schema":"gpukit/4294967297"})") ==
        "in.json: /schema: major version 4294967297 is not supported; this gpukit reads \"gpukit/1\"");
  CHECK(refusal(R"({"schema":"gpukit/99999999999999999999999"})").find("is not supported") != std::string::npos);
  CHECK(refusal(R"({"schema":"gpukit/1x"})").find("is not a gpukit schema") != std::string::npos);
  CHECK(refusal(R"({"schema":"gpukit/"})").find("is not a gpukit schema") != std::string::npos);
  CHECK(refusal(R"({"schema":"gpukit/1.7"})") == "accepted");
}

TEST_CASE("document limits: key order and unknown keys are kept") {
  auto d = Document::parse(R"({"schema":"gpukit/1","zeta":{"b":1,"a":[true,null]},"alpha":2})", "in.json");
  REQUIRE(d.ok());
  CHECK(dump_json(d->root()) == R"({"schema":"gpukit/1","zeta":{"b":1,"a":[true,null]},"alpha":2})");
}

TEST_CASE("document limits: output of a deep but allowed document is linear in its size") {
  // Each element is nested to the limit; indentation grows with depth, so the
  // output of one element is bounded, and n elements give n times that.
  auto output_size = [](int n) {
    std::string gpus;
    for (int i = 0; i < n; ++i) gpus += (i ? "," : "") + nested(61, "[", "]");
    std::string text = R"({"schema":"gpukit/1","x":[)" + gpus + "]}";
    auto d = Document::parse(text, "in.json");
    REQUIRE(d.ok());
    return std::make_pair(text.size(), d->dump().size());
  };
  auto [in1, out1] = output_size(100);
  auto [in2, out2] = output_size(200);
  CHECK(out2 < 2 * out1 + 100);
  CHECK(out1 < 200 * in1);  // two spaces per level, at most 64 levels
  (void)in2;
}

TEST_CASE("document limits: serialisation never throws on invalid UTF-8") {
  Document d;
  d.set_section("host", json{{"hostname", std::string("pay\xffload")}});
  std::string out;
  CHECK_NOTHROW(out = d.dump());
  CHECK(out.find("pay\xEF\xBF\xBDload") != std::string::npos);
}

TEST_CASE("utf8: valid_utf8 replaces each bad byte by U+FFFD and keeps good text") {
  CHECK(valid_utf8("plain") == "plain");
  CHECK(valid_utf8("M\xc3\xbcller") == "M\xc3\xbcller");
  CHECK(valid_utf8("M\xfcller") == "M\xEF\xBF\xBDller");
  CHECK(valid_utf8("\xff\xfe") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(valid_utf8("\xc0\xaf") == "\xEF\xBF\xBD\xEF\xBF\xBD");        // overlong '/'
  CHECK(valid_utf8("\xed\xa0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  CHECK(valid_utf8("ab\xe2\x82") == "ab\xEF\xBF\xBD\xEF\xBF\xBD");     // cut short
  CHECK(valid_utf8("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");
  CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK(is_valid_utf8(valid_utf8("x\x80y\xe0\x80z")));
}

TEST_CASE("json: other JSON inputs share the bounded parser") {
  auto deep = parse_json(nested(100000, "[", "]"), "req.json");
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().what().find("req.json: /0/0/") == 0);
  auto scalar = parse_json("42", "x");
  REQUIRE(scalar.ok());
  CHECK(*scalar == 42);
  CHECK_FALSE(parse_json("", "x").ok());
}
