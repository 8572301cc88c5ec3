#include "nn/optim/golden_io.h"

#include <fstream>
#include <iterator>

#include "tensor/error.h"

namespace peftcpp::nn::optim::golden_detail {

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError("[golden] cannot open " + path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace peftcpp::nn::optim::golden_detail
