# run_example.cmake — run an example and check what it prints (CTest helper).
#
#   cmake -DCMD=<prog|arg|...> [options] -P run_example.cmake
#
#   CMD         the command, its words separated by '|' (CTest would split a
#               ';' list into separate arguments of cmake itself)
#   EXPECTED    a file; the checked stdout must equal it exactly
#   SAME_AS     a second command ('|'-separated); its checked stdout must
#               equal CMD's (e.g. the same program without mpirun)
#   FILTER      a regex; only stdout lines matching it are checked
#   NORMALIZE   a regex; its matches in each checked line are replaced by
#               NORMALIZE_WITH (to blank out ranks or times that vary)
#   SORT        ON: sort the checked lines (output from several ranks)
#   EXPECT_FAIL ON: the command must exit non-zero (but not time out)
#   INPUT       a file given to the command(s) as standard input
#   TIMEOUT     seconds per command, default 50
#
# Only stdout is compared; stderr is shown when something goes wrong.  The
# environment (OMPI_ALLOW_RUN_AS_ROOT and friends) comes from the test.

if(NOT DEFINED CMD)
  message(FATAL_ERROR "run_example.cmake: CMD is required")
endif()
if(NOT DEFINED TIMEOUT)
  set(TIMEOUT 50)
endif()

# Run a '|'-separated command; set <out_var> to its checked stdout lines,
# joined with "\n".
function(run_and_check out_var cmd_string)
  string(REPLACE "|" ";" cmd "${cmd_string}")
  set(input_args "")
  if(DEFINED INPUT)
    set(input_args INPUT_FILE "${INPUT}")
  endif()
  execute_process(COMMAND ${cmd} ${input_args}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc
                  TIMEOUT ${TIMEOUT})
  string(REPLACE ";" " " shown "${cmd}")
  if(EXPECT_FAIL)
    if(rc STREQUAL "0" OR NOT rc MATCHES "^[0-9]+$")
      message(FATAL_ERROR "expected a non-zero exit, got '${rc}' from: ${shown}\n"
                          "--- stdout\n${out}--- stderr\n${err}")
    endif()
  elseif(NOT rc STREQUAL "0")
    message(FATAL_ERROR "exit status '${rc}' from: ${shown}\n"
                        "--- stdout\n${out}--- stderr\n${err}")
  endif()

  # Split into lines.  The examples print no ';' or brackets, which CMake
  # lists would mangle; refuse them rather than compare garbage.
  string(FIND "${out}" ";" semicolon)
  string(FIND "${out}" "[" bracket)
  if(semicolon GREATER -1 OR bracket GREATER -1)
    message(FATAL_ERROR "output contains ';' or brackets, which this script cannot compare:\n${out}")
  endif()
  string(REGEX REPLACE "\n$" "" out "${out}")
  if(NOT DEFINED FILTER AND NOT DEFINED NORMALIZE AND NOT SORT)
    # Nothing to do line by line: compare the whole text.  (The loop below
    # copies the growing list once per line: 20,000 lines took 30-120 s.)
    set(${out_var} "${out}" PARENT_SCOPE)
    return()
  endif()
  if(out STREQUAL "")
    set(lines "")
  else()
    string(REPLACE "\n" ";" lines "${out}")
  endif()
  set(kept "")
  foreach(line IN LISTS lines)
    if(DEFINED FILTER AND NOT line MATCHES "${FILTER}")
      continue()
    endif()
    if(DEFINED NORMALIZE)
      string(REGEX REPLACE "${NORMALIZE}" "${NORMALIZE_WITH}" line "${line}")
    endif()
    list(APPEND kept "${line}")
  endforeach()
  if(SORT)
    list(SORT kept)
  endif()
  list(JOIN kept "\n" text)
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

run_and_check(actual "${CMD}")

if(DEFINED EXPECTED)
  file(READ "${EXPECTED}" expected)
  string(REGEX REPLACE "\n$" "" expected "${expected}")
  if(NOT actual STREQUAL expected)
    message(FATAL_ERROR "output differs from ${EXPECTED}\n"
                        "--- expected\n${expected}\n--- actual\n${actual}\n---")
  endif()
endif()

if(DEFINED SAME_AS)
  run_and_check(other "${SAME_AS}")
  if(NOT actual STREQUAL other)
    string(REPLACE "|" " " a "${CMD}")
    string(REPLACE "|" " " b "${SAME_AS}")
    message(FATAL_ERROR "the two runs differ\n"
                        "--- ${a}\n${actual}\n--- ${b}\n${other}\n---")
  endif()
endif()

string(REPLACE "|" " " shown "${CMD}")
message(STATUS "ok: ${shown}")
