#!/usr/bin/python3
# make-handout.py: builds the student kit (`make handout`).
#
# The student kit is this repository without what only instructors see:
# solutions/ (reference solutions, hidden tests, mutants), the instructor
# guide, the grader's own proof tests, and the rubric lines of hidden
# tests.  It goes to build/handout/ and build/handout.tar.gz.
#
# Files are taken from git (tracked, plus new files git does not ignore)
# when the kit is a git checkout, so build outputs and editor droppings
# never end up in the handout; otherwise the tree is walked.

import argparse
import os
import shutil
import subprocess
import sys
import tarfile

# Paths (relative to the kit) that never go to students.
EXCLUDED_DIRS = ("solutions/", "build/", ".git/", "labs/tests/")
EXCLUDED_FILES = ("labs/INSTRUCTORS.md",)
EXCLUDED_PARTS = ("tests-hidden", "__pycache__")


def kit_files(kit):
    if os.path.isdir(os.path.join(kit, ".git")):
        out = subprocess.run(["git", "-C", kit, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], check=True, stdout=subprocess.PIPE).stdout
        files = [f for f in out.decode().split("\0") if f]
    else:
        files = []
        for dirpath, dirnames, filenames in os.walk(kit):
            dirnames[:] = [d for d in dirnames if d not in (".git", "build")]
            files += [os.path.relpath(os.path.join(dirpath, f), kit) for f in filenames]
    return sorted(f for f in files if os.path.isfile(os.path.join(kit, f)))


def wanted(path):
    if path.startswith(EXCLUDED_DIRS) or path in EXCLUDED_FILES:
        return False
    if any(part in EXCLUDED_PARTS for part in path.split("/")):
        return False
    return not path.endswith((".o", ".pyc", ".wip"))


def student_rubric(text):
    """A rubric without the hidden tests (their names would give hints)."""
    keep = []
    for line in text.splitlines(keepends=True):
        words = line.split()
        if words[:1] == ["test"] and len(words) > 1 and words[1].startswith("solutions/"):
            continue
        if line.startswith("# Hidden tests"):
            continue
        keep.append(line)
    return "".join(keep)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kit", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--out", help="default: KIT/build/handout")
    args = parser.parse_args()
    kit = os.path.abspath(args.kit)
    out = os.path.abspath(args.out or os.path.join(kit, "build", "handout"))
    if os.path.exists(out):
        shutil.rmtree(out)

    count = 0
    for path in kit_files(kit):
        if not wanted(path):
            continue
        target = os.path.join(out, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if path.startswith("labs/") and path.endswith(".rubric"):
            with open(os.path.join(kit, path), encoding="utf-8") as f:
                text = student_rubric(f.read())
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
            shutil.copymode(os.path.join(kit, path), target)
        else:
            shutil.copy2(os.path.join(kit, path), target)
        count += 1

    tarball = out.rstrip("/") + ".tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(out, arcname=os.path.basename(out))
    print(f"handout: {count} files in {out}/ and {tarball}")
    print("handout: without solutions/, hidden tests, instructor notes or the grader's proof tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
