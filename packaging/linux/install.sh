#!/usr/bin/env bash
# Installs i2v desktop into the current user's menus: the desktop entry, the icons, the AppStream
# metainfo, and "Open with" for the photos it opens. Nothing outside $XDG_DATA_HOME
# (~/.local/share by default) is touched, no root is needed, and uninstall.sh removes exactly
# what this wrote (it is listed in a manifest).
#
#   packaging/linux/install.sh                      # the entry starts this checkout's ./i2v-desktop
#   packaging/linux/install.sh --exec ~/.local/bin/i2v-desktop   # or any installed command
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
app_id="io.github.i2v_desktop.I2VDesktop"
icon_sizes=(16 24 32 48 64 128 256 512)

die() { echo "install.sh: $*" >&2; exit 2; }

usage() {
    cat <<EOF
usage: packaging/linux/install.sh [--exec COMMAND]

Adds i2v desktop to your applications menu and to "Open with" for photos, for you only.
  --exec COMMAND  the command the menu entry runs (a path, or a name on PATH such as the
                  i2v-desktop that pipx or uv installed); default: $root/i2v-desktop
Files go under \${XDG_DATA_HOME:-~/.local/share}; packaging/linux/uninstall.sh removes them.
EOF
}

exec_cmd="$root/i2v-desktop"
while [ $# -gt 0 ]; do
    case "$1" in
        --exec) [ $# -ge 2 ] || die "--exec needs a command"; exec_cmd="$2"; shift 2 ;;
        --exec=*) exec_cmd="${1#--exec=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

# A bare name is looked up on PATH; a path is made absolute but its links are kept, so a pipx
# or uv link keeps working when they upgrade the app behind it.
if [[ "$exec_cmd" != */* ]]; then
    found="$(command -v -- "$exec_cmd" 2>/dev/null)" || die "--exec $exec_cmd: no such command on PATH"
    [[ "$found" == /* ]] || die "--exec $exec_cmd: a shell function or alias, not a command"
    exec_cmd="$found"
fi
[ -e "$exec_cmd" ] || die "$exec_cmd: no such file"
[ -f "$exec_cmd" ] && [ -x "$exec_cmd" ] || die "$exec_cmd: not an executable file"
exec_cmd="$(cd "$(dirname -- "$exec_cmd")" && pwd)/$(basename -- "$exec_cmd")"
case "$exec_cmd" in *$'\n'*|*$'\t'*|*$'\r'*) die "$exec_cmd: a command path with a line break or tab cannot go in a desktop entry" ;; esac

# The base directory spec: an empty or relative XDG_DATA_HOME is ignored.
data_home="${XDG_DATA_HOME:-}"
[[ "$data_home" == /* ]] || data_home="$HOME/.local/share"
case "$data_home" in *$'\n'*|*$'\t'*) die "$data_home: a data folder with a line break or tab is not supported" ;; esac
apps="$data_home/applications"
icons="$data_home/icons/hicolor"
record_dir="$data_home/$app_id"
manifest="$record_dir/install-manifest"

sources=("$here/$app_id.desktop" "$here/$app_id.metainfo.xml" "$root/resources/icons/i2v-desktop.svg")
for size in "${icon_sizes[@]}"; do sources+=("$root/resources/icons/i2v-desktop-$size.png"); done
for source in "${sources[@]}"; do
    [ -f "$source" ] || die "$source: missing from this checkout"
done

# A second install replaces the first, so the manifest always describes what is there.
if [ -f "$manifest" ]; then
    bash "$here/uninstall.sh" --quiet
fi

entries=()   # the manifest's lines: "dir<TAB>path" for folders made here (outermost first), "file<TAB>path"

make_dir() {  # mkdir -p that remembers each folder it made, so uninstall can take them away again
    local dir="$1" missing=()
    while [ ! -d "$dir" ]; do
        missing=("$dir" "${missing[@]}")
        dir="$(dirname -- "$dir")"
    done
    for dir in "${missing[@]}"; do
        mkdir -- "$dir"
        entries+=("dir"$'\t'"$dir")
    done
}

put() {  # put SOURCE|- DEST: copy (or stdin) through a temporary file and a rename
    local source="$1" dest="$2" tmp
    make_dir "$(dirname -- "$dest")"
    tmp="$(mktemp "$(dirname -- "$dest")/.install.XXXXXX")"
    if [ "$source" = - ]; then cat >"$tmp"; else cat -- "$source" >"$tmp"; fi
    chmod 644 "$tmp"
    mv -f -- "$tmp" "$dest"
    entries+=("file"$'\t'"$dest")
}

# Exec is quoted for the desktop entry spec: inside double quotes, " ` $ \ take a backslash; a
# literal % is written %%; then the whole value, as any desktop entry string, doubles its backslashes.
quoted="${exec_cmd//\\/\\\\}"
quoted="${quoted//\"/\\\"}"
quoted="${quoted//\`/\\\`}"
quoted="${quoted//\$/\\\$}"
quoted="${quoted//%/%%}"
exec_value="\"$quoted\""
exec_value="${exec_value//\\/\\\\}"
try_exec_value="${exec_cmd//\\/\\\\}"

entry() {  # the desktop entry with Exec and TryExec pointing at the command
    local line
    while IFS= read -r line; do
        case "$line" in
            Exec=*) printf 'Exec=%s %%F\n' "$exec_value" ;;
            TryExec=*) printf 'TryExec=%s\n' "$try_exec_value" ;;
            *) printf '%s\n' "$line" ;;
        esac
    done <"$here/$app_id.desktop"
}

write_manifest() {  # also on a failure half-way, so that uninstall.sh can clean up what was made
    [ ${#entries[@]} -gt 0 ] || return 0
    local tmp
    tmp="$(mktemp "$record_dir/.install.XXXXXX")"
    printf '%s\n' "# Written by i2v desktop's packaging/linux/install.sh; read by uninstall.sh." \
        "${entries[@]}" >"$tmp"
    chmod 644 "$tmp"
    mv -f -- "$tmp" "$manifest"
}

make_dir "$record_dir"
trap write_manifest EXIT
# (put runs in this shell, not in a pipeline's subshell, so that it can add to `entries`)
put - "$apps/$app_id.desktop" < <(entry)

for size in "${icon_sizes[@]}"; do
    put "$root/resources/icons/i2v-desktop-$size.png" "$icons/${size}x${size}/apps/$app_id.png"
done
put "$root/resources/icons/i2v-desktop.svg" "$icons/scalable/apps/$app_id.svg"
put "$here/$app_id.metainfo.xml" "$data_home/metainfo/$app_id.metainfo.xml"

# "Open with": the entry's MimeType goes into the folder's MIME cache, which file managers read.
# xdg-mime is not used on purpose: its only verb, "default", would take photos away from the
# user's viewer. Where desktop-file-utils is not installed, desktops that read the entries
# themselves (GLib, KDE) still list the app.
if command -v update-desktop-database >/dev/null 2>&1; then
    [ -e "$apps/mimeinfo.cache" ] || entries+=("cache"$'\t'"$apps/mimeinfo.cache")
    update-desktop-database -q "$apps" 2>/dev/null || true
fi
# A user icon theme cache, where someone made one, would hide the new icons until refreshed.
if [ -f "$icons/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t -f "$icons" 2>/dev/null || true
fi

echo "i2v desktop is in your applications menu; it runs $exec_cmd"
echo "Remove it with: $here/uninstall.sh"
