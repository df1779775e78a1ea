#!/bin/sh
# Installs what postlb needs to build, test and run its demo on Debian 12.
# Idempotent: packages already present are left alone; apt runs only when
# something is missing.  Needs root (or sudo).
set -eu

PKGS="build-essential autoconf automake pkg-config clang libclang-rt-14-dev
libhiredis-dev libconfig-dev libevent-dev libmilter-dev libcmocka-dev libxxhash-dev
postfix redis-server redis-sentinel redis-tools swaks postfwd procps python3 iproute2
libsystemd-dev systemd-journal-remote prometheus
debhelper lintian mandoc systemd"
# prometheus: promtool checks /metrics and the alert rules, and the server
# scrapes both daemons in a test (its own instance, port and storage).

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing"
# Postfix must not ask questions nor configure the system instance: tests
# and the demo run private instances of their own.
echo "postfix postfix/main_mailer_type select No configuration" |
	$SUDO debconf-set-selections
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
