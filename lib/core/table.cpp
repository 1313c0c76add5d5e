#include "core/table.hpp"

#include <algorithm>
#include <cctype>

namespace gpukit {

namespace {

// Display width of UTF-8 text: code points, not bytes.
size_t width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

bool numeric(const std::string& s) {
  if (s.empty() || s == "-") return true;
  char c = s[0];
  return std::isdigit(static_cast<unsigned char>(c)) || ((c == '-' || c == '+' || c == '.') && s.size() > 1);
}

void pad(std::string& out, const std::string& cell, size_t w, bool right) {
  size_t fill = w > width(cell) ? w - width(cell) : 0;
  if (right) out.append(fill, ' ');
  out += cell;
  if (!right) out.append(fill, ' ');
}

}  // namespace

std::string Table::render() const {
  size_t ncol = headers_.size();
  std::vector<size_t> w(ncol);
  std::vector<bool> right(ncol, true);
  for (size_t c = 0; c < ncol; ++c) w[c] = width(headers_[c]);
  for (const auto& row : rows_)
    for (size_t c = 0; c < ncol && c < row.size(); ++c) {
      w[c] = std::max(w[c], width(row[c]));
      if (!numeric(row[c])) right[c] = false;
    }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string l;
    for (size_t c = 0; c < ncol; ++c) {
      if (c) l += "  ";
      pad(l, c < cells.size() ? cells[c] : "", w[c], right[c] && !header);
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(headers_, true);
  for (const auto& row : rows_) line(row, false);
  return out;
}

std::string render_key_values(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t w = 0;
  for (const auto& [k, v] : rows) w = std::max(w, width(k));
  std::string out;
  for (const auto& [k, v] : rows) {
    out += k + ":";
    out.append(w - width(k) + 1, ' ');
    out += v + "\n";
  }
  return out;
}

}  // namespace gpukit
