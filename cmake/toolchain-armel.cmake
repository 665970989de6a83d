# Debian armel: ARMv5TE, soft float, little-endian, 32-bit time_t. Use with
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-armel.cmake (see scripts/cross.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(MAMORI_CROSS_ARCH armel)
set(MAMORI_CROSS_TRIPLET arm-linux-gnueabi)
set(MAMORI_CROSS_QEMU qemu-arm-static)
include(${CMAKE_CURRENT_LIST_DIR}/cross-common.cmake)
