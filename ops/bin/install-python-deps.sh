#!/usr/bin/env bash
# Installs the Debian packages the Python trainer example (ops/python/strawless_trainer.py) needs, when they
# are missing: Debian's own Kafka client, Avro library and numpy for Debian's /usr/bin/python3.
#
# Idempotent: installs nothing when everything is there. On a developer's machine it never fails: without apt
# or without root it says what to install and exits 0, and the Python test (PythonTrainerTest) then skips with a
# reason. In CI (CI set) it fails instead: the test must not skip in a green build.
set -uo pipefail

packages=(python3 python3-confluent-kafka python3-avro python3-numpy)

# shellcheck source=ops/bin/apt-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-common.sh"

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  echo "install-python-deps: no apt/dpkg here; install for /usr/bin/python3: confluent-kafka, avro, numpy" \
    "(on Debian/Ubuntu: apt-get install -y ${packages[*]})" >&2
  give_up install-python-deps
fi

missing=()
for package in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-python-deps: ${packages[*]} already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-python-deps: missing ${missing[*]}; as root run: apt-get install -y ${missing[*]}" >&2
  give_up install-python-deps
fi

echo "install-python-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt_install "${missing[@]}"; then
  echo "install-python-deps: apt-get could not install ${missing[*]}; the Python trainer test will skip" >&2
  give_up install-python-deps
fi
exit 0
