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

# ECOLO_WARNINGS: the project's warning and standard flags, always on.
AC_DEFUN([ECOLO_WARNINGS], [
  WARN_CFLAGS="-std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror=implicit-function-declaration"
  AC_SUBST([WARN_CFLAGS])
])
