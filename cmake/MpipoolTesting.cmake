# Helpers to register tests.
#
#   mpipool_add_unit_test(NAME <name> SOURCES <src...> [TIMEOUT <s>])
#     cmocka test, no MPI: links the pure object library and cmocka; with
#     MPIPOOL_VALGRIND also valgrind_<name>, the same under valgrind.
#   mpipool_add_mpi_test(NAME <name> SOURCES <src...> [RANKS 1 2 4] [TIMEOUT <s>] [ARGS ...]
#                        [ENV VAR=value ...])
#     builds one executable linked with mpipool + cmocka and registers
#     <name>_np<N> for each rank count, run under ${MPIEXEC_EXECUTABLE}.
#     PROGRAM <target> instead of SOURCES registers the tests of another
#     test's program (a variant with other ARGS or ENV), built once.
#   mpipool_mpiexec_command(<outvar> <nranks>)
#     the launch prefix (list) for N ranks, for tests that run a command.
#   mpipool_contain_command(<outvar> <ctest-timeout>)
#     the prefix that bounds a test command by <ctest-timeout> - 10 s and
#     fails it if it leaves any process behind (tests/contain.sh).  Every
#     test that starts MPI processes runs under it; the test
#     "test_properties" checks that, and that every test has a TIMEOUT.
#
# Running as root and oversubscribing 2 cores with 4 ranks need Open MPI's
# permission; we set it here for the tests, never relying on the shell.

find_package(PkgConfig QUIET)
find_path(CMOCKA_INCLUDE_DIR cmocka.h REQUIRED)
find_library(CMOCKA_LIBRARY cmocka REQUIRED)

execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version
                OUTPUT_VARIABLE _mpiexec_version ERROR_VARIABLE _mpiexec_version)
if(_mpiexec_version MATCHES "Open MPI|OpenRTE")
  set(MPIPOOL_MPI_FLAVOR "openmpi" CACHE INTERNAL "")
  set(MPIPOOL_MPIEXEC_EXTRA --oversubscribe CACHE INTERNAL "")
else()
  set(MPIPOOL_MPI_FLAVOR "mpich" CACHE INTERNAL "")
  set(MPIPOOL_MPIEXEC_EXTRA "" CACHE INTERNAL "")
endif()
message(STATUS "mpipool tests: MPI flavour ${MPIPOOL_MPI_FLAVOR} (${MPIEXEC_EXECUTABLE})")

set(MPIPOOL_TEST_ENV
  OMPI_ALLOW_RUN_AS_ROOT=1
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  OMPI_MCA_rmaps_base_oversubscribe=1
  # Docker-like sandboxes have no usable ptrace/CMA for vader's single copy.
  OMPI_MCA_btl_vader_single_copy_mechanism=none
  CACHE INTERNAL "")

# Sanitizer builds (MPIPOOL_SANITIZE): reports are fatal, only the MPI
# libraries' own leaks are suppressed (tests/sanitizers/*.supp), and
# allocations too large to satisfy return NULL as malloc does, so the
# hostile-size tests see MPIPOOL_ENOMEM instead of an ASan abort.  Leak
# stacks are unwound in full when allocated (fast_unwind_on_malloc=0):
# Open MPI dlcloses its components at MPI_Finalize, so the fast unwinder's
# one-frame stacks end in "<unknown module>" and match no suppression.
set(MPIPOOL_SANITIZER_ENV "")
if(MPIPOOL_SANITIZE)
  set(_supp ${PROJECT_SOURCE_DIR}/tests/sanitizers)
  set(MPIPOOL_SANITIZER_ENV
    "ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:fast_unwind_on_malloc=0:exitcode=23"
    "LSAN_OPTIONS=suppressions=${_supp}/lsan.supp:print_suppressions=0"
    "UBSAN_OPTIONS=suppressions=${_supp}/ubsan.supp:print_stacktrace=1:halt_on_error=1"
    # ThreadSanitizer (MPIPOOL_SANITIZE=thread): every report is printed and
    # the process then exits 66; only MPI's own libraries are suppressed;
    # too-large allocations return NULL, as under ASan above.
    "TSAN_OPTIONS=suppressions=${_supp}/tsan.supp:exitcode=66:second_deadlock_stack=1:history_size=4:allocator_may_return_null=1")
  list(APPEND MPIPOOL_TEST_ENV ${MPIPOOL_SANITIZER_ENV})
  set(MPIPOOL_TEST_ENV "${MPIPOOL_TEST_ENV}" CACHE INTERNAL "")
