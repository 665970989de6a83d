# The part of the cross toolchains that armel and mipsel share. A toolchain file
# sets MAMORI_CROSS_ARCH (Debian's name), MAMORI_CROSS_TRIPLET (the GNU triplet) and
# MAMORI_CROSS_QEMU (the user-mode emulator), then includes this file.
#
# The target's libraries come from a sysroot that scripts/deps.sh unpacks from
# Debian's packages for that architecture (/opt/mamori-cross/<arch>). They are not
# installed with dpkg beside the amd64 ones: bookworm-security no longer builds
# armel and mipsel, so libssl3:armel cannot have the same version as the host's
# libssl3 (Multi-Arch: same needs equal versions), and libevent-dev is not
# co-installable at all.
if(NOT MAMORI_CROSS_SYSROOT)
  if(DEFINED ENV{MAMORI_CROSS_SYSROOT})
    set(MAMORI_CROSS_SYSROOT "$ENV{MAMORI_CROSS_SYSROOT}")
  elseif(DEFINED ENV{MAMORI_CROSS_ROOT}) # where scripts/deps.sh put them
    set(MAMORI_CROSS_SYSROOT "$ENV{MAMORI_CROSS_ROOT}/${MAMORI_CROSS_ARCH}")
  else()
    set(MAMORI_CROSS_SYSROOT "/opt/mamori-cross/${MAMORI_CROSS_ARCH}")
  endif()
endif()
# try_compile() projects read this file again; they need the same sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MAMORI_CROSS_SYSROOT)
if(NOT EXISTS "${MAMORI_CROSS_SYSROOT}/usr/lib/${MAMORI_CROSS_TRIPLET}")
  message(FATAL_ERROR "no ${MAMORI_CROSS_ARCH} sysroot at ${MAMORI_CROSS_SYSROOT}: "
                      "run scripts/deps.sh (make deps)")
endif()

set(CMAKE_C_COMPILER ${MAMORI_CROSS_TRIPLET}-gcc)
set(CMAKE_AR ${MAMORI_CROSS_TRIPLET}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${MAMORI_CROSS_TRIPLET}-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP ${MAMORI_CROSS_TRIPLET}-strip CACHE FILEPATH "")
set(CMAKE_SYSROOT "${MAMORI_CROSS_SYSROOT}")

# Headers and libraries only from the sysroot; programs (pkg-config) from the host.
set(CMAKE_FIND_ROOT_PATH "${MAMORI_CROSS_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads only the target's .pc files and puts the sysroot before their paths.
set(ENV{PKG_CONFIG_LIBDIR}
    "${MAMORI_CROSS_SYSROOT}/usr/lib/${MAMORI_CROSS_TRIPLET}/pkgconfig:${MAMORI_CROSS_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${MAMORI_CROSS_SYSROOT}")
unset(ENV{PKG_CONFIG_PATH})

# ctest runs each test program under qemu; -L makes the target's loader and
# libraries (/lib/ld-linux.so.3, /lib/<triplet>) resolve inside the sysroot.
find_program(MAMORI_CROSS_QEMU_PATH ${MAMORI_CROSS_QEMU} REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR "${MAMORI_CROSS_QEMU_PATH};-L;${MAMORI_CROSS_SYSROOT}")
