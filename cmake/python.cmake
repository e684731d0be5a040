# The Python package iclbench (python/, README "Python"): the extension module _iclbench and the
# package's Python files, both in build/python (PYTHONPATH=build/python), and `cmake --install`
# puts them in site-packages; iclembed gives `icl` the same module built in, for Python tasks.
set(ICL_PYTHON_DIR ${CMAKE_BINARY_DIR}/python)

# The bindings, compiled once for both.
add_library(iclpy STATIC python/bindings.cpp python/py_task.cpp python/prompt_rng.cpp)
set_target_properties(iclpy PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_link_libraries(iclpy PUBLIC iclcore pybind11::pybind11)
target_compile_options(iclpy PRIVATE ${ICL_WARNINGS} -fvisibility=hidden)

pybind11_add_module(_iclbench MODULE NO_EXTRAS python/module.cpp)
target_link_libraries(_iclbench PRIVATE iclpy)
target_compile_options(_iclbench PRIVATE ${ICL_WARNINGS})
set_target_properties(_iclbench PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ICL_PYTHON_DIR}
  CXX_VISIBILITY_PRESET hidden)
# Only PyInit__iclbench is exported, so the copy of the library inside the module never binds to
# (or is bound by) another one in the process.
target_link_options(_iclbench PRIVATE "LINKER:--exclude-libs,ALL")

add_library(iclembed STATIC python/embed.cpp)
target_link_libraries(iclembed PUBLIC iclpy pybind11::embed)
target_compile_options(iclembed PRIVATE ${ICL_WARNINGS})
target_compile_definitions(iclembed PRIVATE ICL_PYTHON_BUILD_DIR="${ICL_PYTHON_DIR}")

# The package's Python files, copied beside the module at every build.
file(GLOB ICL_PY_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/python/iclbench/*.py
     ${CMAKE_SOURCE_DIR}/python/iclbench/*.pyi ${CMAKE_SOURCE_DIR}/python/iclbench/py.typed)
set(ICL_PY_COPIES)
foreach(f ${ICL_PY_FILES})
  get_filename_component(n ${f} NAME)
  add_custom_command(OUTPUT ${ICL_PYTHON_DIR}/iclbench/${n}
    COMMAND ${CMAKE_COMMAND} -E copy_if_different ${f} ${ICL_PYTHON_DIR}/iclbench/${n}
    DEPENDS ${f})
  list(APPEND ICL_PY_COPIES ${ICL_PYTHON_DIR}/iclbench/${n})
endforeach()
add_custom_command(OUTPUT ${ICL_PYTHON_DIR}/_iclbench.pyi
  COMMAND ${CMAKE_COMMAND} -E copy_if_different ${CMAKE_SOURCE_DIR}/python/_iclbench.pyi
          ${ICL_PYTHON_DIR}/_iclbench.pyi
  DEPENDS ${CMAKE_SOURCE_DIR}/python/_iclbench.pyi)
add_custom_target(iclbench_py ALL DEPENDS ${ICL_PY_COPIES} ${ICL_PYTHON_DIR}/_iclbench.pyi _iclbench)

# site-packages of this Python under the install prefix: the entry of sys.path below the prefix
# (Debian: <prefix>/lib/python3/dist-packages or .../python3.11/dist-packages), else the scheme's;
# kept relative to the prefix, so that `cmake --install build --prefix DIR` installs under DIR.
if(NOT DEFINED ICL_PYTHON_INSTALL_DIR)
  execute_process(COMMAND ${Python_EXECUTABLE} -c
    "import os, sys, sysconfig; p = '${CMAKE_INSTALL_PREFIX}'.rstrip('/') + '/'; c = [d for d in sys.path if d.startswith(p) and d.endswith(('site-packages', 'dist-packages'))]; d = c[0] if c else sysconfig.get_path('platlib', 'posix_prefix', vars={'base': p, 'platbase': p}); print(os.path.relpath(d, p) if d.startswith(p) else d)"
    OUTPUT_VARIABLE ICL_PYTHON_INSTALL_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
install(TARGETS _iclbench LIBRARY DESTINATION ${ICL_PYTHON_INSTALL_DIR})
install(FILES ${ICL_PY_FILES} DESTINATION ${ICL_PYTHON_INSTALL_DIR}/iclbench)
install(FILES python/_iclbench.pyi DESTINATION ${ICL_PYTHON_INSTALL_DIR})
message(STATUS "iclbench: Python package for ${Python_EXECUTABLE}, installs to "
               "<prefix>/${ICL_PYTHON_INSTALL_DIR} (prefix ${CMAKE_INSTALL_PREFIX})")
