#include "account/voms_proxy.hpp"

#include <cstdint>

#include "core/utf8.hpp"

namespace gpukit {

namespace {

constexpr std::string_view voms_ac_extension = "1.3.6.1.4.1.8005.100.100.5";
constexpr std::string_view voms_fqan_attribute = "1.3.6.1.4.1.8005.100.100.4";
constexpr std::string_view proxy_cert_info = "1.3.6.1.5.5.7.1.14";          // RFC 3820
constexpr std::string_view proxy_cert_info_draft = "1.3.6.1.4.1.3536.1.222";  // GT3 draft proxies
constexpr int max_depth = 24;  // an AC nests about ten levels deep

constexpr unsigned char tag_octet_string = 0x04, tag_oid = 0x06, tag_sequence = 0x30, tag_set = 0x31;

struct Tlv {
  unsigned char tag = 0;
  std::string_view content;
  bool constructed() const { return (tag & 0x20) != 0; }
};

// One DER element at `pos`; nullopt when it runs past the input, uses
// indefinite length or a high tag number (neither occurs in DER certificates).
std::optional<Tlv> read_tlv(std::string_view in, std::size_t& pos) {
  if (pos >= in.size() || in.size() - pos < 2) return std::nullopt;
  auto tag = static_cast<unsigned char>(in[pos++]);
  if ((tag & 0x1f) == 0x1f) return std::nullopt;
  auto first = static_cast<unsigned char>(in[pos++]);
  std::size_t length = first;
  if (first & 0x80) {
    std::size_t bytes = first & 0x7f;
    if (bytes == 0 || bytes > 4 || in.size() - pos < bytes) return std::nullopt;
    length = 0;
    for (std::size_t i = 0; i < bytes; ++i) length = (length << 8) | static_cast<unsigned char>(in[pos++]);
  }
  if (length > in.size() - pos) return std::nullopt;
  Tlv t{tag, in.substr(pos, length)};
  pos += length;
  return t;
}

std::optional<std::vector<Tlv>> children(std::string_view content) {
  std::vector<Tlv> out;
  std::size_t pos = 0;
  while (pos < content.size()) {
    auto t = read_tlv(content, pos);
    if (!t) return std::nullopt;
    out.push_back(*t);
  }
  return out;
}

std::string oid_string(std::string_view der) {
  std::string out;
  std::uint64_t value = 0;
  bool first = true;
  for (char ch : der) {
    auto c = static_cast<unsigned char>(ch);
    if (value > (UINT64_MAX >> 7)) return "";  // an arc no certificate uses
    value = (value << 7) | (c & 0x7f);
    if (c & 0x80) continue;
    if (first) {
      std::uint64_t top = value < 40 ? 0 : value < 80 ? 1 : 2;
      out = std::to_string(top) + "." + std::to_string(value - top * 40);
      first = false;
    } else {
      out += "." + std::to_string(value);
    }
    value = 0;
  }
  return out;
}

std::string attribute_name(const std::string& oid) {
  static const std::pair<std::string_view, std::string_view> names[] = {
      {"2.5.4.3", "CN"}, {"2.5.4.6", "C"}, {"2.5.4.7", "L"}, {"2.5.4.8", "ST"}, {"2.5.4.10", "O"},
      {"2.5.4.11", "OU"}, {"0.9.2342.19200300.100.1.25", "DC"}, {"0.9.2342.19200300.100.1.1", "UID"},
      {"1.2.840.113549.1.9.1", "emailAddress"}};
  for (const auto& [o, n] : names)
    if (o == oid) return std::string(n);
  return oid;
}

// A Name as OpenSSL's one-line form, which is how APEL and HTCondor write DNs.
std::optional<std::string> name_string(const Tlv& name) {
  auto rdns = children(name.content);
  if (!rdns) return std::nullopt;
  std::string out;
  for (const auto& rdn : *rdns) {
    auto attrs = children(rdn.content);
    if (!attrs) return std::nullopt;
    for (const auto& a : *attrs) {
      auto kv = children(a.content);
      if (!kv || kv->size() != 2 || (*kv)[0].tag != tag_oid) return std::nullopt;
      out += "/" + attribute_name(oid_string((*kv)[0].content)) + "=" + valid_utf8((*kv)[1].content);
    }
  }
  return out;
}

struct Certificate {
  std::string subject;
  bool is_proxy = false;
  std::optional<std::string_view> voms_ac;  // the extension's DER
};

std::optional<Certificate> read_certificate(std::string_view der) {
  std::size_t pos = 0;
  auto top = read_tlv(der, pos);
  if (!top || top->tag != tag_sequence) return std::nullopt;
  auto parts = children(top->content);
  if (!parts || parts->empty() || (*parts)[0].tag != tag_sequence) return std::nullopt;
  auto tbs = children((*parts)[0].content);
  if (!tbs) return std::nullopt;
  std::size_t i = !tbs->empty() && (*tbs)[0].tag == 0xa0 ? 1 : 0;  // [0] version
  // serial, signature, issuer, validity, subject, subjectPublicKeyInfo
  if (tbs->size() < i + 6) return std::nullopt;
  auto subject = name_string((*tbs)[i + 4]);
  if (!subject) return std::nullopt;
  Certificate cert{*subject, false, std::nullopt};
  for (std::size_t k = i + 6; k < tbs->size(); ++k) {
    if ((*tbs)[k].tag != 0xa3) continue;  // [3] extensions
    auto seq = children((*tbs)[k].content);
    if (!seq || seq->size() != 1) return std::nullopt;
    auto extensions = children((*seq)[0].content);
    if (!extensions) return std::nullopt;
    for (const auto& e : *extensions) {
      auto fields = children(e.content);
      if (!fields || fields->size() < 2 || (*fields)[0].tag != tag_oid) return std::nullopt;
      std::string oid = oid_string((*fields)[0].content);
      const Tlv& value = fields->back();
      if (value.tag != tag_octet_string) return std::nullopt;
      if (oid == proxy_cert_info || oid == proxy_cert_info_draft) cert.is_proxy = true;
      if (oid == voms_ac_extension) cert.voms_ac = value.content;
    }
  }
  // Legacy (pre-RFC 3820) proxies say so only in their last CN.
  for (std::string_view legacy : {"/CN=proxy", "/CN=limited proxy"})
    if (cert.subject.size() >= legacy.size() && cert.subject.ends_with(legacy)) cert.is_proxy = true;
  return cert;
}

void collect_octet_strings(std::string_view der, int depth, std::vector<std::string>& out);

// The FQANs: OCTET STRINGs starting with '/' in the values of the VOMS
// attribute, wherever in the AC it sits.
void collect_fqans(std::string_view der, int depth, std::vector<std::string>& out) {
  if (depth > max_depth) return;
  auto items = children(der);
  if (!items) return;
  for (const auto& t : *items) {
    if (!t.constructed()) continue;
    auto inner = children(t.content);
    if (!inner) continue;
    if (t.tag == tag_sequence && inner->size() >= 2 && (*inner)[0].tag == tag_oid &&
        oid_string((*inner)[0].content) == voms_fqan_attribute && (*inner)[1].tag == tag_set) {
      collect_octet_strings((*inner)[1].content, depth + 1, out);
      continue;
    }
    collect_fqans(t.content, depth + 1, out);
  }
}

void collect_octet_strings(std::string_view der, int depth, std::vector<std::string>& out) {
  if (depth > max_depth) return;
  auto items = children(der);
  if (!items) return;
  for (const auto& t : *items) {
    if (t.tag == tag_octet_string && !t.content.empty() && t.content[0] == '/') out.push_back(valid_utf8(t.content));
    else if (t.constructed() && t.tag != 0xa0) collect_octet_strings(t.content, depth + 1, out);  // [0] policyAuthority
  }
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=' || c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    else return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

std::vector<std::string> pem_certificates(std::string_view pem) {
  constexpr std::string_view begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = pem.find(begin, pos)) != std::string_view::npos) {
    std::size_t body = pos + begin.size();
    std::size_t stop = pem.find(end, body);
    if (stop == std::string_view::npos) break;
    if (auto der = base64_decode(pem.substr(body, stop - body))) out.push_back(*der);
    pos = stop + end.size();
  }
  return out;
}

// "/DC=org/CN=Jane Doe/CN=1234567/CN=proxy" -> "/DC=org/CN=Jane Doe": the CN
// components a proxy adds (a number in RFC 3820 proxies, "proxy" or "limited
// proxy" in legacy ones), for a file that holds no end-entity certificate.
std::string strip_proxy_cns(std::string dn) {
  for (;;) {
    auto slash = dn.rfind("/CN=");
    if (slash == std::string::npos || slash == 0) return dn;
    std::string_view cn = std::string_view(dn).substr(slash + 4);
    bool digits = !cn.empty() && cn.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits && cn != "proxy" && cn != "limited proxy") return dn;
    dn.erase(slash);
  }
}

}  // namespace

Result<ProxyIdentity> parse_proxy_pem(std::string_view pem) {
  auto ders = pem_certificates(pem);
  if (ders.empty()) return usage_error("holds no PEM certificate");
  std::vector<Certificate> chain;
  for (const auto& der : ders) {
    auto cert = read_certificate(der);
    if (!cert) {
      if (chain.empty()) return usage_error("its first certificate is not DER this reader can walk");
      break;  // the proxy itself was read; a chain certificate we cannot read names nobody
    }
    chain.push_back(*cert);
  }
  ProxyIdentity id;
  for (const auto& c : chain) {
    if (!c.is_proxy) {
      id.subject = c.subject;
      break;
    }
  }
  if (!id.subject) id.subject = strip_proxy_cns(chain.front().subject);
  if (id.subject->empty()) id.subject.reset();
  for (const auto& c : chain) {
    if (!c.voms_ac) continue;
    collect_fqans(*c.voms_ac, 0, id.fqans);
    break;
  }
  return id;
}

}  // namespace gpukit
