#include "probe/formats.hpp"

#include "probe/format_support.hpp"

namespace gpukit {

using namespace probe_format;

Result<std::string> render_probe(const Document& document, const std::string& format, const NfdOptions& nfd) {
  if (format != "nfd" && !nfd.is_default())
    return usage_error("--nfd-names, --nfd-mig-strategy and --nfd-expiry are for --format nfd only", "--format " + format);
  if (format == "json") return document.dump();
  if (format != "table" && format != "classad" && format != "nfd" && format != "gres" && format != "cric")
    return usage_error("unknown format '" + format + "'; accepted: json, table, classad, nfd, gres, cric", "--format");
  auto node = read_node_model(document, "node document");
  if (!node) return node.error();
  if (format == "nfd") return render_nfd(*node, nfd);
  if (format == "gres") return render_gres(*node);
  if (format == "cric") return render_cric(*node);
  auto visible = visible_of(document, *node);
  if (!visible) return visible.error();
  if (format == "table") return render_probe_table(*node, *visible);
  return render_classad(*node, *visible);
}

}  // namespace gpukit
