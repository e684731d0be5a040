# Sourced by scripts/gpu_check.sh and scripts/gpu_bundle_check.sh: unpacks .gpu_bundle/ (made by
# scripts/gpu_bundle.sh) into a prefix of its own, never over the system's files, and sets
#   bundle_prefix      where it went ($ICL_PREFIX, default /tmp/icl_prefix)
#   bundle_cmake_args  the CMake arguments that build against it: packages and headers from the
#                      prefix, and an RPATH into it (old-style, so it also holds for the libraries'
#                      own dependencies), so that nothing but the built programs see its libraries
# With bundle_only=1 set before sourcing, CMake may find packages, headers and libraries ONLY in
# the prefix (the bundle test: the system's copies are hidden from CMake's search).
bundle_prefix="${ICL_PREFIX:-/tmp/icl_prefix}"
if [ ! -f .gpu_bundle/MANIFEST ]; then
  echo "no .gpu_bundle/ here: run scripts/gpu_bundle.sh where Debian's registry is reachable" >&2
  return 1 2>/dev/null || exit 1
fi
rm -rf "$bundle_prefix"
mkdir -p "$bundle_prefix"
for deb in .gpu_bundle/*.deb; do
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "$deb" "$bundle_prefix"
  else  # a .deb is an ar archive holding data.tar.*
    (
      t=$(mktemp -d)
      cd "$t" && ar x "$OLDPWD/$deb" && tar -xf data.tar.* -C "$bundle_prefix"
      rm -rf "$t"
    )
  fi
done
_lib="$bundle_prefix/usr/lib/x86_64-linux-gnu"
# Absolute links inside the packages would point back into the system: make them point into the
# prefix.
find "$bundle_prefix" -type l | while read -r l; do
  t=$(readlink "$l")
  case "$t" in /*) ln -sfn "$bundle_prefix$t" "$l" ;; esac
done
_rpath="$_lib:$_lib/hdf5/serial:$bundle_prefix/lib/x86_64-linux-gnu"
bundle_cmake_args=(
  -DCMAKE_PREFIX_PATH="$bundle_prefix/usr"
  # FindHDF5 would ask an h5cc wrapper (none on a bare machine, the system's here); the library and
  # headers are named directly instead.
  -DHDF5_C_COMPILER_EXECUTABLE=HDF5_C_COMPILER_EXECUTABLE-NOTFOUND
  -DHDF5_ROOT="$bundle_prefix/usr"
  -DHDF5_C_INCLUDE_DIR="$bundle_prefix/usr/include/hdf5/serial"
  -DHDF5_hdf5_LIBRARY_RELEASE="$_lib/hdf5/serial/libhdf5.so"
  "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags,-rpath,$_rpath,-rpath-link,$_rpath"
  # The bundle carries no MPI (a bare GPU machine has none; data parallelism there would be NCCL's).
  -DICL_MPI=OFF
  # Nor pybind11 (the Python package is built and tested on the CPU machine).
  -DICL_PYTHON=OFF
)
if [ "${bundle_only:-0}" = 1 ]; then
  bundle_cmake_args+=(
    -DCMAKE_FIND_ROOT_PATH="$bundle_prefix"
    -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY
    -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY
    -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY
    -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER
  )
fi
