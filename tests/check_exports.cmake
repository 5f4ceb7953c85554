# The shared library exports exactly the functions the header declares with
# MPIPOOL_EXTERN: nothing missing (a link error for users), nothing extra
# (internals leaking into the ABI).
#   cmake -DLIB=<libmpipool.so> -DHEADER=<mpipool.h> -DNM=<nm> -P check_exports.cmake
file(READ "${HEADER}" hdr)
string(REGEX MATCHALL "\nMPIPOOL_EXTERN [^;(#]*[ *]([A-Za-z_0-9]+)\\(" decls "${hdr}")
set(want "")
foreach(d IN LISTS decls)
  string(REGEX REPLACE ".*[ *]([A-Za-z_0-9]+)\\($" "\\1" name "${d}")
  list(APPEND want "${name}")
endforeach()
list(SORT want)
list(LENGTH want nwant)
if(nwant LESS 10)
  message(FATAL_ERROR "found only ${nwant} MPIPOOL_EXTERN declarations in ${HEADER}: ${want}")
endif()

execute_process(COMMAND "${NM}" -D --defined-only "${LIB}"
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIB}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(have "")
foreach(l IN LISTS lines)
  # "<address> T <name>": keep code and data symbols, not the linker's own.
  if(l MATCHES "^[0-9a-fA-F]+ [TDBRVW] ([A-Za-z_0-9@.]+)$")
    set(sym "${CMAKE_MATCH_1}")
    if(NOT sym MATCHES "^_(init|fini|edata|end|_bss_start)$")
      list(APPEND have "${sym}")
    endif()
  endif()
endforeach()
list(SORT have)

set(missing ${want})
list(REMOVE_ITEM missing ${have})
set(extra ${have})
# MPI_Finalize is the one deliberate extra (src/finalize.c, through MPI's
# profiling interface): a task calling it is refused instead of hanging.
list(REMOVE_ITEM extra ${want} MPI_Finalize)
if(missing OR extra)
  message(FATAL_ERROR "exports of ${LIB} differ from ${HEADER}:\n"
          "  declared but not exported: ${missing}\n"
          "  exported but not declared: ${extra}")
endif()
message(STATUS "${nwant} exported functions match the header")
