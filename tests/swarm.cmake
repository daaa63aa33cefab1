shoal_test(swarm_test swarm_test.cc)
shoal_test(seeder_test seeder_test.cc)
shoal_test(disk_full_test disk_full_test.cc)
shoal_test(swarm_digest_test swarm_digest_test.cc)
