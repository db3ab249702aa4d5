package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCheckVersion(t *testing.T) {
	unsupported := func(v string) string {
		return `ociVersion: "` + v + `" is not supported (urun supports 1.0.0 to 1.` + strconv.Itoa(specs.VersionMinor) + `.x)`
	}
	notVersion := func(v string) string {
		return `ociVersion: "` + v + `" is not a version (want MAJOR.MINOR.PATCH)`
	}
	tests := []struct{ v, err string }{
		{"1.0.0", ""},
		{"1.0.1", ""},
		{"1.0.2-dev", ""},
		{"1.1.0", ""},
		{"1.1.0-rc.1", ""},
		{"1.2.0", ""},
		{"1.2.1", ""},
		{"1.3.0", ""},
		{"1.3.7", ""},
		{"1.0.0+build.5", ""},
		{"", "ociVersion: missing"},
		{"0.9", notVersion("0.9")},
		{"1.0", notVersion("1.0")},
		{"1", notVersion("1")},
		{"1.0.0.0", notVersion("1.0.0.0")},
		{"v1.0.0", notVersion("v1.0.0")},
		{"1.0.x", notVersion("1.0.x")},
		{"1.-1.0", notVersion("1.-1.0")},
		{"1..0", notVersion("1..0")},
		{"-dev", notVersion("-dev")},
		{" 1.0.0", notVersion(" 1.0.0")},
		{"0.9.0", unsupported("0.9.0")},
		{"2.0.0", unsupported("2.0.0")},
		{"1.99.0", unsupported("1.99.0")},
	}
	for _, tt := range tests {
		err := CheckVersion(tt.v)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.err {
			t.Errorf("CheckVersion(%q) = %q, want %q", tt.v, got, tt.err)
		}
	}
	if err := CheckVersion(MaxVersion); err != nil {
		t.Errorf("MaxVersion %s: %v", MaxVersion, err)
	}
	if err := CheckVersion(MinVersion); err != nil {
		t.Errorf("MinVersion %s: %v", MinVersion, err)
	}
}

func TestPosition(t *testing.T) {
	raw := []byte("ab\ncd\n\nef")
	tests := []struct {
		off       int64
		line, col int
	}{
		{0, 1, 1}, {1, 1, 1}, {2, 1, 2}, {3, 1, 3}, // offset 3: the '\n' ending line 1
		{4, 2, 1}, {5, 2, 2}, {7, 3, 1}, {8, 4, 1}, {9, 4, 2},
		{100, 4, 3}, // past the end: stops at the end
	}
	for _, tt := range tests {
		if l, c := position(raw, tt.off); l != tt.line || c != tt.col {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tt.off, l, c, tt.line, tt.col)
		}
	}
}

const goodConfig = `{"ociVersion":"1.0.2-dev","process":{"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"}}`

