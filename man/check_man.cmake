# check_man.cmake — the man pages render without a warning, and the API page
# cannot fall behind the header.
#   cmake -DGROFF=<groff or empty> -DHEADER=<mpipool.h> -DPAGES=<page;...>
#         -DAPI_PAGE=<mpipool.3> -P check_man.cmake
# 1. Every function the header declares with MPIPOOL_EXTERN is named in
#    API_PAGE (as a word: mpipool_map does not count for mpipool_map_async).
# 2. Every page in PAGES renders with groff -t -man -Tutf8 -ww -z (tbl, all
#    warnings) with nothing on stderr: what `man --warnings -l` checks.
#    Without groff this part is skipped after part 1 has passed (CTest's
#    SKIP_REGULAR_EXPRESSION matches the "SKIPPED:" line).
file(READ "${HEADER}" header)
file(READ "${API_PAGE}" page)
# groff escapes a hyphen as \- and may set a name in bold or italics; the
# names themselves are plain identifiers, so compare against the text
# with the escapes \f. removed.
string(REGEX REPLACE "\\\\f[BIRP]" "" page "${page}")
string(REGEX MATCHALL "\nMPIPOOL_EXTERN[^;(]*[^A-Za-z0-9_](mpipool_[A-Za-z0-9_]+)[ \t]*\\(" decls "${header}")
set(names "")
foreach(d IN LISTS decls)
  string(REGEX MATCH "(mpipool_[A-Za-z0-9_]+)[ \t]*\\($" _ "${d}")
  list(APPEND names "${CMAKE_MATCH_1}")
endforeach()
list(LENGTH names count)
if(count LESS 10)
  message(FATAL_ERROR "found only ${count} MPIPOOL_EXTERN functions in ${HEADER}: the pattern no longer matches the header")
endif()
set(missing "")
foreach(n IN LISTS names)
  if(NOT page MATCHES "(^|[^A-Za-z0-9_])${n}([^A-Za-z0-9_]|$)")
    list(APPEND missing "${n}")
  endif()
endforeach()
if(missing)
  list(JOIN missing ", " text)
  message(FATAL_ERROR "${API_PAGE} does not mention: ${text} (declared MPIPOOL_EXTERN in ${HEADER})")
endif()
message(STATUS "${API_PAGE} names all ${count} functions of ${HEADER}")

if(NOT GROFF)
  message(STATUS "SKIPPED: no groff to render the pages with (scripts/deps.sh installs it)")
  return()
endif()
set(bad "")
foreach(p IN LISTS PAGES)
  execute_process(COMMAND ${GROFF} -t -man -Tutf8 -ww -z "${p}"
                  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  if(NOT rc EQUAL 0 OR NOT err STREQUAL "")
    list(APPEND bad "${p} (exit ${rc}):\n${err}")
  endif()
endforeach()
if(bad)
  list(JOIN bad "\n" text)
  message(FATAL_ERROR "pages that do not render cleanly:\n${text}")
endif()
message(STATUS "rendered without warnings: ${PAGES}")
