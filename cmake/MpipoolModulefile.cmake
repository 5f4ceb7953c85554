# An Lmod modulefile (cmake/mpipool.lua.in) installed with the package:
# <MPIPOOL_MODULEFILE_DIR>/mpipool/<version>.lua, by default
# <prefix>/share/modulefiles/mpipool/<version>.lua, so that
# `module use <prefix>/share/modulefiles` + `module load mpipool` set
# PATH, MANPATH, PKG_CONFIG_PATH, CMAKE_PREFIX_PATH and LD_LIBRARY_PATH.
# A site sets MPIPOOL_MODULEFILE_DIR to its own module tree (an absolute
# path); empty installs none.  The file is written at install time, so it
# names the prefix actually installed into (`cmake --install --prefix X`);
# it is its own install component: `cmake --install B --component
# modulefile` writes it alone.
set(MPIPOOL_MODULEFILE_DIR "${CMAKE_INSTALL_DATADIR}/modulefiles" CACHE STRING
    "Where to install the Lmod modulefile mpipool/<version>.lua (relative to the prefix, or absolute; empty: none)")

if(NOT MPIPOOL_MODULEFILE_DIR STREQUAL "")
  # Stage 1, now: everything but the prefix, which stays a placeholder.
  set(MPIPOOL_MODULE_PREFIX "@MPIPOOL_MODULE_PREFIX@")
  foreach(d BINDIR MANDIR LIBDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
      set(MPIPOOL_MODULE_${d} "${CMAKE_INSTALL_${d}}")
    else()
      set(MPIPOOL_MODULE_${d} "@MPIPOOL_MODULE_PREFIX@/${CMAKE_INSTALL_${d}}")
    endif()
  endforeach()
  if(IS_ABSOLUTE "${MPIPOOL_MODULEFILE_DIR}")
    set(MPIPOOL_MODULE_USE "${MPIPOOL_MODULEFILE_DIR}")
    set(_mpipool_moddir "${MPIPOOL_MODULEFILE_DIR}/mpipool")
  else()
    set(MPIPOOL_MODULE_USE "@MPIPOOL_MODULE_PREFIX@/${MPIPOOL_MODULEFILE_DIR}")
    set(_mpipool_moddir "\${CMAKE_INSTALL_PREFIX}/${MPIPOOL_MODULEFILE_DIR}/mpipool")
  endif()
  configure_file(cmake/mpipool.lua.in ${CMAKE_CURRENT_BINARY_DIR}/mpipool.lua.stage1 @ONLY)
  # Stage 2, at install time: the prefix installed into.
  install(CODE "
    set(MPIPOOL_MODULE_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    configure_file(\"${CMAKE_CURRENT_BINARY_DIR}/mpipool.lua.stage1\"
                   \"${CMAKE_CURRENT_BINARY_DIR}/modulefile/${PROJECT_VERSION}.lua\" @ONLY)
    file(INSTALL DESTINATION \"${_mpipool_moddir}\" TYPE FILE
         FILES \"${CMAKE_CURRENT_BINARY_DIR}/modulefile/${PROJECT_VERSION}.lua\")
  " COMPONENT modulefile)
endif()
