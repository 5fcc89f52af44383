#!/usr/bin/env python3
"""Which dependencies `maturin build` of datam-py would compile with other
features than `cargo test --workspace` does (so the wheel build compiles them,
and everything above them, a second time). Prints one line per crate with the
features the workspace has and datam-py's build lacks; add them to
crates/feature-unify/Cargo.toml. Exit status 0 always (a difference costs
build time, not correctness); `--strict` exits 1 when something differs."""
import subprocess
import sys


def features(args):
    out = subprocess.run(
        ["cargo", "tree", "--prefix", "none", "-f", "{p}|{f}", *args],
        check=True, capture_output=True, text=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        if "|" not in line:
            continue
        pkg, feats = line.split("|", 1)
        pkg = pkg.split(" (")[0]
        feats = feats.replace(" (*)", "")
        found.setdefault(pkg, set()).update(f for f in feats.split(",") if f)
    return found


def main():
    py = features(["-p", "datam-py", "-e", "normal,build"])
    ws = features(["--workspace"])
    differ = 0
    for pkg in sorted(py):
        missing = sorted(ws.get(pkg, set()) - py[pkg])
        if missing:
            differ += 1
            print(f"wheel_features: {pkg}: the workspace also enables {', '.join(missing)}")
    if differ == 0:
        print(f"wheel_features: datam-py's {len(py)} dependencies have the workspace's features")
    sys.exit(1 if differ and "--strict" in sys.argv else 0)


if __name__ == "__main__":
    main()
