# Relative paths from the installed binaries to the data and the plugins, so an
# installed tree works wherever it is copied.
file(RELATIVE_PATH GPUKIT_REL_DATADIR "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_DATADIR}/gpukit")
file(RELATIVE_PATH GPUKIT_REL_PLUGINDIR "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBDIR}/gpukit")

# The build tree has the installed layout: executables in bin/, plugins and
# data at the same relative places. The binaries then find them the one way an
# installed tree does, and no build or source path is compiled into anything
# that `cmake --install` installs (an installed tool run as root must never
# load a plugin from a build directory a user could have created).
set(GPUKIT_BUILD_BINDIR "${PROJECT_BINARY_DIR}/bin")
cmake_path(ABSOLUTE_PATH GPUKIT_REL_PLUGINDIR BASE_DIRECTORY "${GPUKIT_BUILD_BINDIR}" NORMALIZE
           OUTPUT_VARIABLE GPUKIT_BUILD_PLUGINDIR)
cmake_path(ABSOLUTE_PATH GPUKIT_REL_DATADIR BASE_DIRECTORY "${GPUKIT_BUILD_BINDIR}" NORMALIZE
           OUTPUT_VARIABLE gpukit_build_datadir)
foreach(dir GPUKIT_BUILD_PLUGINDIR gpukit_build_datadir)
  cmake_path(IS_PREFIX PROJECT_BINARY_DIR "${${dir}}" NORMALIZE gpukit_inside)
  if(NOT gpukit_inside)
    message(FATAL_ERROR "The install directories put ${${dir}} outside the build tree relative to bin/; "
                        "choose CMAKE_INSTALL_BINDIR, LIBDIR and DATADIR under one prefix")
  endif()
endforeach()
# Executables land in bin/ unless they say otherwise (the tests too, which use the data).
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY "${GPUKIT_BUILD_BINDIR}")
# The data: a link to the source tree's, so an edit there is seen at once.
cmake_path(GET gpukit_build_datadir PARENT_PATH gpukit_build_datadir_parent)
file(MAKE_DIRECTORY "${gpukit_build_datadir_parent}")
file(CREATE_LINK "${PROJECT_SOURCE_DIR}/share/gpukit" "${gpukit_build_datadir}" SYMBOLIC)

# Debug information and __FILE__ name sources relative to the tree, so the
# installed files carry no path of the machine that built them.
# (nvcc hands them to its host compiler; the HIP plugin's hipcc line has its own.)
set(GPUKIT_FILE_PREFIX_MAPS)
if(GPUKIT_MAP_SOURCE_PATHS)
  set(GPUKIT_FILE_PREFIX_MAPS -ffile-prefix-map=${PROJECT_SOURCE_DIR}/= -ffile-prefix-map=${PROJECT_BINARY_DIR}/=)
endif()
foreach(map ${GPUKIT_FILE_PREFIX_MAPS})
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:${map}>" "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${map}>")
endforeach()

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
  # GCC's -Wmaybe-uninitialized is unreliable under the sanitizers' instrumentation
  # (false positives inside libstdc++'s <regex> at -O1).
  if(GPUKIT_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wno-maybe-uninitialized>)
  endif()
endfunction()

if(GPUKIT_PORTABLE)
  # Nodes run older distributions (EL8/EL9) whose libstdc++ predates g++ 12's:
  # carry the C++ runtime inside the binaries.
  add_link_options($<$<LINK_LANGUAGE:CXX>:-static-libstdc++> $<$<LINK_LANGUAGE:CXX>:-static-libgcc>)
endif()

if(GPUKIT_SANITIZE)
  # -O1, as the AddressSanitizer documentation advises: at -O0 the instrumented
  # nlohmann templates run about 16 times slower than a release build, and the
  # time limits the tools are held to (scripts/hostile-input) stop meaning anything.
  add_compile_options(-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
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
