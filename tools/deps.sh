#!/bin/sh
# Debian 12 packages the build, the tests and the benchmarks need.
#   deps.sh ensure   install only when something is missing (fast when all is there)
#   deps.sh install  install unconditionally (apt-get when root, else print the command)
#   deps.sh list     print the package names
set -eu
PKGS="build-essential pkg-config libnng-dev libevent-dev libcjson-dev libinih-dev
libsystemd-dev libsqlite3-dev libcurl4-openssl-dev libssl-dev uuid-dev libcmocka-dev
libdeflate-dev
libgoogle-perftools-dev
python3 python3-pytest python3-pytest-timeout python3-requests sqlite3 curl systemd ffmpeg aria2
wrk python3-praw"

missing() {
	for p in $PKGS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
	done
}

install_pkgs() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "rscrape needs these Debian packages; run as root:" >&2
		echo "  apt-get install -y $*" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "$@"
}

case "${1:-ensure}" in
list)	echo $PKGS ;;
install) install_pkgs $PKGS ;;
ensure)
	m=$(missing | tr '\n' ' ')
	[ -z "$m" ] && exit 0
	echo "deps: missing: $m" >&2
	install_pkgs $m ;;
*)	echo "usage: deps.sh ensure|install|list" >&2; exit 2 ;;
esac
