; i2v desktop's Windows installer, for Inno Setup 6.3 or newer.
; Every file it packs comes from stage\, which packaging\windows\stage.py fills (build.md):
;   stage\python\          a complete CPython for Windows (python-build-standalone install_only)
;   stage\wheelhouse\      the app's wheel and its dependencies, for an offline first start
;   stage\i2v_launcher.py  packaging\launcher\i2v_launcher.py
;   stage\i2v-desktop.ico  resources\icons\i2v-desktop.ico
;   stage\version.iss      #define AppVersion, from i2v_desktop.__version__
;
; Installed per user (no administrator prompt) into %LOCALAPPDATA%\Programs\i2v desktop. The
; launcher keeps the app's packages in a virtual environment beside it ({app}\venv), made on the
; first start (or during setup, with its progress shown) and repaired when broken; uninstalling
; removes it. The user's clips, settings, history and downloaded models are left in place.

#ifndef AppVersion
  #include "stage\version.iss"
#endif
#ifndef AppVersion
  #error AppVersion is not defined: run packaging\windows\stage.py first (build.md)
#endif
#define AppName "i2v desktop"
; The same reverse-DNS id as the Linux desktop entry and the macOS bundle.
#define AppUserModelID "io.github.i2v_desktop.I2VDesktop"

[Setup]
; Never change AppId: Windows knows an installed copy (for upgrade and uninstall) by it.
AppId={{150C7148-9848-4A60-8A5B-85174265B97B}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=The i2v desktop authors
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
ChangesAssociations=yes
SetupIconFile=stage\i2v-desktop.ico
UninstallDisplayIcon={app}\i2v-desktop.ico
UninstallDisplayName={#AppName}
OutputDir=Output
OutputBaseFilename=i2v-desktop-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "stage\python\*"; DestDir: "{app}\python"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "stage\wheelhouse\*.whl"; DestDir: "{app}\wheelhouse"; Flags: ignoreversion
Source: "stage\i2v_launcher.py"; DestDir: "{app}"; Flags: ignoreversion
Source: "stage\i2v-desktop.ico"; DestDir: "{app}"; Flags: ignoreversion

; The launcher (pythonw: no console window) makes sure the environment is there and healthy,
; then runs the window from it: i2v_launcher.py --venv DIR --wheelhouse DIR -- COMMAND ARGS.
[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\python\pythonw.exe"; Parameters: """{app}\i2v_launcher.py"" --venv ""{app}\venv"" --wheelhouse ""{app}\wheelhouse"" -- i2v-desktop"; WorkingDir: "{app}"; IconFilename: "{app}\i2v-desktop.ico"; AppUserModelID: "{#AppUserModelID}"; Comment: "Turn a still photo into a short video clip"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\python\pythonw.exe"; Parameters: """{app}\i2v_launcher.py"" --venv ""{app}\venv"" --wheelhouse ""{app}\wheelhouse"" -- i2v-desktop"; WorkingDir: "{app}"; IconFilename: "{app}\i2v-desktop.ico"; AppUserModelID: "{#AppUserModelID}"; Tasks: desktopicon

; "Open with" for the photos the app opens (core\image.py) and its own MP4 clips, through
; OpenWithProgids: listed, never made the default, so the user's viewer keeps its files.
[Registry]
Root: HKA; Subkey: "Software\Classes\I2VDesktop.Photo.1"; ValueType: string; ValueName: ""; ValueData: "Photo"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\I2VDesktop.Photo.1"; ValueType: string; ValueName: "FriendlyTypeName"; ValueData: "Photo"
Root: HKA; Subkey: "Software\Classes\I2VDesktop.Photo.1"; ValueType: string; ValueName: "AppUserModelID"; ValueData: "{#AppUserModelID}"
Root: HKA; Subkey: "Software\Classes\I2VDesktop.Photo.1\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\i2v-desktop.ico"
Root: HKA; Subkey: "Software\Classes\I2VDesktop.Photo.1\shell\open"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "{#AppName}"
Root: HKA; Subkey: "Software\Classes\I2VDesktop.Photo.1\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\python\pythonw.exe"" ""{app}\i2v_launcher.py"" --venv ""{app}\venv"" --wheelhouse ""{app}\wheelhouse"" -- i2v-desktop ""%1"""
Root: HKA; Subkey: "Software\Classes\.jpg\OpenWithProgids"; ValueType: string; ValueName: "I2VDesktop.Photo.1"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.jpeg\OpenWithProgids"; ValueType: string; ValueName: "I2VDesktop.Photo.1"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.jfif\OpenWithProgids"; ValueType: string; ValueName: "I2VDesktop.Photo.1"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.png\OpenWithProgids"; ValueType: string; ValueName: "I2VDesktop.Photo.1"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.webp\OpenWithProgids"; ValueType: string; ValueName: "I2VDesktop.Photo.1"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.tif\OpenWithProgids"; ValueType: string; ValueName: "I2VDesktop.Photo.1"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.tiff\OpenWithProgids"; ValueType: string; ValueName: "I2VDesktop.Photo.1"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.bmp\OpenWithProgids"; ValueType: string; ValueName: "I2VDesktop.Photo.1"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.gif\OpenWithProgids"; ValueType: string; ValueName: "I2VDesktop.Photo.1"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.mp4\OpenWithProgids"; ValueType: string; ValueName: "I2VDesktop.Photo.1"; ValueData: ""; Flags: uninsdeletevalue

[Run]
; The environment is made now, in a console that shows the launcher's progress (torch is the
; big download); without a network it installs from the wheelhouse. Should it fail, the first
; start tries again.
Filename: "{app}\python\python.exe"; Parameters: """{app}\i2v_launcher.py"" --venv ""{app}\venv"" --wheelhouse ""{app}\wheelhouse"" -- i2v --version"; WorkingDir: "{app}"; StatusMsg: "Setting up i2v desktop's Python environment (a few minutes the first time)..."
Filename: "{app}\python\pythonw.exe"; Parameters: """{app}\i2v_launcher.py"" --venv ""{app}\venv"" --wheelhouse ""{app}\wheelhouse"" -- i2v-desktop"; WorkingDir: "{app}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: postinstall nowait skipifsilent

[UninstallDelete]
; Made after setup, so not in its log: the environment, and the bytecode Python writes beside
; its own library.
Type: filesandordirs; Name: "{app}\venv"
Type: filesandordirs; Name: "{app}\python"
