# Installation: `cmake --install build --prefix P` gives
#   P/include/hgc/...            the public headers (<hgc/hgc.h> is the stable entry)
#   P/lib/libhgc.so              hgc::hgc     frontend + compiler/JIT (+ passes, ir, onnx, runtime, base, dist)
#   P/lib/libhgc_runtime.so      hgc::runtime what `hgc compile --emit=obj` output links (runtime + base)
#   P/lib/hgc/*.a                the static pieces `hgc compile` links standalone programs from
#   P/bin/hgc                    the command line
#   P/lib/cmake/hgc/             hgcConfig.cmake, hgcConfigVersion.cmake (SameMajorVersion)
#   P/lib/pkgconfig/hgc.pc, hgc-runtime.pc
# Everything is relocatable: RPATHs are $ORIGIN-relative or Debian's LLVM folder, and the CLI
# finds its archives relative to itself (tools/hgc/aot_paths.cc).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The shared libraries are made from the static libraries' objects (all position-independent).
add_library(hgc_shared SHARED
  $<TARGET_OBJECTS:hgc_base> $<TARGET_OBJECTS:hgc_ir> $<TARGET_OBJECTS:hgc_passes>
  $<TARGET_OBJECTS:hgc_runtime> $<TARGET_OBJECTS:hgc_compiler_core> $<TARGET_OBJECTS:hgc_compiler>
  ${HGC_PREBUILT_OBJECT} $<TARGET_OBJECTS:hgc_frontend> $<TARGET_OBJECTS:hgc_dist> $<TARGET_OBJECTS:hgc_onnx>)
add_dependencies(hgc_shared hgc_compiler)
add_library(hgc_runtime_shared SHARED $<TARGET_OBJECTS:hgc_base> $<TARGET_OBJECTS:hgc_runtime>)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
# MLIR and LLVM stay private: a consumer needs their run-time libraries, not their headers.
# The communicator (runtime/dist) in libhgc.so: Open MPI and Gloo, private like MLIR; so are
# libonnx and protobuf (hgc_onnx: SymbolBlock::imports of .onnx, HybridBlock::export_onnx).
find_package(MPI REQUIRED COMPONENTS C)
find_package(Gloo CONFIG REQUIRED)
target_link_libraries(hgc_shared PRIVATE MLIR LLVM ${HGC_OPENBLAS} ${HGC_DNNL} ZLIB::ZLIB ${CMAKE_DL_LIBS}
                      MPI::MPI_C gloo onnx onnx_proto protobuf::libprotobuf PUBLIC Threads::Threads)
target_link_libraries(hgc_runtime_shared PRIVATE ${HGC_OPENBLAS} ${HGC_DNNL} ${CMAKE_DL_LIBS} PUBLIC Threads::Threads)
set(HGC_PUBLIC_INCLUDE_DIRS
  ${PROJECT_SOURCE_DIR}/ir/base/include ${PROJECT_BINARY_DIR}/include ${PROJECT_SOURCE_DIR}/ir/include
  ${PROJECT_SOURCE_DIR}/passes/include ${PROJECT_SOURCE_DIR}/runtime/include
  ${PROJECT_SOURCE_DIR}/compiler/include ${PROJECT_SOURCE_DIR}/frontend/include
  ${PROJECT_SOURCE_DIR}/runtime/dist/include)
foreach(t hgc_shared hgc_runtime_shared)
  foreach(d ${HGC_PUBLIC_INCLUDE_DIRS})
    target_include_directories(${t} PUBLIC $<BUILD_INTERFACE:${d}>)
  endforeach()
  target_include_directories(${t} PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endforeach()
set_target_properties(hgc_shared PROPERTIES OUTPUT_NAME hgc EXPORT_NAME hgc
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  # Debian's libMLIR.so/libLLVM.so live outside the loader's default path.
  INSTALL_RPATH "/usr/lib/llvm-19/lib")
set_target_properties(hgc_runtime_shared PROPERTIES OUTPUT_NAME hgc_runtime EXPORT_NAME runtime
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
# JIT'ed kernels resolve memrefCopy from the process (runtime/src/memref_copy.cc).
target_link_options(hgc_shared INTERFACE "LINKER:--export-dynamic-symbol=memrefCopy")
add_library(hgc::hgc ALIAS hgc_shared)
add_library(hgc::runtime ALIAS hgc_runtime_shared)

install(TARGETS hgc_shared hgc_runtime_shared EXPORT hgcTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime)
install(TARGETS hgc_aot hgc_aot_lib hgc_runtime hgc_base ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}/hgc)
if(TARGET hgc_aot_lazy)
  install(TARGETS hgc_aot_lazy ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}/hgc)
endif()
set_target_properties(hgc PROPERTIES INSTALL_RPATH "\$ORIGIN/../${CMAKE_INSTALL_LIBDIR};/usr/lib/llvm-19/lib")
install(TARGETS hgc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(d ${HGC_PUBLIC_INCLUDE_DIRS})
  install(DIRECTORY ${d}/hgc DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
endforeach()

set(HGC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hgc)
install(EXPORT hgcTargets NAMESPACE hgc:: DESTINATION ${HGC_CMAKE_DIR})
configure_package_config_file(cmake/hgcConfig.cmake.in ${PROJECT_BINARY_DIR}/hgcConfig.cmake
                              INSTALL_DESTINATION ${HGC_CMAKE_DIR} PATH_VARS CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hgcConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hgcConfig.cmake ${PROJECT_BINARY_DIR}/hgcConfigVersion.cmake
        DESTINATION ${HGC_CMAKE_DIR})
foreach(pc hgc hgc-runtime)
  configure_file(cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

# `cpack -G DEB` in the build folder: a .deb whose dependencies dpkg-shlibdeps reads from the
# installed binaries, plus what `hgc compile` runs at run time (a C++ compiler and linker, and
# the oneDNN/OpenBLAS link libraries its standalone programs link).
set(CPACK_PACKAGE_NAME hgc)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "hgc developers <hgc@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "hybrid graph compiler for deep learning (Gluon-style C++ API, MLIR/LLVM)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libhgc.so finds libLLVM/libMLIR through the RUNPATH /usr/lib/llvm-19/lib, where the
# libLLVM name is a symlink owned by llvm-19-dev; dpkg-shlibdeps then names libllvm19 on some
# machines and nothing on others. The dependency is real (NEEDED), so it is stated here.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "clang-19, lld-19, libdnnl-dev, libopenblas-dev, libllvm19 (>= 1:19.1), libmlir-19 (>= 1:19.1)")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
