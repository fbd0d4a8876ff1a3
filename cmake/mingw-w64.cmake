# SPDX-License-Identifier: MIT
# Cross-compile for 64-bit Windows with mingw-w64 (Debian package mingw-w64); tests run under
# wine (Debian packages wine, wine64) through CMAKE_CROSSCOMPILING_EMULATOR.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
find_program(RAMPART_WINE NAMES wine64 wine)
set(CMAKE_CROSSCOMPILING_EMULATOR ${RAMPART_WINE})
# Static runtime pieces so the .exe files run under wine without copying DLLs around.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc")
