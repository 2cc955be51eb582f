#!/usr/bin/env bash
# Makes "i2v desktop.app": a macOS application bundle around the launcher, a wheelhouse and,
# optionally, a complete Python. Runs on macOS or Linux (it only copies files and writes the
# Info.plist with Python's plistlib); signing and notarising are separate steps (build.md).
#
#   packaging/macos/build-app.sh --wheelhouse wheelhouse \
#       [--python cpython-3.11.<x>+<date>-aarch64-apple-darwin-install_only.tar.gz] [--out dist/macos]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
app_id="io.github.i2v_desktop.I2VDesktop"
app_name="i2v desktop"

die() { echo "build-app.sh: $*" >&2; exit 2; }

usage() {
    cat <<EOF
usage: packaging/macos/build-app.sh --wheelhouse DIR [--python ARCHIVE_OR_DIR] [--launcher FILE] [--out DIR]

  --wheelhouse DIR  wheels for macOS, the app's own (i2v_desktop-<version>-*.whl) among them
  --python PATH     python-build-standalone install_only .tar.gz for macOS, or its python/ folder;
                    without it the app uses a Python 3.10+ from python.org or Homebrew
  --launcher FILE   default: $root/packaging/launcher/i2v_launcher.py
  --out DIR         where "$app_name.app" is written (default: $root/dist/macos)
EOF
}

wheelhouse="" python_source="" launcher="$root/packaging/launcher/i2v_launcher.py" out="$root/dist/macos"
while [ $# -gt 0 ]; do
    case "$1" in
        --wheelhouse|--python|--launcher|--out)
            [ $# -ge 2 ] || die "$1 needs a value"
            case "$1" in
                --wheelhouse) wheelhouse="$2" ;; --python) python_source="$2" ;;
                --launcher) launcher="$2" ;; --out) out="$2" ;;
            esac
            shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[ -n "$wheelhouse" ] || die "--wheelhouse is required (see --help)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to write the Info.plist"

version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/i2v_desktop/__init__.py")"
[ -n "$version" ] || die "$root/i2v_desktop/__init__.py: no __version__ line"
[ -d "$wheelhouse" ] || die "$wheelhouse: no such folder"
own=("$wheelhouse"/i2v_desktop-"$version"-*.whl)
[ -f "${own[0]}" ] || die "$wheelhouse: no i2v_desktop-$version-*.whl in it (python -m build --wheel, build.md)"
[ -f "$launcher" ] || die "$launcher: no such file (the launcher)"
icns="$root/resources/icons/i2v-desktop.icns"
[ -f "$icns" ] || die "$icns: no such file (python scripts/make_icons.py)"
[ -z "$python_source" ] || [ -e "$python_source" ] || die "$python_source: no such file or folder"

bundle="$out/$app_name.app"
if [ -e "$bundle" ] && ! grep -qs "<string>$app_id</string>" "$bundle/Contents/Info.plist"; then
    die "$bundle: exists and is not an i2v desktop bundle; move it away first"
fi
mkdir -p "$out"
# Built beside the target and renamed at the end, so a failed build leaves no half bundle.
work="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
app="$work/$app_name.app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources/wheelhouse"

if [ -n "$python_source" ]; then
    if [ -d "$python_source" ]; then
        cp -R "$python_source" "$app/Contents/Resources/python"
    else
        tar -xzf "$python_source" -C "$work" || die "$python_source: not a .tar.gz archive"
        [ -d "$work/python" ] || die "$python_source: no python/ folder at the top of the archive"
        mv "$work/python" "$app/Contents/Resources/python"
    fi
    [ -x "$app/Contents/Resources/python/bin/python3" ] \
        || die "$python_source: no bin/python3 in it; expected a python-build-standalone install_only build for macOS"
fi

cp "$here/i2v-desktop" "$app/Contents/MacOS/i2v-desktop"
chmod 755 "$app/Contents/MacOS/i2v-desktop"
cp "$launcher" "$app/Contents/Resources/i2v_launcher.py"
cp "$icns" "$app/Contents/Resources/i2v-desktop.icns"
cp "$wheelhouse"/*.whl "$app/Contents/Resources/wheelhouse/"
printf 'APPL????' >"$app/Contents/PkgInfo"

python3 - "$app/Contents/Info.plist" "$app_id" "$app_name" "$version" <<'EOF'
import plistlib
import sys

path, app_id, name, version = sys.argv[1:]
# The files the app opens (core/image.py) and its own MP4 clips, by their system type ids.
# "Alternate": listed under Open With, never made the default for these files.
photos = ["public.jpeg", "public.png", "org.webmproject.webp", "public.tiff", "com.microsoft.bmp", "com.compuserve.gif"]
info = {
    "CFBundleDevelopmentRegion": "en",
    "CFBundleDisplayName": name,
    "CFBundleName": name,
    "CFBundleExecutable": "i2v-desktop",
    "CFBundleIconFile": "i2v-desktop.icns",
    "CFBundleIdentifier": app_id,
    "CFBundleInfoDictionaryVersion": "6.0",
    "CFBundlePackageType": "APPL",
    "CFBundleShortVersionString": version,
    "CFBundleVersion": version,
    "CFBundleDocumentTypes": [
        {"CFBundleTypeName": "Photo", "CFBundleTypeRole": "Viewer", "LSHandlerRank": "Alternate",
         "LSItemContentTypes": photos},
        {"CFBundleTypeName": "MPEG-4 clip", "CFBundleTypeRole": "Viewer", "LSHandlerRank": "Alternate",
         "LSItemContentTypes": ["public.mpeg-4"]},
    ],
    "LSApplicationCategoryType": "public.app-category.video",
    # macOS 12 is the oldest that Qt 6.8 supports; a newer PySide6 that asks for more is
    # refused by pip when the launcher installs it, with that reason.
    "LSMinimumSystemVersion": "12.0",
    "NSHighResolutionCapable": True,
    "NSPrincipalClass": "NSApplication",
    "NSSupportsAutomaticGraphicsSwitching": True,
    "NSHumanReadableCopyright": "Apache License 2.0",
}
with open(path, "wb") as out:
    plistlib.dump(info, out)
EOF

rm -rf "$bundle"
mv "$app" "$bundle"
echo "made $bundle (i2v desktop $version$([ -n "$python_source" ] && echo ', with its own Python'))"
