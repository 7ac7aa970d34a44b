#!/bin/sh
# Install the Debian font packages of the font benchmarks
# (benchmarks/bench_font_verification.py).  Nothing else downloads fonts.
#
#   sh benchmarks/face/install_fonts.sh [cjk|latin|all]          # as root: apt-get install
#   sh benchmarks/face/install_fonts.sh [cjk|latin|all] DIR      # no root: apt-get download
#                                                                 # + dpkg-deb -x into DIR
# With DIR, pass --font-dirs DIR/usr/share/fonts to the benchmark.
set -eu
which="${1:-all}"
here="$(cd "$(dirname "$0")" && pwd)"
packages="$(python3 "$here/fonts.py" "$which")"
if [ $# -ge 2 ]; then
    dest="$(mkdir -p "$2" && cd "$2" && pwd)"
    tmp="$(mktemp -d)"
    (cd "$tmp" && apt-get download $packages)
    for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$dest"; done
    rm -rf "$tmp"
    echo "fonts extracted under $dest/usr/share/fonts"
else
    apt-get install -y --no-install-recommends $packages
fi
