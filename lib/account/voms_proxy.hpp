// What a grid proxy says about its owner, for the accounting identity: the
// owner's DN (the end-entity subject, without the proxy's own CN components)
// and the FQANs of the VOMS attribute certificate it carries.
//
// The proxy is PEM (the proxy certificate, its key, then the chain); the VOMS
// attribute certificate is the extension 1.3.6.1.4.1.8005.100.100.5 of the
// proxy certificate, its FQANs the OCTET STRING values of the attribute
// 1.3.6.1.4.1.8005.100.100.4 (IetfAttrSyntax, RFC 3281 and the VOMS AC
// format, OGF GFD.182). A bounded DER reader of our own reads them: no crypto
// library is linked for it and nothing is verified (the batch system or the
// CE verified the proxy; accounting only names its owner).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace gpukit {

struct ProxyIdentity {
  std::optional<std::string> subject;  // "/DC=org/DC=example/CN=Jane Doe", OpenSSL's one-line form
  std::vector<std::string> fqans;      // in the order the AC lists them; the first is the primary
};

// A usage error when the text holds no certificate or the first one is not
// DER a certificate reader can walk.
Result<ProxyIdentity> parse_proxy_pem(std::string_view pem);

}  // namespace gpukit
