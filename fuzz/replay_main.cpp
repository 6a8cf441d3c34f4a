// The replay driver: runs a fuzz target's LLVMFuzzerTestOneInput over files, without libFuzzer,
// so that `make test` replays each target's corpus and regressions through the normal build.
//
//   <target>_replay PATH...   each PATH a file or a directory (its regular files, not dot
//                             files, in name order); a missing path counts as empty only when
//                             written with a leading '?' (the regressions folder git may omit).
// Exits 0 when every input passed (a failing property aborts the process, naming itself), 1
// when a path is missing or no input was found at all.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

bool Collect(std::string arg, std::vector<fs::path>& out) {
  const bool optional = !arg.empty() && arg.front() == '?';
  if (optional) arg.erase(0, 1);
  const fs::path path(arg);
  if (fs::is_regular_file(path)) {
    out.push_back(path);
    return true;
  }
  if (!fs::is_directory(path)) {
    if (optional) return true;
    std::fprintf(stderr, "replay: no such file or directory: %s\n", arg.c_str());
    return false;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (entry.is_regular_file() && entry.path().filename().string().front() != '.') files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  out.insert(out.end(), files.begin(), files.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (!Collect(argv[i], inputs)) return 1;
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "replay: no inputs\n");
    return 1;
  }
  for (const fs::path& input : inputs) {
    std::ifstream file(input, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    // Named first, so that a crash's output says which input it was.
    std::fprintf(stderr, "replay: %s\n", input.c_str());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("replayed %zu inputs\n", inputs.size());
  return 0;
}
