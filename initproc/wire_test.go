package initproc

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/config"
	"urun/plan"
)

// roundTrip sends c through WriteMsg and ReadMsg.
func roundTrip(t *testing.T, c *Config) *Config {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteMsg(&buf, c); err != nil {
		t.Fatal(err)
	}
	var got Config
	if err := ReadMsg(&buf, &got); err != nil {
		t.Fatalf("ReadMsg: %v", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("%d bytes left after the message", buf.Len())
	}
	return &got
}

// sameAsJSON fails unless got is what the placeholder decoded when the
// message was JSON: the two encode to the same JSON.
func sameAsJSON(t *testing.T, name string, got, want *Config) {
	t.Helper()
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("%s: decoded\n%s\nwant\n%s", name, g, w)
	}
}

func testConfig(pl *plan.Plan) *Config {
	return &Config{Plan: pl, Rootfs: "/b/rootfs", BundleDir: "/b",
		GIDs:      []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}},
		Setgroups: true, Park: true, ListenFD: 5, FirstFD: 4, ActivationFDs: 1, Terminal: true,
		HookState: &specs.State{Version: specs.Version, ID: "web1", Bundle: "/b", Annotations: map[string]string{"a": "1", "b": "2"}}}
}

// Every config in testdata/bundles, planned as create plans it, reaches the
// placeholder as it did over JSON.
func TestWireBundles(t *testing.T) {
	paths, err := filepath.Glob("../testdata/bundles/*/config.json")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("../testdata/bundles/*/*/config.json")
	paths = append(paths, more...)
	n := 0
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := config.Parse(raw)
		if err != nil || s.Process == nil || len(s.Process.Args) == 0 {
			continue // a bundle of a refused config: create plans nothing
		}
		for _, o := range []plan.Options{{Rootfs: "/b/rootfs", Park: true, FirstFD: 3}, {Rootfs: "/b/rootfs", Terminal: true, SetupCaps: true, FirstFD: 5}} {
			c := testConfig(plan.Build(s, o))
			sameAsJSON(t, p, roundTrip(t, c), carried(t, c))
		}
		n++
	}
	if n < 20 {
		t.Fatalf("only %d of %d bundles planned", n, len(paths))
	}
}

// notCarried are the fields of the plan that wire.go leaves out, by their
// path from Config: nothing in the placeholder reads them.
var notCarried = map[string]bool{
	"Plan.Spec.Process.CommandLine":     true,
	"Plan.Spec.Process.User.Username":   true,
	"Plan.Spec.Process.ApparmorProfile": true,
	"Plan.Spec.Process.SelinuxLabel":    true,
	"Plan.Spec.Process.Scheduler":       true,
	"Plan.Spec.Process.IOPriority":      true,
	"Plan.Spec.Process.ExecCPUAffinity": true,
	"Plan.Spec.Mounts.UIDMappings":      true,
	"Plan.Spec.Mounts.GIDMappings":      true,
}

// fill sets every settable field under v to a value that is not zero,
// each a different one, so a field left out or swapped shows.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + strings.Repeat("x", *n%7) + string(rune('a'+*n%26)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(-*n * 1000003))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n * 7919))
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), n)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		fill(s.Index(0), n)
		fill(s.Index(1), n)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, n)
			fill(e, n)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	}
}

// jsonCopy is a deep copy of c: the plan shares the spec's values.
func jsonCopy(t *testing.T, c *Config) *Config {
	t.Helper()
	cp := new(Config)
	raw, err := json.Marshal(c)
	if err == nil {
		err = json.Unmarshal(raw, cp)
	}
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// carried is c without the fields in notCarried.
func carried(t *testing.T, c *Config) *Config {
	cp := jsonCopy(t, c)
	dropNotCarried(reflect.ValueOf(cp).Elem(), "", map[string]bool{})
	return cp
}

// dropNotCarried zeroes the fields in notCarried under v (path: v's own).
func dropNotCarried(v reflect.Value, path string, seen map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			dropNotCarried(v.Elem(), path, seen)
		}
	case reflect.Slice:
		for i := range v.Len() {
			dropNotCarried(v.Index(i), path, seen)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			p := f.Name
			if path != "" {
				p = path + "." + f.Name
			}
			if notCarried[p] {
				seen[p] = seen[p] || !v.Field(i).IsZero()
				v.Field(i).SetZero()
				continue
			}
			dropNotCarried(v.Field(i), p, seen)
		}
	}
}

// Every field plan.Build keeps of a config whose every field is set
// arrives, but those in notCarried: a field added to the plan (or to the
// runtime-spec types it keeps) and not to wire.go fails here.
func TestWireEveryField(t *testing.T) {
	var s specs.Spec
	n := 0
	fill(reflect.ValueOf(&s).Elem(), &n)
	// Config's own fields too: one added to it and not to wire.go fails.
	c := new(Config)
	fill(reflect.ValueOf(c).Elem(), &n)
	c.Plan = plan.Build(&s, plan.Options{Rootfs: "/b/rootfs", Park: true, Terminal: true, SetupCaps: true, FirstFD: 3})
	got := roundTrip(t, c)
	want, seen := carried(t, c), map[string]bool{}
	dropNotCarried(reflect.ValueOf(jsonCopy(t, c)).Elem(), "", seen)
	for p := range notCarried {
		if !seen[p] {
			t.Errorf("notCarried lists %s, which is not a field the plan keeps", p)
		}
	}
	sameAsJSON(t, "every field", got, want)
	if len(got.Plan.Spec.Mounts) != 2 || len(got.Plan.Spec.Process.Env) != 2 {
		t.Fatalf("the filled config lost its lists: %+v", got.Plan.Spec)
	}
}

// A message cut short anywhere, or with bytes after its end, is refused
// with an error (the placeholder exits), never a panic.
func TestWireTruncated(t *testing.T) {
	var s specs.Spec
	n := 0
	fill(reflect.ValueOf(&s).Elem(), &n)
	var buf bytes.Buffer
	if err := WriteMsg(&buf, testConfig(plan.Build(&s, plan.Options{Rootfs: "/r"}))); err != nil {
		t.Fatal(err)
	}
	body := buf.Bytes()[4:]
	for i := range len(body) {
		d := decoder{b: body[:i]}
		new(Config).decode(&d)
		if d.err == nil {
			t.Fatalf("a message cut at %d of %d bytes decoded without error", i, len(body))
		}
	}
	var msg bytes.Buffer
	WriteMsg(&msg, &Reply{Error: "x"})
	b := append(msg.Bytes(), 0)
	b[3]++ // the length covers the extra byte
	if err := ReadMsg(bytes.NewReader(b), new(Reply)); err == nil || !strings.Contains(err.Error(), "past the message's end") {
		t.Errorf("a message with a byte past its end: %v", err)
	}
}

// JoinedReply, the join-user helper's, survives the trip.
func TestWireJoinedReply(t *testing.T) {
	var buf bytes.Buffer
	want := JoinedReply{Pid: 4242, Error: "setns: EPERM", Setns: 3}
	if err := WriteMsg(&buf, &want); err != nil {
		t.Fatal(err)
	}
	var got JoinedReply
	if err := ReadMsg(&buf, &got); err != nil || got != want {
		t.Errorf("got %+v (%v), want %+v", got, err, want)
	}
}
