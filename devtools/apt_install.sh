#!/bin/sh
# devtools/apt_install.sh COMMAND PACKAGE WHAT: make COMMAND available from Debian's PACKAGE where
# the machine allows it (root or password-less sudo, apt-get present); otherwise say what is
# skipped without it (WHAT) and succeed, so `make test` still runs everything else.
command="$1" package="$2" what="$3"
command -v "$command" >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=no; fi
if [ "$sudo" != no ] && command -v apt-get >/dev/null 2>&1; then
  { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >/dev/null 2>&1 ||
    { $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package"; }; } ||
    echo "make: $package could not be installed: $what"
else
  echo "make: no $command and no way to install it here: $what"
fi
exit 0
