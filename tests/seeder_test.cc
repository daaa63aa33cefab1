// shoal-seeder's store across restarts, and `shoal put` against it.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "tests/support/fleet.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

TEST(SeederTest, RestartReseedsWithoutRehashingAndQuarantinesChangedObjects) {
  TempDir dir;
  Fleet fleet(dir.path());
  fleet.StartSeeder();
  fs::path a = dir / "a.bin", b = dir / "b.bin";
  WriteRandomFile(a, 3 << 20, 1);
  WriteRandomFile(b, 2 << 20, 2);
  std::string id_a = fleet.Put(a), id_b = fleet.Put(b);
  EXPECT_EQ(fleet.Put(a), id_a) << "same bytes, same id";

  fleet.StopSeeder();
  // Object b is damaged while the seeder is down.
  fs::path object_b = fleet.SeederState() / "objects" / id_b.substr(7);
  fs::permissions(object_b, fs::perms::owner_write, fs::perm_options::add);
  {
    std::fstream f(object_b, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    f.write("garbage", 7);
  }
  fleet.StartSeeder();
  // The ready file means listening; the stored artifacts are seeded once the closed tracker has
  // registered them, which may come later. Wait for that line before stopping.
  auto read_log = [&] {
    std::ifstream in(dir / "seeder.log.err");
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  for (int i = 0; i < 300 && read_log().find("stored artifact(s)") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  fleet.StopSeeder();  // flush its log
  std::string log = read_log();
  EXPECT_NE(log.find("seeding 1 stored artifact(s)"), std::string::npos) << log;
  EXPECT_NE(log.find(id_b + ": object changed on disk; rehashing"), std::string::npos);
  EXPECT_EQ(log.find(id_a + ": object changed"), std::string::npos) << "a was rehashed";
  EXPECT_NE(log.find("quarantined"), std::string::npos);

  // What survived is still served: a node fetches a; b is gone.
  fleet.StartSeeder();
  fleet.StartNode(0);
  auto got = fleet.Fetch(0, id_a, (fleet.OutDir() / "a").string());
  ASSERT_TRUE(got.ok) << got.error;
  EXPECT_EQ(Md5Hex(got.path), Md5Hex(a));
  EXPECT_FALSE(fleet.Fetch(0, id_b, (fleet.OutDir() / "b").string()).ok);
}

TEST(SeederTest, PutReportsDigestsAndRefusesWhatIsNotAFile) {
  TempDir dir;
  Fleet fleet(dir.path());
  fleet.StartSeeder();
  fs::path f = dir / "f.bin";
  WriteRandomFile(f, 123457, 5);
  auto r = RunCommand(
      "shoal", {"put", f.string(), "--seeder", (fleet.SeederState() / "admin.sock").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sha256:" + Sha256Hex(f)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("md5:" + Md5Hex(f)), std::string::npos) << r.out;
  auto missing = RunCommand("shoal", {"put", (dir / "nope").string(), "--seeder",
                                      (fleet.SeederState() / "admin.sock").string()});
  EXPECT_NE(missing.exit_code, 0);
  auto no_seeder = RunCommand("shoal", {"put", f.string(), "--seeder", (dir / "no.sock").string()});
  EXPECT_NE(no_seeder.exit_code, 0);
  EXPECT_NE(no_seeder.err.find("cannot connect"), std::string::npos) << no_seeder.err;
}

}  // namespace
}  // namespace shoal::testing
