#!/usr/bin/env bash
# build_matrix.sh - the tree builds warning-free with every compiler and flag set
#
#   tests/build_matrix.sh SOURCE_DIR SCRATCH_DIR [NAME...]
#
# Configures and builds SOURCE_DIR (every target: libboot, bootd, bootctl,
# the Check tests, fuzz replayers, benchmarks; nothing is run) once per
# configuration below, each in SCRATCH_DIR/NAME, and fails when a build
# fails or prints a warning: -Werror turns the compiler's warnings into
# errors, and the log is searched for "warning" for whatever else warns
# (the linker, CMake).  NAMEs pick configurations (default: all but the
# three that tools/test builds anyway: gcc-O2 is build/ (RelWithDebInfo),
# clang-O2 is build-clang/, gcc-hardened is the package test's build
# (tests/package/); `all` names every one).
#
#   gcc-O0 gcc-O2 gcc-O3        gcc 12 at each level (-O3 is CMake's Release)
#   clang-O0 clang-O2 clang-O3  clang likewise
#   gcc-hardened clang-hardened Debian's hardening flags, as a package build
#                               gets them: dpkg-buildflags with
#                               DEB_BUILD_MAINT_OPTIONS=hardening=+all
#                               (-D_FORTIFY_SOURCE=2, -fstack-protector-strong,
#                               -Wformat -Werror=format-security, PIE,
#                               -z relro, -z now)
#
# Builds run one after another with -j2 (BUILD_MATRIX_JOBS) on a machine
# shared with other work.  Exit status 0 when every configuration built
# clean, 77 (skipped) when a compiler is missing, else 1.  The scratch
# directories are removed when everything passed.
set -uo pipefail

if [ $# -lt 2 ]; then
	echo "usage: build_matrix.sh SOURCE_DIR SCRATCH_DIR [NAME...]" >&2
	exit 2
fi
src=$1
scratch=$2
shift 2
jobs=${BUILD_MATRIX_JOBS:-2}
all=(gcc-O0 gcc-O2 gcc-O3 clang-O0 clang-O2 clang-O3 gcc-hardened
     clang-hardened)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(gcc-O0 gcc-O3 clang-O0 clang-O3 clang-hardened)
[ "${names[*]}" != all ] || names=("${all[@]}")

for cc in gcc clang; do
	if ! command -v "$cc" >/dev/null; then
		echo "build_matrix: $cc is not installed (tools/packages.txt)"
		exit 77
	fi
done

hardening() {	# hardening cflags|cppflags|ldflags
	DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get "$1"
}

# configure NAME: print the CMake options for configuration NAME.
options() {
	local name=$1 cc=${1%%-*} what=${1#*-}

	printf '%s\n' "-DCMAKE_C_COMPILER=$cc"
	case $what in
	O0|O2)
		printf '%s\n' -DCMAKE_BUILD_TYPE=None "-DCMAKE_C_FLAGS=-$what -g"
		;;
	O3)
		printf '%s\n' -DCMAKE_BUILD_TYPE=Release
		;;
	hardened)
		if ! command -v dpkg-buildflags >/dev/null; then
			echo "build_matrix: dpkg-buildflags missing (dpkg-dev)" >&2
			return 1
		fi
		printf '%s\n' -DCMAKE_BUILD_TYPE=None \
		    "-DCMAKE_C_FLAGS=$(hardening CPPFLAGS) $(hardening CFLAGS)" \
		    "-DCMAKE_EXE_LINKER_FLAGS=$(hardening LDFLAGS)"
		;;
	*)
		echo "build_matrix: unknown configuration $name" >&2
		return 1
		;;
	esac
}

failed=()
mkdir -p "$scratch" || exit 1
for name in "${names[@]}"; do
	dir=$scratch/$name
	log=$scratch/$name.log
	rm -rf "$dir"
	start=$SECONDS
	if ! mapfile -t opts < <(options "$name") || [ ${#opts[@]} -eq 0 ]; then
		failed+=("$name")
		continue
	fi
	# Never pick up the caller's flags: each configuration is exactly
	# what the table above says.
	if ! env -u CFLAGS -u CPPFLAGS -u LDFLAGS -u CC \
	    cmake -S "$src" -B "$dir" "${opts[@]}" >"$log" 2>&1 ||
	    ! cmake --build "$dir" -j "$jobs" >>"$log" 2>&1; then
		echo "build_matrix: $name: build failed:"
		grep -E 'error|warning' "$log" | head -n 40
		failed+=("$name")
		continue
	fi
	if grep -qiE 'warning' "$log"; then
		echo "build_matrix: $name: warnings:"
		grep -iE 'warning' "$log" | head -n 40
		failed+=("$name")
		continue
	fi
	echo "build_matrix: $name: clean ($((SECONDS - start)) s)"
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "build_matrix: failed: ${failed[*]} (logs in $scratch)"
	exit 1
fi
rm -rf "$scratch"
exit 0