endif()

function(mpipool_mpiexec_command out n)
  set(${out} ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} ${MPIPOOL_MPIEXEC_EXTRA}
      ${MPIEXEC_PREFLAGS} PARENT_SCOPE)
endfunction()

set(MPIPOOL_CONTAIN ${PROJECT_SOURCE_DIR}/tests/contain.sh CACHE INTERNAL "")
function(mpipool_contain_command out timeout)
  math(EXPR inner "${timeout} - 10")
  set(${out} ${MPIPOOL_CONTAIN} ${inner} PARENT_SCOPE)
endfunction()

# -DMPIPOOL_VALGRIND=ON also runs every unit test under valgrind
# (valgrind_<name>, label "valgrind").
option(MPIPOOL_VALGRIND "Also run the unit tests under valgrind" OFF)
if(MPIPOOL_VALGRIND)
  find_program(MPIPOOL_VALGRIND_EXE valgrind REQUIRED)
endif()

function(mpipool_add_unit_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 30)
  endif()
  add_executable(${T_NAME} ${T_SOURCES} $<TARGET_OBJECTS:mpipool_pure>)
  target_include_directories(${T_NAME} PRIVATE ${CMAKE_SOURCE_DIR}/include
                             ${CMAKE_SOURCE_DIR}/src ${CMOCKA_INCLUDE_DIR} ${MPI_C_INCLUDE_DIRS})
  target_link_libraries(${T_NAME} PRIVATE ${CMOCKA_LIBRARY})
  target_compile_options(${T_NAME} PRIVATE ${MPIPOOL_WARNINGS})
  add_test(NAME unit_${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(unit_${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS unit
                       ENVIRONMENT "${MPIPOOL_SANITIZER_ENV}")
  if(MPIPOOL_VALGRIND)
    # Any error or leak of any kind fails the test.
    add_test(NAME valgrind_${T_NAME}
             COMMAND ${MPIPOOL_VALGRIND_EXE} -q --error-exitcode=1 --leak-check=full
                     --show-leak-kinds=all --errors-for-leak-kinds=all $<TARGET_FILE:${T_NAME}>)
    set_tests_properties(valgrind_${T_NAME} PROPERTIES TIMEOUT 120 LABELS "unit;valgrind")
  endif()
endfunction()

function(mpipool_add_mpi_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT;PROGRAM" "SOURCES;RANKS;ARGS;ENV" ${ARGN})
  if(NOT T_RANKS)
    set(T_RANKS 1 2 4)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  if(T_PROGRAM)
    set(prog ${T_PROGRAM})
  else()
    set(prog ${T_NAME})
    add_executable(${T_NAME} ${T_SOURCES})
    target_include_directories(${T_NAME} PRIVATE ${CMOCKA_INCLUDE_DIR})
    target_link_libraries(${T_NAME} PRIVATE mpipool::mpipool ${CMOCKA_LIBRARY})
    target_compile_options(${T_NAME} PRIVATE ${MPIPOOL_WARNINGS})
  endif()
  mpipool_contain_command(contain ${T_TIMEOUT})
  foreach(n IN LISTS T_RANKS)
    mpipool_mpiexec_command(launch ${n})
    add_test(NAME mpi_${T_NAME}_np${n}
             COMMAND ${contain} ${launch} $<TARGET_FILE:${prog}> ${MPIEXEC_POSTFLAGS} ${T_ARGS})
    set_tests_properties(mpi_${T_NAME}_np${n} PROPERTIES
      TIMEOUT ${T_TIMEOUT} LABELS mpi PROCESSORS 1
      ENVIRONMENT "${MPIPOOL_TEST_ENV};${T_ENV}")
  endforeach()
endfunction()
