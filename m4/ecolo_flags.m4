# ECOLO_SANITIZERS: --enable-sanitizers builds with AddressSanitizer and
# UndefinedBehaviorSanitizer (make check runs under them in CI).
AC_DEFUN([ECOLO_SANITIZERS], [
  AC_ARG_ENABLE([sanitizers],
    [AS_HELP_STRING([--enable-sanitizers], [build with -fsanitize=address,undefined])],
    [], [enable_sanitizers=no])
  AS_IF([test "x$enable_sanitizers" = xyes], [
    SANITIZER_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
    CFLAGS="$CFLAGS $SANITIZER_FLAGS"
    LDFLAGS="$LDFLAGS $SANITIZER_FLAGS"
  ])
  AM_CONDITIONAL([SANITIZERS], [test "x$enable_sanitizers" = xyes])
])

# ECOLO_WARNINGS: the project's warning and standard flags, always on;
# --disable-werror keeps the warnings but not as errors: a deployment built
# by a newer compiler (scalingo/compile.sh) must not fail on a new warning.
AC_DEFUN([ECOLO_WARNINGS], [
  AC_ARG_ENABLE([werror],
    [AS_HELP_STRING([--disable-werror], [do not turn warnings into errors])],
    [], [enable_werror=yes])
  WARN_CFLAGS="-std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror=implicit-function-declaration"
  AS_IF([test "x$enable_werror" != xno], [WARN_CFLAGS="$WARN_CFLAGS -Werror"])
  AC_SUBST([WARN_CFLAGS])
])

# ECOLO_FUZZER: FUZZ_CC, a clang that builds libFuzzer targets with
# AddressSanitizer and UndefinedBehaviorSanitizer (make fuzz), or empty.
# Debian 12: apt-get install clang libclang-rt-dev.
AC_DEFUN([ECOLO_FUZZER], [
  AC_ARG_VAR([FUZZ_CC], [clang able to link libFuzzer targets, for make fuzz (default: clang)])
  AS_IF([test -z "$FUZZ_CC"], [AC_PATH_PROGS([FUZZ_CC], [clang clang-14])])
  AS_IF([test -n "$FUZZ_CC"], [
    AC_MSG_CHECKING([whether $FUZZ_CC links libFuzzer targets])
    cat >conftest-fuzz.c <<_ACEOF
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { (void)data; (void)size; return 0; }
_ACEOF
    AS_IF([$FUZZ_CC -fsanitize=fuzzer,address,undefined conftest-fuzz.c -o conftest-fuzz$ac_exeext >&AS_MESSAGE_LOG_FD 2>&1],
      [AC_MSG_RESULT([yes])],
      [AC_MSG_RESULT([no])
       FUZZ_CC=])
    rm -f conftest-fuzz.c conftest-fuzz$ac_exeext
  ])
  AS_IF([test -z "$FUZZ_CC"],
    [AC_MSG_NOTICE([no clang with libFuzzer: make fuzz will not run (Debian: apt-get install clang libclang-rt-dev)])])
])
