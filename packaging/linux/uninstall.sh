#!/usr/bin/env bash
# Removes what packaging/linux/install.sh put in the user's folders: exactly the files and folders
# its manifest lists, nothing else. Your clips, settings and history (in i2v_desktop's own data
# and config folders) stay; the app itself (a checkout, or a pipx/uv install) is not touched.
set -euo pipefail

app_id="io.github.i2v_desktop.I2VDesktop"
quiet=0
case "${1:-}" in
    "") ;;
    --quiet) quiet=1 ;;
    -h|--help) echo "usage: packaging/linux/uninstall.sh [--quiet]"; exit 0 ;;
    *) echo "uninstall.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

data_home="${XDG_DATA_HOME:-}"
[[ "$data_home" == /* ]] || data_home="$HOME/.local/share"
apps="$data_home/applications"
manifest="$data_home/$app_id/install-manifest"

if [ ! -f "$manifest" ]; then
    [ "$quiet" = 1 ] || echo "i2v desktop is not installed in $data_home (no $manifest)"
    exit 0
fi

dirs=()
made_cache=0
while IFS=$'\t' read -r kind path; do
    case "$kind" in ""|"#"*) continue ;; esac
    # Only what lies under the data folder the manifest is for, whatever the file says; folders
    # may also be the data folder itself or above it (a fresh home has no ~/.local/share yet).
    case "$kind:$path" in
        *:"$data_home"/*) ;;
        dir:"$data_home") ;;
        dir:/*) [[ "$data_home" == "$path"/* ]] \
                || { echo "uninstall.sh: $manifest: skipped $path (outside $data_home)" >&2; continue; } ;;
        *) echo "uninstall.sh: $manifest: skipped $path (outside $data_home)" >&2; continue ;;
    esac
    case "$kind" in
        file) if [ -f "$path" ] || [ -L "$path" ]; then rm -f -- "$path"; fi ;;
        dir) dirs=("$path" "${dirs[@]}") ;;  # innermost first
        cache) [ "$path" = "$apps/mimeinfo.cache" ] && made_cache=1 ;;
        *) echo "uninstall.sh: $manifest: skipped a line of unknown kind '$kind'" >&2 ;;
    esac
done <"$manifest"
rm -f -- "$manifest"

# The MIME cache now forgets the entry; a cache that install.sh created and that no other
# entry needs goes as well.
if [ -d "$apps" ]; then
    others=("$apps"/*.desktop)
    if [ "$made_cache" = 1 ] && [ ! -e "${others[0]}" ]; then
        rm -f -- "$apps/mimeinfo.cache"
    elif [ -f "$apps/mimeinfo.cache" ] && command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$apps" 2>/dev/null || true
    fi
fi
if [ -f "$data_home/icons/hicolor/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t -f "$data_home/icons/hicolor" 2>/dev/null || true
fi

# Folders install.sh made go too, once empty (rmdir leaves any that now hold other files).
for dir in "${dirs[@]}"; do
    rmdir -- "$dir" 2>/dev/null || true
done
[ "$quiet" = 1 ] || echo "i2v desktop is no longer in your applications menu"
