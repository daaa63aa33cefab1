// Replays one fuzz target's seed corpus (SHOAL_FUZZ_CORPUS_DIR) through the target's own
// entry point in the normal test run, so every seed, and every crash input added to the
// corpus after a fix, stays a regression test without clang or libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

TEST(FuzzCorpus, EverySeedReplaysWithoutCrashing) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SHOAL_FUZZ_CORPUS_DIR)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size()),
              0)
        << entry.path();
    ++files;
  }
  EXPECT_GE(files, 3) << "a seed corpus this small finds little: add seeds";
}
