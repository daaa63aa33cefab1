# The rollout engine alone, with a hand-moved clock (no processes).
shoal_test(rollout_test rollout_test.cc LIBS shoal::jobs)
