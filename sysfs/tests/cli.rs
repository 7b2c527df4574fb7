//! The `btfkit` binary: output, exit codes, messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn btfkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_btfkit")).args(args).output().expect("btfkit runs")
}

#[test]
fn dump_prints_bpftools_text_for_standalone_and_split() {
    let f = fixtures();
    let out = btfkit(&["dump", f.join("standalone.btf").to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(out.stdout, std::fs::read(f.join("standalone.bpftool.txt")).unwrap());
    let out =
        btfkit(&["dump", f.join("split.btf").to_str().unwrap(), "--base", f.join("split_base.btf").to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(out.stdout, std::fs::read(f.join("split.bpftool.txt")).unwrap());
}

#[test]
fn validate_exit_codes_and_one_line_reason() {
    let f = fixtures();
    let ok = btfkit(&["validate", "--kernel", "6.18", f.join("bpfeb.btf").to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));

    // A copy with a non-zero header `flags` byte: one line, exit 1.
    let mut bad = std::fs::read(f.join("standalone.btf")).unwrap();
    bad[3] = 1;
    let dir = std::env::temp_dir().join(format!("btfkit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("bad.btf");
    std::fs::write(&p, &bad).unwrap();
    let out = btfkit(&["validate", "--profile", "user", "--kernel", "6.18", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("bad.btf") && text.contains("Unsupported flags") && text.contains("at byte 0x3"), "{text}");

    // A rule with a type: a split module checked without its base fails
    // parsing, naming the file, the type and the offset.
    let out = btfkit(&["validate", "--profile", "strict", "--kernel", "6.18", f.join("split.btf").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("split.btf") && text.contains("at byte"), "{text}");

    let out = btfkit(&["validate", "/nonexistent/btf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/btf"));
    let out = btfkit(&["validate", "--kernel", "six", f.join("bpfeb.btf").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));

    // A release, not only a series: `.` in a typedef's name came to 6.1 with
    // its stable release 6.1.36.
    let dotted = dir.join("dotted.btf");
    std::fs::write(&dotted, dotted_typedef()).unwrap();
    let on = |kernel: &str| {
        let out = btfkit(&["validate", "--profile", "user", "--kernel", kernel, dotted.to_str().unwrap()]);
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, text) = on("6.1.35");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("[2]") && text.contains("name"), "{text}");
    assert_eq!(on("6.1.36").0, Some(0));
    assert_eq!(on("6.1").0, Some(0));
    assert_eq!(on("6.0").0, Some(1));
    let out = btfkit(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn validate_names_the_type_and_offset_of_a_broken_type() {
    // [1] int, [2] a typedef whose name starts with a digit.
    let mut b: Vec<u8> = Vec::new();
    let strs = b"\0int\x001bad\0";
    let types: Vec<u32> = vec![1, 0x0100_0000, 4, 0x0100_0020, 5, 0x0800_0000, 1];
    b.extend_from_slice(&0xeb9fu16.to_le_bytes());
    b.extend_from_slice(&[1, 0]);
    for w in [24u32, 0, 28, 28, strs.len() as u32] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    for w in types {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b.extend_from_slice(strs);
    let p = std::env::temp_dir().join(format!("btfkit-cli-name-{}.btf", std::process::id()));
    std::fs::write(&p, &b).unwrap();
    let out = btfkit(&["validate", "--profile", "user", "--kernel", "6.18", p.to_str().unwrap()]);
    let _ = std::fs::remove_file(&p);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[2] Invalid name at byte 0x28"), "{text}");
}

#[test]
fn dump_json_is_bpftools_json() {
    let f = fixtures();
    let file = f.join("standalone.btf");
    let out = btfkit(&["dump", "-j", file.to_str().unwrap()]);
    assert!(out.status.success());
    // bpftool's own output when it is installed; the library's otherwise
    // (tests/src/json.rs holds the library to bpftool on the whole corpus).
    match Command::new("bpftool").args(["-j", "btf", "dump", "file"]).arg(&file).output() {
        Ok(b) if b.status.success() => assert_eq!(out.stdout, b.stdout),
        _ => assert!(out.stdout.starts_with(br#"{"types":[{"id":1,"#)),
    }
}

/// Little-endian BTF of `int` and `typedef int a.b`, written out by hand.
fn dotted_typedef() -> Vec<u8> {
    let strings = b"\0int\0a.b\0";
    let types: [u32; 7] = [1, 1 << 24, 4, 32, 5, 8 << 24, 1];
    let mut b = Vec::new();
    for w in [0x0001_eb9f_u32, 24, 0, 28, 28, strings.len() as u32] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    // (The first word is magic 0xeb9f, version 1, flags 0.)
    for w in types {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b.extend_from_slice(strings);
    b
}
