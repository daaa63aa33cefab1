# Jobs and waves over real daemons: planner, tracker, seeder and shoal-node processes.
if(TARGET shoal_node_agent)
  shoal_test(job_e2e_test job_e2e_test.cc control_fixture.cc)
  add_dependencies(job_e2e_test shoal-planner shoal-node shoal-seeder shoal-tracker shoal)
endif()