func TestParse(t *testing.T) {
	s, err := Parse([]byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "1.0.2-dev" || s.Root.Path != "rootfs" || len(s.Process.Args) != 1 || s.Process.Args[0] != "sh" {
		t.Errorf("Parse = %+v", s)
	}

	long := `{"ociVersion":"1.0.0","annotations":{"a":"` + strings.Repeat("y", 10000) + `"},` + "\n" + `  "root": x}`
	tests := []struct{ in, err string }{
		// Syntax errors: the column is the offending byte's, 1-based.
		{`{"ociVersion": x}`, "invalid JSON at line 1 column 16: invalid character 'x' looking for beginning of value"},
		{"{\n  \"ociVersion\": \"1.0.0\",\n  \"root\" 2\n}", "invalid JSON at line 3 column 10: invalid character '2' after object key"},
		{`{"a":1,}`, "invalid JSON at line 1 column 8: invalid character '}' looking for beginning of object key string"},
		{"]", "invalid JSON at line 1 column 1: invalid character ']' looking for beginning of value"},
		{"\n\n\t\t@", "invalid JSON at line 3 column 3: invalid character '@' looking for beginning of value"},
		{long, "invalid JSON at line 2 column 11: invalid character 'x' looking for beginning of value"},
		// Data after the top-level value is refused, naming its offset.
		{goodConfig + "}", "invalid JSON at line 1 column 88 (offset 87): \"}\" after the top-level value"},
		{goodConfig + "\n" + strings.Repeat(" ", 1<<20) + "}\n", "invalid JSON at line 2 column 1048577 (offset 1048664): \"}\\n\" after the top-level value"},
		{goodConfig + " " + goodConfig, "invalid JSON at line 1 column 89 (offset 88): \"{\\\"ociVer\" after the top-level value"},
		{goodConfig + " \t\r\n", ""},
		// Truncated input is not a SyntaxError for a Decoder.
		{`{"ociVersion"`, "invalid JSON: unexpected EOF"},
		{"", "invalid JSON: EOF"},
		// Type errors name the field.
		{`{"ociVersion":"1.0.0","process":{"args":"sh"}}`, "process.args: expected []string, got JSON string"},
		{`{"ociVersion":1}`, "ociVersion: expected string, got JSON number"},
		// Required fields.
		{`{}`, "ociVersion: missing"},
		{`{"ociVersion":"2.0.0","process":{"args":["sh"]},"root":{"path":"r"}}`, `ociVersion: "2.0.0" is not supported (urun supports 1.0.0 to 1.` + strconv.Itoa(specs.VersionMinor) + `.x)`},
		{`{"ociVersion":"1.0.0","root":{"path":"r"}}`, "process: missing (urun needs a process to run)"},
		{`{"ociVersion":"1.0.0","process":{},"root":{"path":"r"}}`, "process.args: empty (nothing to run)"},
		{`{"ociVersion":"1.0.0","process":{"args":[""]},"root":{"path":"r"}}`, "process.args: empty (nothing to run)"},
		{`{"ociVersion":"1.0.0","process":{"args":["sh"]}}`, "root.path: missing"},
		{`{"ociVersion":"1.0.0","process":{"args":["sh"]},"root":{}}`, "root.path: missing"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.err {
			in := tt.in
			if len(in) > 60 {
				in = in[:60] + "..."
			}
			t.Errorf("Parse(%q) error\n got %q\nwant %q", in, got, tt.err)
		}
	}
}

func writeBundle(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoad(t *testing.T) {
	dir := writeBundle(t, goodConfig)
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if b.Dir != dir || b.Rootfs != filepath.Join(real, "rootfs") || string(b.Raw) != goodConfig || b.Spec.Root.Path != "rootfs" {
		t.Errorf("Load = %+v", b)
	}

	// A relative bundle path is made absolute.
	t.Chdir(filepath.Dir(dir))
	b, err = Load(filepath.Base(dir))
	if err != nil {
		t.Fatal(err)
	}
	if b.Dir != dir {
		t.Errorf("Load(relative).Dir = %q, want %q", b.Dir, dir)
	}

	// A symlinked rootfs is resolved once.
	target := t.TempDir()
	dir2 := writeBundle(t, strings.Replace(goodConfig, `"rootfs"`, `"link"`, 1))
	if err := os.Symlink(target, filepath.Join(dir2, "link")); err != nil {
		t.Fatal(err)
	}
	b, err = Load(dir2)
	if err != nil {
		t.Fatal(err)
	}
	if realTarget, _ := filepath.EvalSymlinks(target); b.Rootfs != realTarget {
		t.Errorf("Rootfs = %q, want %q", b.Rootfs, realTarget)
	}

	// An absolute root.path is used as is.
	dir3 := writeBundle(t, strings.Replace(goodConfig, `"rootfs"`, `"`+target+`"`, 1))
	if b, err = Load(dir3); err != nil || b.Rootfs != target {
		t.Errorf("Load(absolute root) = %v, %v", b, err)
	}
}

func TestLoadErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	noConfig := t.TempDir()
	noRoot := writeBundle(t, goodConfig)
	rootFile := writeBundle(t, goodConfig)
	if err := os.WriteFile(filepath.Join(rootFile, "rootfs"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	badJSON := writeBundle(t, "{\n,")
	tests := []struct{ dir, err string }{
		{missing, "bundle " + missing + ": no such file or directory"},
		{file, "bundle " + file + ": not a directory"},
		{noConfig, filepath.Join(noConfig, "config.json") + ": no such file or directory"},
		{noRoot, filepath.Join(noRoot, "config.json") + ": root.path: " + filepath.Join(noRoot, "rootfs") + ": no such file or directory"},
		{rootFile, filepath.Join(rootFile, "config.json") + ": root.path: " + filepath.Join(rootFile, "rootfs") + ": not a directory"},
		{badJSON, filepath.Join(badJSON, "config.json") + ": invalid JSON at line 2 column 1: invalid character ',' looking for beginning of object key string"},
	}
	for _, tt := range tests {
		_, err := Load(tt.dir)
		if err == nil || err.Error() != tt.err {
			t.Errorf("Load(%s) = %v\nwant %s", tt.dir, err, tt.err)
		}
	}
}
