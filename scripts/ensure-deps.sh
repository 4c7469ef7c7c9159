#!/usr/bin/env bash
# ensure-deps.sh - make sure the programs pointage's tests start are installed.
#
# The integration tests run real servers (DESIGN §11): mosquitto (Debian package) and
# influxd 1.8.10 (built with `go install`, cached), and the dashboard tests drive a real
# chromium. `make test` runs this script first; it is idempotent and takes a few tens of
# milliseconds when everything is present. It installs what is missing and prints the
# path of every tool; it exits non-zero, saying why, when something cannot be installed.
#
# Usage: scripts/ensure-deps.sh [--no-chromium] [--check]
#   --no-chromium   do not require chromium (also POINTAGE_CHROMIUM=0)
#   --check         install nothing; report what is missing and exit 1 if anything is
#
# Environment:
#   POINTAGE_CACHE     cache folder (default $HOME/.cache/pointage); influxd is built into
#                      $POINTAGE_CACHE/bin, where internal/testenv also looks for it
#   POINTAGE_CHROMIUM  1 (default) or 0
#
# apt packages (mosquitto, chromium, and make/gcc if absent) need root: run as another
# user, the script installs only influxd (no root needed) and prints the apt-get command
# for the rest. It waits for the apt/dpkg lock when another apt is running.
#
# Note: installing Debian's mosquitto package starts a system broker on port 1883 where
# systemd runs. The tests never use port 1883 (they start their own brokers on free
# loopback ports), so that broker is harmless; `systemctl disable --now mosquitto`
# removes it if you do not want it.
set -euo pipefail

INFLUXD_MODULE=github.com/influxdata/influxdb
INFLUXD_VERSION=v1.8.10
CACHE=${POINTAGE_CACHE:-${HOME:-/root}/.cache/pointage}
BIN=$CACHE/bin
WANT_CHROMIUM=${POINTAGE_CHROMIUM:-1}
CHECK_ONLY=0

for arg in "$@"; do
	case $arg in
	--no-chromium) WANT_CHROMIUM=0 ;;
	--chromium) WANT_CHROMIUM=1 ;;
	--check) CHECK_ONLY=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "ensure-deps: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done

say() { printf 'ensure-deps: %s\n' "$*"; }
warn() { printf 'ensure-deps: %s\n' "$*" >&2; }
die() {
	warn "ERROR: $*"
	exit 1
}

is_root() { [[ $(id -u) == 0 ]]; }

