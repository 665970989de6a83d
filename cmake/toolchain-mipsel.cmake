# Debian mipsel: MIPS32R2, little-endian, 32-bit time_t. Use with
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mipsel.cmake (see scripts/cross.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR mipsel)
set(MAMORI_CROSS_ARCH mipsel)
set(MAMORI_CROSS_TRIPLET mipsel-linux-gnu)
set(MAMORI_CROSS_QEMU qemu-mipsel-static)
include(${CMAKE_CURRENT_LIST_DIR}/cross-common.cmake)
