# Tests of the map layer (issue 4). test_map covers every feature and bad input; its
# "unprivileged" entry re-runs it as user nobody with small memlock limits (root only).
rp_add_test(test_map)
if(NOT WIN32)
  add_test(NAME test_map_unprivileged COMMAND test_map unprivileged)
  set_tests_properties(test_map_unprivileged PROPERTIES SKIP_RETURN_CODE 77)
endif()
