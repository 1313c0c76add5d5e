# Relative paths from the installed binaries to the data and the plugins, so an
# installed tree works wherever it is copied.
file(RELATIVE_PATH GPUKIT_REL_DATADIR "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_DATADIR}/gpukit")
file(RELATIVE_PATH GPUKIT_REL_PLUGINDIR "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBDIR}/gpukit")
set(GPUKIT_BUILD_PLUGINDIR "${PROJECT_BINARY_DIR}/plugins")

function(gpukit_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow=local -Wno-missing-field-initializers>)
  if(GPUKIT_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
  endif()
  # GCC 12 at -O2 reports impossible overlaps in std::string assignments
  # (GCC bug 105329, fixed in 13): a false positive, not a finding.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict>)
  endif()
endfunction()

if(GPUKIT_PORTABLE)
  # Nodes run older distributions (EL8/EL9) whose libstdc++ predates g++ 12's:
  # carry the C++ runtime inside the binaries.
  add_link_options($<$<LINK_LANGUAGE:CXX>:-static-libstdc++> $<$<LINK_LANGUAGE:CXX>:-static-libgcc>)
endif()

if(GPUKIT_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# gpukit_add_library(<module> SOURCES ... [DEPENDS ...]): the static library gpukit_<module>.
function(gpukit_add_library module)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(gpukit_${module} STATIC ${ARG_SOURCES})
  target_include_directories(gpukit_${module} PUBLIC ${PROJECT_SOURCE_DIR}/lib)
  target_link_libraries(gpukit_${module} PUBLIC ${ARG_DEPENDS})
  gpukit_warnings(gpukit_${module})
  set_property(GLOBAL APPEND PROPERTY GPUKIT_LIBRARIES gpukit_${module})
endfunction()

# gpukit_add_tool(<name> LIBS ...): tools/<name>/main.cpp, installed with its man page.
function(gpukit_add_tool name)
  cmake_parse_arguments(ARG "" "" "LIBS;SOURCES" ${ARGN})
  add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/main.cpp ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS})
  gpukit_warnings(${name})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
  install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  set_property(GLOBAL APPEND PROPERTY GPUKIT_TOOLS ${name})
endfunction()
