#!/usr/bin/env bash
# Installs, from Debian's packages, what ipcwatch's tests need and a fresh
# machine lacks: clang and libbpf headers to regenerate the BPF objects,
# bpftool, promtool (prometheus), util-linux and iproute2 for cross-checks
# (lsfd, lsipc, ss), and tmux to drive the terminal UI.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have clang || need+=(clang llvm)
[ -e /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
have bpftool || need+=(bpftool)
have promtool || need+=(prometheus)
have lsfd || need+=(util-linux)
have ss || need+=(iproute2)
have tmux || need+=(tmux)
have gcc || need+=(gcc libc6-dev)
if [ ${#need[@]} -eq 0 ]; then
  echo "all test dependencies present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
