# check_ppm.cmake — run the mandelbrot example twice and check its image
# (CTest helper).
#
#   cmake -DCMD=<prog|arg|...> -DPPM=<file> -DREF_CMD=<...> -DREF_PPM=<file>
#         -DWIDTH=<w> -DHEIGHT=<h> -P check_ppm.cmake
#
#   CMD, REF_CMD  the two commands, their words separated by '|'; CMD writes
#                 PPM and REF_CMD writes REF_PPM (e.g. N ranks vs one rank)
#   WIDTH, HEIGHT the image size both were asked for
#
# Each run must exit 0 and print a "WxH pixels, checksum X" line; each file
# must be a P6 PPM of exactly that size, black inside the set and coloured
# outside it; and the two runs must agree on the checksum line and on every
# byte of the file.

foreach(v CMD PPM REF_CMD REF_PPM WIDTH HEIGHT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_ppm.cmake: ${v} is required")
  endif()
endforeach()

# Run a '|'-separated command, check its image; set <sum_var> to the checksum line.
function(run_and_check_ppm sum_var cmd_string ppm)
  file(REMOVE "${ppm}")
  string(REPLACE "|" ";" cmd "${cmd_string}")
  execute_process(COMMAND ${cmd} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc
                  TIMEOUT 50)
  string(REPLACE ";" " " shown "${cmd}")
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "exit status '${rc}' from: ${shown}\n--- stdout\n${out}--- stderr\n${err}")
  endif()
  if(NOT out MATCHES "(^|\n)(${WIDTH}x${HEIGHT} pixels, checksum [0-9a-f]+)\n")
    message(FATAL_ERROR "no '${WIDTH}x${HEIGHT} pixels, checksum' line from: ${shown}\n${out}")
  endif()
  set(${sum_var} "${CMAKE_MATCH_2}" PARENT_SCOPE)

  if(NOT EXISTS "${ppm}")
    message(FATAL_ERROR "${shown} did not write ${ppm}")
  endif()
  # The header, as hex: "P6\n<W> <H>\n255\n".
  set(header "P6\n${WIDTH} ${HEIGHT}\n255\n")
  string(LENGTH "${header}" hlen)
  string(HEX "${header}" want_hex)
  file(READ "${ppm}" got_hex LIMIT ${hlen} HEX)
  if(NOT got_hex STREQUAL want_hex)
    message(FATAL_ERROR "${ppm}: header is ${got_hex} (hex), want ${want_hex}")
  endif()
  file(SIZE "${ppm}" size)
  math(EXPR want_size "${hlen} + ${WIDTH} * ${HEIGHT} * 3")
  if(NOT size EQUAL want_size)
    message(FATAL_ERROR "${ppm}: ${size} bytes, want ${want_size}")
  endif()
  # (-0.25, 0) is inside the set: black.  The top-left corner (-2.5, 1.25)
  # escapes at once: not black.
  math(EXPR inside "${hlen} + ((${HEIGHT} / 2) * ${WIDTH} + ${WIDTH} * 9 / 14) * 3")
  file(READ "${ppm}" px OFFSET ${inside} LIMIT 3 HEX)
  if(NOT px STREQUAL "000000")
    message(FATAL_ERROR "${ppm}: pixel at (-0.25, 0) is ${px}, want black (000000)")
  endif()
  file(READ "${ppm}" px OFFSET ${hlen} LIMIT 3 HEX)
  if(px STREQUAL "000000")
    message(FATAL_ERROR "${ppm}: the top-left pixel is black, want a colour")
  endif()
endfunction()

run_and_check_ppm(sum "${CMD}" "${PPM}")
run_and_check_ppm(ref_sum "${REF_CMD}" "${REF_PPM}")
if(NOT sum STREQUAL ref_sum)
  message(FATAL_ERROR "the runs differ: '${sum}' vs '${ref_sum}'")
endif()
file(SHA256 "${PPM}" a)
file(SHA256 "${REF_PPM}" b)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "${PPM} and ${REF_PPM} differ")
endif()
file(REMOVE "${PPM}" "${REF_PPM}")
string(REPLACE "|" " " shown "${CMD}")
message(STATUS "ok: ${shown}: ${sum}, same as one rank")
