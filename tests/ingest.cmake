shoal_test(ingest_test ingest_test.cc)