# find NAME [EXTRA_PATH...]: print the path of a program found in PATH or at one of the
# extra paths (/usr/sbin is not in every user's PATH).
find_prog() {
	local name=$1 p
	shift
	if p=$(command -v "$name" 2>/dev/null); then
		echo "$p"
		return 0
	fi
	for p in "$@"; do
		if [[ -x $p ]]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# ---- apt ---------------------------------------------------------------------------

apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT

# apt_get ARGS...: apt-get, non-interactive, waiting (up to ~15 min) while another apt or
# dpkg holds the lock, and finishing a dpkg run that was interrupted.
apt_get() {
	local tries=0 rc configured=0
	while :; do
		rc=0
		DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 "$@" </dev/null 2>&1 |
			tee "$apt_log" || rc=${PIPESTATUS[0]}
		if ((rc == 0)); then
			return 0
		fi
		if grep -qiE 'could not get lock|unable to acquire the dpkg|unable to lock|is another process using it' "$apt_log" &&
			((tries < 90)); then
			tries=$((tries + 1))
			say "apt is locked by another process; waiting (try $tries)"
			sleep 10
			continue
		fi
		if grep -q 'dpkg --configure -a' "$apt_log" && ((configured == 0)); then
			configured=1
			say "an earlier dpkg run was interrupted; running dpkg --configure -a"
			DEBIAN_FRONTEND=noninteractive dpkg --configure -a </dev/null || true
			continue
		fi
		return "$rc"
	done
}

# apt_install PKG...: install; when that fails (package lists missing or stale), run
# apt-get update once and try again.
apt_install() {
	say "installing with apt-get: $*"
	if apt_get install -y --no-install-recommends "$@"; then
		return 0
	fi
	say "apt-get install failed; running apt-get update and trying again"
	apt_get update || die "apt-get update failed (is a Debian mirror reachable?)"
	apt_get install -y --no-install-recommends "$@" || die "apt-get install $* failed (see above)"
}

missing_pkgs=()
find_prog mosquitto /usr/sbin/mosquitto /usr/local/sbin/mosquitto >/dev/null || missing_pkgs+=(mosquitto)
find_prog make >/dev/null || missing_pkgs+=(make)
# go test -race needs cgo, hence a C compiler.
find_prog gcc >/dev/null || missing_pkgs+=(gcc libc6-dev)
if [[ $WANT_CHROMIUM == 1 ]]; then
	# Fonts are a recommendation of chromium, not a dependency: without any, screenshots
	# show boxes instead of text.
	find_prog chromium /usr/bin/chromium >/dev/null || missing_pkgs+=(chromium fonts-liberation)
fi

failed=0
if ((${#missing_pkgs[@]} > 0)); then
	if ((CHECK_ONLY)); then
		warn "missing: ${missing_pkgs[*]} (install: apt-get install -y --no-install-recommends ${missing_pkgs[*]})"
		failed=1
	elif ! is_root; then
		warn "missing: ${missing_pkgs[*]}; installing them needs root:"
		warn "  sudo apt-get install -y --no-install-recommends ${missing_pkgs[*]}"
		failed=1
	else
		apt_install "${missing_pkgs[@]}"
		if [[ " ${missing_pkgs[*]} " == *" mosquitto "* ]]; then
			say "note: Debian's mosquitto service may now run on 127.0.0.1:1883; tests never use that port"
		fi
	fi
fi

# ---- influxd -----------------------------------------------------------------------

go_bin() {
	find_prog go /usr/local/go/bin/go
}

# influxd_ok PATH: true when PATH is influxd $INFLUXD_VERSION. A build made with
# `go install` prints "InfluxDB vunknown" from `influxd version` (the release version is
# set by InfluxData's linker flags), so the module version recorded in the binary is
# checked first; `influxd version` is the fallback for release builds.
influxd_ok() {
	local p=$1 gobin
	[[ -x $p ]] || return 1
	if gobin=$(go_bin) &&
		"$gobin" version -m "$p" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+${INFLUXD_MODULE}[[:space:]]+${INFLUXD_VERSION}([[:space:]]|$)"; then
		return 0
	fi
	"$p" version 2>/dev/null | grep -qF "InfluxDB ${INFLUXD_VERSION} "
}

find_influxd() {
	local p
	for p in "$BIN/influxd" "$(command -v influxd 2>/dev/null || true)"; do
		if [[ -n $p ]] && influxd_ok "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

build_influxd() {
	local gobin log start
	gobin=$(go_bin) || die "go is not installed: it is needed to build influxd (https://go.dev/dl/)"
	mkdir -p "$BIN"
	log=$CACHE/influxd-build.log
	# One build at a time, even when several test runs start together.
	exec 9>"$CACHE/influxd-build.lock"
	if ! flock -n 9; then
		say "another influxd build is running; waiting for it"
		flock -w 1800 9 || die "timed out waiting for the other influxd build"
	fi
	if find_influxd >/dev/null; then
		exec 9>&-
		return 0
	fi
	say "building influxd ${INFLUXD_VERSION} into $BIN (a few minutes on 2 cores; log: $log)"
	start=$SECONDS
	# Run from the cache folder so that no go.mod or go.work around the caller applies.
	if ! (cd "$CACHE" && GOBIN=$BIN GOWORK=off GOFLAGS=-buildvcs=false \
		"$gobin" install "${INFLUXD_MODULE}/cmd/influxd@${INFLUXD_VERSION}") >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		exec 9>&-
		die "building influxd failed (full log: $log)"
	fi
	exec 9>&-
	say "built influxd in $((SECONDS - start)) s"
}

influxd_path=""
if ! influxd_path=$(find_influxd); then
	if ((CHECK_ONLY)); then
		warn "missing: influxd ${INFLUXD_VERSION} (install: GOBIN=$BIN go install ${INFLUXD_MODULE}/cmd/influxd@${INFLUXD_VERSION})"
		failed=1
	else
		build_influxd
		influxd_path=$(find_influxd) || die "influxd was built but $BIN/influxd is not ${INFLUXD_VERSION}"
	fi
fi

# ---- report ------------------------------------------------------------------------

report() { # NAME PATH [VERSION]
	if [[ -n $2 ]]; then
		say "$(printf '%-10s %s%s' "$1" "$2" "${3:+ ($3)}")"
	fi
}

if p=$(find_prog mosquitto /usr/sbin/mosquitto /usr/local/sbin/mosquitto); then
	v=$("$p" -h 2>/dev/null | head -n 1 || true)
	report mosquitto "$p" "${v#mosquitto version }"
fi
report influxd "$influxd_path" "$INFLUXD_VERSION"
if [[ $WANT_CHROMIUM == 1 ]] && p=$(find_prog chromium /usr/bin/chromium); then
	report chromium "$p"
fi

if ((failed)); then
	die "some test prerequisites are missing (see above)"
fi
