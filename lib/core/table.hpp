// Plain-text tables for terminals: aligned columns, a header, an optional title.
#pragma once

#include <string>
#include <vector>

namespace gpukit {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  // Columns whose every cell looks like a number are right-aligned.
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "key: value" lines with the keys padded to one width.
std::string render_key_values(const std::vector<std::pair<std::string, std::string>>& rows);

}  // namespace gpukit
