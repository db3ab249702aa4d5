package ulog

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// captureStderr points os.Stderr at a file for the test (Setup binds the
// current os.Stderr) and restores it and L afterwards. The returned
// function reads what was written so far.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	old, oldL := os.Stderr, L
	os.Stderr = f
	t.Cleanup(func() {
		os.Stderr, L = old, oldL
		f.Close()
	})
	return func() string {
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSetupJSONFile(t *testing.T) {
	stderr := captureStderr(t)
	logPath := filepath.Join(t.TempDir(), "log.json")
	c, err := Setup(logPath, "json", false)
	if err != nil {
		t.Fatal(err)
	}
	L.Debug().Msg("hidden")
	L.Info().Str("id", "web1").Msg("created")
	L.Error().Msg("urun create web1: mount /proc: permission denied")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	lines := strings.Split(strings.TrimSuffix(readFile(t, logPath), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("log file has %d lines, want 2 (info, error): %q", len(lines), lines)
	}
	wantLevels := []string{"info", "error"}
	wantMsgs := []string{"created", "urun create web1: mount /proc: permission denied"}
	for i, line := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %d not JSON: %q", i, line)
		}
		if ev["level"] != wantLevels[i] || ev["msg"] != wantMsgs[i] {
			t.Errorf("line %d: %v", i, ev)
		}
		ts, ok := ev["time"].(string)
		if !ok {
			t.Fatalf("line %d: no string time: %v", i, ev)
		}
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("line %d: time %q: %v", i, ts, err)
		}
		if _, ok := ev["message"]; ok {
			t.Errorf("line %d: zerolog's default message key used: %v", i, ev)
		}
	}
	var ev map[string]any
	json.Unmarshal([]byte(lines[0]), &ev)
	keys := []string{}
	for k := range ev {
		keys = append(keys, k)
	}
	if len(keys) != 4 || ev["id"] != "web1" {
		t.Errorf("info line keys %v, want id, level, msg, time", keys)
	}

	// Without --debug only errors reach stderr, as text: the message alone.
	if got, want := stderr(), "urun create web1: mount /proc: permission denied\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

func TestSetupDebugCopiesAllToStderr(t *testing.T) {
	stderr := captureStderr(t)
	logPath := filepath.Join(t.TempDir(), "log.json")
	c, err := Setup(logPath, "json", true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	L.Debug().Msg("d")
	L.Info().Msg("i")
	L.Warn().Msg("w")
	L.Error().Msg("e")
	if got, want := stderr(), "urun: debug: d\nurun: info: i\nurun: warn: w\ne\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if n := strings.Count(readFile(t, logPath), "\n"); n != 4 {
		t.Errorf("log file has %d lines, want 4", n)
	}
}

