#!/usr/bin/env bash
# npm run setup (or: bash scripts/setup.sh): makes this machine able to train and test unmix.
#   - Node >= 20.19 (checked, not installed);
#   - a Vulkan driver for WebGPU in Node (Dawn): a GPU vendor's, or Mesa >= 24's lavapipe on a CPU
#     (Debian 12 takes it from bookworm-backports); nothing on macOS (Metal);
#   - Chromium for the browser tests (skip with --no-chromium or UNMIX_SETUP_CHROMIUM=0: training
#     needs only the driver);
#   - node_modules: `npm ci` when it is missing or differs from package-lock.json;
#   - then asks Dawn for an adapter, so that "set up" means training will find one.
# On Debian or Ubuntu as root it installs what is missing with apt-get and skips what is present.
# Elsewhere, or without root, it prints exactly what to install and exits with status 1.
set -euo pipefail
cd "$(dirname "$0")/.."

want_chromium=${UNMIX_SETUP_CHROMIUM:-1}
for arg in "$@"; do
  case "$arg" in
    --no-chromium) want_chromium=0 ;;
    -h | --help)
      sed -n '2,11s/^# \{0,1\}//p' "$0"
      exit 0
      ;;
    *)
      echo "setup: unknown option $arg (known: --no-chromium, --help)" >&2
      exit 2
      ;;
  esac
done

say() { echo "setup: $*"; }
missing=() # what to install, one line each, printed at the end when this script cannot do it

# ---------------------------------------------------------------- the system
os=$(uname -s)
distro='' codename=''
if [ -r /etc/os-release ]; then
  distro=$(. /etc/os-release && echo "${ID:-}")
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi
can_apt=0
if [ "$os" = Linux ] && { [ "$distro" = debian ] || [ "$distro" = ubuntu ]; } && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  can_apt=1
fi
sudo_prefix=$([ "$(id -u)" = 0 ] && echo '' || echo 'sudo ')

# ---------------------------------------------------------------- Node
node_ok=0
if command -v node >/dev/null; then
  node_version=$(node -p 'process.versions.node')
  IFS=. read -r major minor _ <<<"$node_version"
  if [ "$major" -gt 22 ] || { [ "$major" = 22 ] && [ "$minor" -ge 12 ]; } || { [ "$major" = 20 ] && [ "$minor" -ge 19 ]; }; then
    node_ok=1
    say "Node $node_version: ok"
  else
    missing+=("Node >= 20.19 or >= 22.12 (this is $node_version; Vite needs newer): https://nodejs.org/en/download or NodeSource's packages")
  fi
else
  missing+=("Node >= 20.19 or >= 22.12: https://nodejs.org/en/download or NodeSource's packages")
fi

