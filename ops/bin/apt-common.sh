# What the installers share: sourced by install-opencl.sh and install-python-deps.sh, not run.

# apt-get update, tried again for up to five minutes: unlike an install (-o DPkg::Lock::Timeout), it does not wait
# for another apt (unattended upgrades on a fresh VM) to release the package lists.
apt_update() {
  for _ in $(seq 60); do
    apt-get update && return 0
    sleep 5
  done
  return 1
}

# apt_install PACKAGE...: installs them, waiting for another apt's lock; with a stale package index it updates the
# index once and tries again.
apt_install() {
  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@" \
    || { apt_update && apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@"; }
}

# give_up INSTALLER: on a developer's machine the tests that need what it installs skip (exit 0); in CI (CI set)
# they must not skip in a green build (exit 1).
give_up() {
  if [ -n "${CI:-}" ]; then
    echo "$1: CI is set, and the tests that need it must not skip there: failing." >&2
    exit 1
  fi
  exit 0
}