func TestSetupTextFileAppends(t *testing.T) {
	stderr := captureStderr(t)
	logPath := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(logPath, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Setup(logPath, "text", false)
	if err != nil {
		t.Fatal(err)
	}
	L.Info().Str("path", "/a b").Int("n", 3).Msg("x")
	L.Error().Msg("bad")
	c.Close()
	if got, want := readFile(t, logPath), "old\nurun: info: x n=3 path=\"/a b\"\nbad\n"; got != want {
		t.Errorf("log file %q, want %q", got, want)
	}
	if got, want := stderr(), "bad\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

func TestSetupNoFile(t *testing.T) {
	stderr := captureStderr(t)
	c, err := Setup("", "json", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("nop closer: %v", err)
	}
	L.Debug().Msg("hidden")
	L.Info().Msg("i")
	L.Error().Err(errors.New("cause")).Msg("e")
	// stderr is always text, whatever the file format.
	if got, want := stderr(), "urun: info: i\ne error=cause\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

func TestSetupBadFile(t *testing.T) {
	captureStderr(t)
	before := L
	c, err := Setup(filepath.Join(t.TempDir(), "no", "such", "log"), "json", false)
	if err == nil || c != nil {
		t.Fatalf("Setup(bad path) = %v, %v", c, err)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want not exist", err)
	}
	if !reflect.DeepEqual(L, before) {
		t.Error("failed Setup replaced the logger")
	}
}

func TestFormatText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"level":"error","time":"2024-01-01T00:00:00Z","msg":"urun create x: boom"}`, "urun create x: boom\n"},
		{`{"level":"fatal","msg":"f"}`, "f\n"},
		{`{"level":"panic","msg":"p"}`, "p\n"},
		{`{"level":"warn","msg":"careful"}`, "urun: warn: careful\n"},
		{`{"level":"debug","msg":"m","time":"t"}`, "urun: debug: m\n"},
		{`{"msg":"no level"}`, "urun: : no level\n"},
		{`{"level":"info","msg":"m","z":1,"a":"plain","b":true}`, "urun: info: m a=plain b=true z=1\n"},
		{`{"level":"info","msg":"m","s":"has space","q":"say \"hi\"","e":"k=v","t":"a\tb"}`,
			`urun: info: m e="k=v" q="say \"hi\"" s="has space" t="a\tb"` + "\n"},
		{`{"level":"info","msg":"m","o":{"x":[1,2]},"n":null,"f":1.5}`, `urun: info: m f=1.5 n=null o={"x":[1,2]}` + "\n"},
		{`{"level":"info","msg":"m","empty":""}`, "urun: info: m empty=\n"},
		{"not json\n", "not json\n"},
	}
	for _, tt := range tests {
		if got := string(formatText([]byte(tt.in))); got != tt.want {
			t.Errorf("formatText(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLevelFilter(t *testing.T) {
	var buf strings.Builder
	f := levelFilter{w: &buf, min: zerolog.ErrorLevel}
	for _, l := range []zerolog.Level{zerolog.DebugLevel, zerolog.InfoLevel, zerolog.WarnLevel} {
		n, err := f.WriteLevel(l, []byte("x"))
		if n != 1 || err != nil {
			t.Errorf("dropped write returned %d, %v; want 1, nil", n, err)
		}
	}
	f.WriteLevel(zerolog.ErrorLevel, []byte("E"))
	f.WriteLevel(zerolog.FatalLevel, []byte("F"))
	f.Write([]byte("W")) // level-less writes pass
	if buf.String() != "EFW" {
		t.Errorf("passed %q, want EFW", buf.String())
	}
	buf.Reset()
	all := levelFilter{w: &buf, min: zerolog.ErrorLevel, all: true}
	all.WriteLevel(zerolog.DebugLevel, []byte("d"))
	if buf.String() != "d" {
		t.Errorf("all: passed %q, want d", buf.String())
	}
}

func TestTextWriterReportsInputLength(t *testing.T) {
	var buf strings.Builder
	in := []byte(`{"level":"info","msg":"m","time":"2024-01-01T00:00:00Z"}` + "\n")
	n, err := textWriter{&buf}.Write(in)
	if err != nil || n != len(in) {
		t.Errorf("Write = %d, %v; want %d, nil", n, err, len(in))
	}
	if buf.String() != "urun: info: m\n" {
		t.Errorf("wrote %q", buf.String())
	}
}

func TestTrace(t *testing.T) {
	stderr := captureStderr(t)
	old := traceOn
	t.Cleanup(func() { traceOn = old })

	traceOn = false
	Trace("off")
	if TraceOn() || stderr() != "" {
		t.Fatalf("Trace wrote %q while off", stderr())
	}
	traceOn = true
	Trace("create.start")
	re := regexp.MustCompile(`^urun-trace [0-9]+\.[0-9]{3} ` + strconv.Itoa(os.Getpid()) + ` create\.start\n$`)
	if got := stderr(); !re.MatchString(got) {
		t.Errorf("Trace wrote %q", got)
	}
}
