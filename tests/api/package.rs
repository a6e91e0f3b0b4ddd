//! The Debian package as scripts/package-deb.sh builds it (from the binary these tests run):
//! its fields, its files, its conffile, units that `systemd-analyze verify` accepts, a settings
//! file that documents every setting, and maintainer scripts that parse.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (scripts/deps.sh test installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Built {
    deb: PathBuf,
    root: PathBuf,
}

/// The package, built once for the tests of this file, and unpacked.
fn built() -> &'static Built {
    static BUILT: std::sync::OnceLock<Built> = std::sync::OnceLock::new();
    BUILT.get_or_init(build)
}

fn build() -> Built {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("package");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let printed = run(Command::new("scripts/package-deb.sh")
        .args(["--fast", "--binary", env!("CARGO_BIN_EXE_greenledger"), "--out"])
        .arg(&dir));
    let deb = PathBuf::from(printed.lines().last().unwrap().trim());
    assert_eq!(
        deb.file_name().unwrap().to_str().unwrap(),
        format!(
            "greenledger_{}_{}.deb",
            env!("CARGO_PKG_VERSION"),
            run(Command::new("dpkg").arg("--print-architecture")).trim()
        )
    );
    let root = dir.join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(root.join("DEBIAN")));
    Built { deb, root }
}

fn field(deb: &Path, name: &str) -> String {
    run(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name)).trim().to_owned()
}

/// The `/node_modules/...` files the page loads (stylesheets, scripts, the import map).
fn libraries_the_page_loads(index: &str) -> Vec<String> {
    index.split('"').filter(|s| s.starts_with("/node_modules/")).map(|s| s.trim_start_matches('/').to_owned()).collect()
}

#[test]
fn the_package_installs_the_service_its_page_and_units() {
    let (deb, root) = (&built().deb, &built().root);
    assert_eq!(field(deb, "Package"), "greenledger");
    assert_eq!(field(deb, "Version"), env!("CARGO_PKG_VERSION"));
    let depends = field(deb, "Depends");
    for needed in ["libc6 (>= 2.", "adduser", "postgresql-15-postgis-3", "postgresql-client-15"] {
        assert!(depends.contains(needed), "Depends: {depends}");
    }

    for file in [
        "usr/bin/greenledger",
        "usr/share/greenledger/backup-nightly",
        "lib/systemd/system/greenledger.service",
        "lib/systemd/system/greenledger-backup.service",
        "lib/systemd/system/greenledger-backup.timer",
        "etc/greenledger/greenledger.env",
        "usr/share/doc/greenledger/copyright",
        "usr/share/doc/greenledger/nginx-greenledger.conf",
        "usr/share/greenledger/web/index.html",
        "usr/share/greenledger/web/js/app.js",
    ] {
        assert!(root.join(file).is_file(), "{file} is in the package");
    }
    let web = root.join("usr/share/greenledger/web");
    let index = std::fs::read_to_string(web.join("index.html")).unwrap();
    let libraries = libraries_the_page_loads(&index);
    assert!(libraries.len() >= 5, "{libraries:?}");
    for lib in &libraries {
        assert!(web.join(lib).is_file(), "the page loads /{lib}: it must be in the package");
    }
    assert!(!web.join("node_modules/playwright-core").exists(), "test tools stay out of the package");
    assert!(!web.join("node_modules/esbuild").exists(), "nor the tool that combines the modules");

    // The app shell as the packaged service renders it: the combined modules, and every file the
    // phone keeps for offline use (the service worker, the manifest, the icons) in the package.
    let shell = greenledger::http::shell::Shell::load(&web).unwrap();
    assert!(shell.index.contains(&format!("src=\"/v/{}/dist/app.js\"", shell.version)), "the combined modules");
    assert!(shell.worker.contains("addEventListener('fetch'"), "the service worker is in the package");
    assert!(shell.files.iter().any(|f| f.ends_with("/manifest.webmanifest")));
    for url in &shell.files {
        let (_, path) = greenledger::http::shell::split_version(url).unwrap();
        assert!(web.join(&path[1..]).is_file(), "the phone is told to keep {path}: it must be in the package");
    }

    // The binary is the one built, migrations inside: it answers, and names them.
    let version = run(Command::new(root.join("usr/bin/greenledger")).arg("--version"));
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    assert_eq!(
        std::fs::read_to_string(root.join("DEBIAN/conffiles")).unwrap().trim(),
        "/etc/greenledger/greenledger.env"
    );
}

#[test]
fn the_units_verify_and_the_settings_file_documents_every_setting() {
    let root = &built().root;
    // systemd-analyze looks up what the units need (targets, the programs they run) under --root:
    // the host's standard units are copied in beside ours.
    run(Command::new("cp").arg("-an").arg("/lib/systemd/system/.").arg(root.join("lib/systemd/system")));
    for unit in ["greenledger.service", "greenledger-backup.service", "greenledger-backup.timer"] {
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(format!("--root={}", root.display()))
            .arg(root.join("lib/systemd/system").join(unit))
            .output()
            .expect("systemd-analyze (scripts/deps.sh test installs systemd)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.trim().is_empty(), "{unit}: {stderr}");
    }
    let service = std::fs::read_to_string(root.join("lib/systemd/system/greenledger.service")).unwrap();
    for line in [
        "User=greenledger",
        "EnvironmentFile=/etc/greenledger/greenledger.env",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/greenledger",
        "PrivateTmp=yes",
    ] {
        assert!(service.lines().any(|l| l == line), "greenledger.service has {line}");
    }

    // Every setting the binary reads from the environment is in the settings file, with a comment.
    let env = std::fs::read_to_string(root.join("etc/greenledger/greenledger.env")).unwrap();
    let mut settings = Vec::new();
    let mut dirs = vec![PathBuf::from("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                settings.extend(text.split("env = \"").skip(1).map(|s| s.split('"').next().unwrap().to_owned()));
            }
        }
    }
    assert!(settings.len() >= 10, "{settings:?}");
    for setting in settings {
        let at = env.lines().position(|l| l.trim_start_matches('#').starts_with(&format!("{setting}=")));
        let at = at.unwrap_or_else(|| panic!("{setting} is documented in greenledger.env"));
        assert!(env.lines().nth(at - 1).unwrap().starts_with('#'), "{setting} has a comment above it");
    }

    for script in ["postinst", "prerm", "postrm"] {
        let path = root.join("DEBIAN").join(script);
        run(Command::new("sh").arg("-n").arg(&path));
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
        assert_eq!(mode & 0o755, 0o755, "{script} is executable");
    }
    run(Command::new("sh").arg("-n").arg(root.join("usr/share/greenledger/backup-nightly")));
}
