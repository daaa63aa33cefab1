// Outbox and TaskJournal on real LMDB files, including a writer SIGKILLed in the middle of its
// append loop: everything it reported as appended must be there after reopening.
//
// This binary doubles as that writer: `outbox_test --append-helper DIR` appends until killed.
#include "node/agent/outbox.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/support/process.h"

namespace shoal::node {
namespace {
namespace fs = std::filesystem;
using shoal::testing::TempDir;

std::string Entry(uint64_t seq) { return "entry-" + std::to_string(seq) + std::string(100, 'x'); }

// The crash helper: marks task 1 started and task 2 started+finished, then appends entries
// forever, printing each seq only after its commit returned.
int AppendHelper(const char* dir) {
  auto env = lmdb::Env::Open(dir);
  if (!env) return 2;
  auto outbox = Outbox::Open(**env);
  auto journal = TaskJournal::Open(**env);
  if (!outbox || !journal) return 3;
  if (!(*journal)->MarkStarted(TaskId{1}, "meta-1", 1000).ok()) return 4;
  if (!(*journal)->MarkStarted(TaskId{2}, "meta-2", 1000).ok()) return 4;
  if (!(*journal)->MarkFinished(TaskId{2}, 2000).ok()) return 4;
  for (uint64_t i = 1; i < 10'000'000; ++i) {
    auto seq = (*outbox)->Append(Entry(i));
    if (!seq || *seq != i) return 5;
    std::string line = std::to_string(*seq) + "\n";
    if (::write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 6;
  }
  return 0;
}

struct Opened {
  std::unique_ptr<lmdb::Env> env;
  std::unique_ptr<Outbox> outbox;
  std::unique_ptr<TaskJournal> journal;
};

Opened Open(const fs::path& dir) {
  Opened o;
  auto env = lmdb::Env::Open(dir);
  EXPECT_TRUE(env.ok());
  o.env = std::move(*env);
  auto outbox = Outbox::Open(*o.env);
  auto journal = TaskJournal::Open(*o.env);
  EXPECT_TRUE(outbox.ok() && journal.ok());
  o.outbox = std::move(*outbox);
  o.journal = std::move(*journal);
  return o;
}

TEST(OutboxTest, AppendsPendingInOrderAndAcksCumulatively) {
  TempDir dir;
  auto o = Open(dir.path());
  EXPECT_EQ(*o.outbox->LastSeq(), 0u);
  for (uint64_t i = 1; i <= 10; ++i) EXPECT_EQ(*o.outbox->Append(Entry(i)), i);
  std::string binary("\0\xff\x01", 3);
  EXPECT_EQ(*o.outbox->Append(binary), 11u);

  auto all = o.outbox->Pending(0, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 11u);
  for (uint64_t i = 1; i <= 10; ++i) {
    EXPECT_EQ((*all)[i - 1].seq, i);
    EXPECT_EQ((*all)[i - 1].bytes, Entry(i));
  }
  EXPECT_EQ((*all)[10].bytes, binary);
  auto some = o.outbox->Pending(4, 3);
  ASSERT_EQ(some->size(), 3u);
  EXPECT_EQ((*some)[0].seq, 4u);
  EXPECT_EQ((*some)[2].seq, 6u);
  // max_bytes stops early, but always yields at least one entry.
  EXPECT_EQ(o.outbox->Pending(1, 100, Entry(1).size() * 2)->size(), 2u);
  EXPECT_EQ(o.outbox->Pending(1, 100, 1)->size(), 1u);

  ASSERT_TRUE(o.outbox->Ack(5).ok());
  EXPECT_EQ(o.outbox->Pending(0, 100)->front().seq, 6u);
  EXPECT_EQ(*o.outbox->PendingCount(), 6u);
  EXPECT_TRUE(o.outbox->Ack(3).ok()) << "an old ack is harmless";
  Status beyond = o.outbox->Ack(12);
  ASSERT_FALSE(beyond.ok());
  EXPECT_NE(beyond.error().message.find("beyond the last issued 11"), std::string::npos);
}

TEST(OutboxTest, AppendBatchCommitsConsecutiveSeqsAtOnce) {
  TempDir dir;
  auto o = Open(dir.path());
  ASSERT_EQ(*o.outbox->Append("a"), 1u);
  EXPECT_EQ(*o.outbox->AppendBatch({}), 0u);
  auto first = o.outbox->AppendBatch({"b", "c", std::string_view("\0d", 2)});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 2u);
  EXPECT_EQ(*o.outbox->LastSeq(), 4u);
  auto all = o.outbox->Pending(0, 10);
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[3].bytes, std::string("\0d", 2));
  EXPECT_EQ(*o.outbox->Append("e"), 5u);
}

TEST(OutboxTest, SequenceContinuesAfterReopenEvenWhenEverythingWasAcked) {
  TempDir dir;
  {
    auto o = Open(dir.path());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(o.outbox->Append("m").ok());
    ASSERT_TRUE(o.outbox->Ack(5).ok());
    EXPECT_EQ(*o.outbox->PendingCount(), 0u);
  }
  auto o = Open(dir.path());
  EXPECT_EQ(*o.outbox->LastSeq(), 5u);
  EXPECT_EQ(*o.outbox->Append("next"), 6u);
  EXPECT_EQ(o.outbox->Pending(0, 10)->size(), 1u);
}

TEST(OutboxTest, AppendWithFinishesTheTaskAtomically) {
  TempDir dir;
  auto o = Open(dir.path());
  ASSERT_TRUE(o.journal->MarkStarted(TaskId{7}, "m", 100).ok());
  auto seq = o.outbox->AppendWith(
      "result-7", [&](lmdb::Txn& txn) { return o.journal->MarkFinishedIn(txn, TaskId{7}, 200); });
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(o.journal->Lookup(TaskId{7})->state, TaskState::kFinished);
  EXPECT_EQ(o.journal->Lookup(TaskId{7})->finished_unix_ms, 200);
  // A failing companion write aborts the append too.
  auto failed = o.outbox->AppendWith("result-8", [&](lmdb::Txn& txn) {
    return o.journal->MarkFinishedIn(txn, TaskId{8}, 300);  // never started
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("never marked started"), std::string::npos);
  EXPECT_EQ(*o.outbox->LastSeq(), *seq);
  EXPECT_EQ(*o.outbox->PendingCount(), 1u);
}

TEST(TaskJournalTest, TracksStartedAndFinishedAcrossReopenAndPrunes) {
  TempDir dir;
  {
    auto o = Open(dir.path());
    ASSERT_TRUE(o.journal->MarkStarted(TaskId{1}, "a", 10).ok());
    ASSERT_TRUE(o.journal->MarkStarted(TaskId{2}, std::string("b\0c", 3), 11).ok());
    ASSERT_TRUE(o.journal->MarkStarted(TaskId{3}, "", 12).ok());
    ASSERT_TRUE(o.journal->MarkFinished(TaskId{2}, 20).ok());
    EXPECT_FALSE(o.journal->MarkStarted(TaskId{2}, "again", 30).ok()) << "runs at most once";
    EXPECT_FALSE(o.journal->MarkFinished(TaskId{99}, 30).ok());
  }
  auto o = Open(dir.path());
  auto unfinished = o.journal->Unfinished();
  ASSERT_TRUE(unfinished.ok());
  ASSERT_EQ(unfinished->size(), 2u);
  EXPECT_EQ((*unfinished)[0].id, TaskId{1});
  EXPECT_EQ((*unfinished)[0].meta, "a");
  EXPECT_EQ((*unfinished)[0].started_unix_ms, 10);
  EXPECT_EQ((*unfinished)[1].id, TaskId{3});
  EXPECT_EQ(o.journal->Lookup(TaskId{2})->meta, std::string("b\0c", 3));
  EXPECT_EQ(*o.journal->Prune(20), 0u);
  EXPECT_EQ(*o.journal->Prune(21), 1u);
  EXPECT_FALSE(o.journal->Lookup(TaskId{2}).has_value());
  EXPECT_TRUE(o.journal->Lookup(TaskId{1}).has_value()) << "unfinished tasks are never pruned";
}

TEST(TaskJournalTest, OutputByteCountsCommitWithTheirChunksAndSurviveAReopen) {
  TempDir dir;
  {
    auto o = Open(dir.path());
    ASSERT_TRUE(o.journal->MarkStarted(TaskId{7}, "run-1", 10).ok());
    for (auto [stream, chunk] : {std::pair{OutputStream::kStdout, std::string("before\n")},
                                 {OutputStream::kStderr, std::string("oops")},
                                 {OutputStream::kStdout, std::string("more\n")}}) {
      auto seq = o.outbox->AppendWith(chunk, [&](lmdb::Txn& txn) {
        return o.journal->AddOutputIn(txn, TaskId{7}, stream, chunk.size());
      });
      ASSERT_TRUE(seq.ok()) << seq.error().message;
    }
    // A chunk whose count cannot be kept is not stored either.
    auto orphan = o.outbox->AppendWith("x", [&](lmdb::Txn& txn) {
      return o.journal->AddOutputIn(txn, TaskId{99}, OutputStream::kStdout, 1);
    });
    EXPECT_FALSE(orphan.ok());
    EXPECT_EQ(*o.outbox->PendingCount(), 3u);
  }
  auto o = Open(dir.path());
  auto unfinished = o.journal->Unfinished();
  ASSERT_TRUE(unfinished.ok());
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].stdout_bytes, 12u);
  EXPECT_EQ((*unfinished)[0].stderr_bytes, 4u);
  EXPECT_EQ((*unfinished)[0].meta, "run-1");
  // Entries in the format before byte counts (state, started, finished, meta) still read.
  auto db = o.env->OpenDb("task_journal");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(o.env->Update([&](lmdb::Txn& txn) {
    return txn.Put(*db, lmdb::EncodeU64Key(8),
                   std::string(1, '\x01') + lmdb::EncodeU64Key(20) + lmdb::EncodeU64Key(0) + "old");
  }));
  auto old = o.journal->Lookup(TaskId{8});
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->meta, "old");
  EXPECT_EQ(old->stdout_bytes, 0u);
  EXPECT_EQ(old->state, TaskState::kStarted);
}