# ---------------------------------------------------------------- Vulkan driver (Linux)
BACKPORTS_SOURCES=/etc/apt/sources.list.d/bookworm-backports.sources
# Mesa's major version from dpkg (0 when not installed or not a dpkg system).
mesa_major() { dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' mesa-vulkan-drivers 2>/dev/null | awk '/^ii/ { sub(/^[0-9]+:/, "", $2); split($2, v, "."); print v[1]; exit }' | grep . || echo 0; }
has_vulkan_loader() { ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 ' || [ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libvulkan.so.1 ] || [ -e /usr/lib64/libvulkan.so.1 ]; }
has_nvidia_icd() { ls /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ /usr/local/nvidia/share/vulkan/icd.d/ 2>/dev/null | grep -qi nvidia; }
has_lavapipe() {
  [ -e /usr/share/vulkan/icd.d/lvp_icd.json ] || [ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || return 1
  # Where dpkg knows Mesa, it must be >= 24 (Debian 12's own 22.3 lavapipe is refused by Dawn).
  command -v dpkg-query >/dev/null && dpkg-query -W mesa-vulkan-drivers >/dev/null 2>&1 && [ "$(mesa_major)" -lt 24 ] && return 1
  return 0
}

install_mesa() {
  if [ "$codename" = bookworm ]; then
    if [ "$(mesa_major)" = 0 ]; then say "Vulkan: no driver installed"; else say "Vulkan: Debian 12's Mesa $(mesa_major) is too old for Dawn"; fi
    say "adding bookworm-backports for Mesa >= 24 ($BACKPORTS_SOURCES)"
    cat >"$BACKPORTS_SOURCES" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt_update
    say "apt-get install -t bookworm-backports mesa-vulkan-drivers"
    apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers
  else
    say "Vulkan: no usable driver installed"
    apt_update
    say "apt-get install mesa-vulkan-drivers"
    apt-get install -y -q mesa-vulkan-drivers
  fi
  if [ "$(mesa_major)" -lt 24 ]; then
    missing+=("Mesa >= 24's Vulkan drivers: $distro $codename offers Mesa $(mesa_major) only; install a newer Mesa (mesa-vulkan-drivers) or a GPU vendor's Vulkan driver")
  fi
}

apt_updated=0
apt_update() {
  [ "$apt_updated" = 1 ] && return
  say "apt-get update"
  apt-get update -q
  apt_updated=1
}

if [ "$os" = Darwin ]; then
  say "macOS: WebGPU in Node runs on Metal, no driver to install"
elif [ "$os" = Linux ]; then
  if has_nvidia_icd && has_vulkan_loader; then
    say "Vulkan: NVIDIA's driver is installed: ok"
  elif has_lavapipe && has_vulkan_loader; then
    say "Vulkan: Mesa's lavapipe (CPU) is installed: ok"
  elif [ "$can_apt" = 1 ]; then
    export DEBIAN_FRONTEND=noninteractive
    install_mesa
  elif [ "$codename" = bookworm ]; then
    missing+=("Mesa >= 24's Vulkan drivers from bookworm-backports (Debian 12's own 22.3 is too old for Dawn), as root:
    printf 'Types: deb\\nURIs: http://deb.debian.org/debian\\nSuites: bookworm-backports\\nComponents: main\\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\\n' | ${sudo_prefix}tee $BACKPORTS_SOURCES
    ${sudo_prefix}apt-get update && ${sudo_prefix}apt-get install -t bookworm-backports mesa-vulkan-drivers")
  elif [ "$distro" = debian ] || [ "$distro" = ubuntu ]; then
    missing+=("a Vulkan driver: ${sudo_prefix}apt-get install mesa-vulkan-drivers (Mesa >= 24), or your GPU vendor's driver")
  else
    missing+=("a Vulkan driver: the Vulkan loader (libvulkan.so.1) and Mesa >= 24's lavapipe (often mesa-vulkan-drivers or vulkan-swrast), or your GPU vendor's driver")
  fi
else
  missing+=("WebGPU for Node (the npm package webgpu, Dawn) supports Linux (Vulkan), macOS (Metal) and Windows (D3D12); this is $os")
fi

# ---------------------------------------------------------------- Chromium (browser tests)
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ "$want_chromium" = 0 ]; then
  say "Chromium: skipped (--no-chromium); npm run train does not need it, npm run test:e2e does"
elif [ -x "$chromium" ]; then
  say "Chromium: $chromium: ok"
elif [ "$can_apt" = 1 ] && [ "$distro" = debian ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt_update
  say "apt-get install chromium (for the browser tests)"
  apt-get install -y -q chromium
else
  chrome_app='/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'
  only_train="
    (or run \`npm run setup -- --no-chromium\`: training needs only the Vulkan driver)"
  if [ "$os" = Darwin ] && [ -x "$chrome_app" ]; then
    missing+=("Chrome is installed, but the browser tests run \$CHROMIUM: export CHROMIUM='$chrome_app'$only_train")
  elif [ "$distro" = debian ]; then
    missing+=("Chromium for the browser tests: ${sudo_prefix}apt-get install chromium$only_train")
  else
    missing+=("Chromium or Chrome for the browser tests, with CHROMIUM=<its executable> unless it is /usr/bin/chromium$only_train")
  fi
fi

if [ "${#missing[@]}" -gt 0 ]; then
  {
    echo "setup: this machine still needs:"
    for m in "${missing[@]}"; do echo "  - $m"; done
    [ "$can_apt" = 1 ] || [ "$os" != Linux ] || echo "setup: run this again as root on Debian or Ubuntu to have it installed for you."
  } >&2
  exit 1
fi

# ---------------------------------------------------------------- node_modules
# npm records what it installed in node_modules/.package-lock.json; compare it with the lockfile
# (optional packages for other platforms are absent there, and may be).
stale=$(
  node -e '
    const { existsSync, readFileSync } = require("node:fs");
    const hidden = "node_modules/.package-lock.json";
    if (!existsSync(hidden)) { console.log("node_modules is missing"); process.exit(); }
    const want = JSON.parse(readFileSync("package-lock.json", "utf8")).packages;
    const have = JSON.parse(readFileSync(hidden, "utf8")).packages;
    const off = Object.keys(want).filter((k) => k && (have[k] ? have[k].version !== want[k].version : !want[k].optional));
    const extra = Object.keys(have).filter((k) => !want[k]);
    if (off.length || extra.length) console.log(`node_modules differs from package-lock.json (${[...off, ...extra].slice(0, 3).join(", ")}…)`);
  '
)
if [ -n "$stale" ]; then
  say "$stale: npm ci"
  # The browser tests drive the system's Chromium: puppeteer need not download its own.
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=warn
else
  say "node_modules matches package-lock.json: ok"
fi

# ---------------------------------------------------------------- does training find a GPU?
node --import tsx scripts/check-webgpu.ts
say "done: npm run train trains the default model; npm test runs every test"