TEST(OutboxTest, NothingReportedAsAppendedIsLostWhenTheWriterIsKilled) {
  TempDir dir;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = '\0';
  shoal::testing::ChildProcess writer(self, {"--append-helper", (dir / "state").string()},
                                      dir / "writer");
  // Wait (by polling its output file) until it has reported a few hundred commits.
  auto reported = [&] {
    std::string out = writer.Stdout();
    return std::count(out.begin(), out.end(), '\n');
  };
  for (int i = 0; i < 6000 && reported() < 300 && writer.running(); ++i) usleep(10'000);
  ASSERT_GE(reported(), 300) << "writer stderr: " << writer.Stderr();
  writer.Kill(SIGKILL);
  int status = writer.Wait();
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer must have been killed mid-loop";

  std::istringstream lines(writer.Stdout());
  std::vector<uint64_t> seqs;
  for (std::string line; std::getline(lines, line);) {
    if (!lines.eof()) seqs.push_back(std::stoull(line));  // only complete lines
  }
  ASSERT_GE(seqs.size(), 300u);
  auto o = Open(dir / "state");
  auto stored = o.outbox->Pending(0, SIZE_MAX);
  ASSERT_TRUE(stored.ok());
  ASSERT_GE(stored->size(), seqs.size());
  for (uint64_t seq : seqs) {
    ASSERT_LE(seq, stored->size());
    EXPECT_EQ((*stored)[seq - 1].seq, seq);
    EXPECT_EQ((*stored)[seq - 1].bytes, Entry(seq));
  }
  uint64_t last = *o.outbox->LastSeq();
  EXPECT_GE(last, seqs.back());
  EXPECT_EQ(*o.outbox->Append("after restart"), last + 1);
  auto unfinished = o.journal->Unfinished();
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].id, TaskId{1});
  EXPECT_EQ((*unfinished)[0].meta, "meta-1");
}

}  // namespace
}  // namespace shoal::node

int main(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "--append-helper") {
    return shoal::node::AppendHelper(argv[2]);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
